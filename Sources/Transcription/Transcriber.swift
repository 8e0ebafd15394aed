// Offline transcription: see README.
