#!/usr/bin/env python3
"""Turns an 8 kHz 16-bit mono WAV into a pcap of G.711 u-law RTP (20 ms packets), looped
to --seconds, for sipp's `play_pcap_audio` (the sipp UAS floor plays the same prompt as
tollfreed and pjsip).

    wav2pcap.py PROMPT.wav OUT.pcap --seconds 40
"""
import argparse, struct, wave

def ulaw(sample):
    sign = 0x80 if sample < 0 else 0
    v = min(-sample if sample < 0 else sample, 32635) + 0x84
    exp = 7
    mask = 0x4000
    while exp > 0 and not v & mask:
        exp -= 1
        mask >>= 1
    return ~(sign | exp << 4 | (v >> (exp + 3)) & 0x0F) & 0xFF

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wav")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=40)
    a = ap.parse_args()
    with wave.open(a.wav) as w:
        if w.getframerate() != 8000 or w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit("wav2pcap: need 8 kHz 16-bit mono")
        pcm = struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes()))
    table = bytes(ulaw(s) for s in range(-32768, 32768))
    audio = bytes(table[s + 32768] for s in pcm)
    packets = int(a.seconds * 50)
    src, dst = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
        for i in range(packets):
            off = (i * 160) % max(160, len(audio) - len(audio) % 160)
            payload = audio[off:off + 160].ljust(160, b"\xff")
            rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0, i & 0xFFFF, i * 160, 0x5EED0001) + payload
            udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            frame = b"\0" * 12 + b"\x08\x00" + ip + udp
            t = i * 0.02
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)

if __name__ == "__main__":
    main()
