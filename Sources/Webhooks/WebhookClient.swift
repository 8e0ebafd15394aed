// Webhook client: see README.
