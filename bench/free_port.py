"""Prints a loopback port free for UDP and TCP both (the daemon's SIP listens on both):
a port checked for UDP alone can be held by a TCP listener and fail the daemon's start."""
import socket

while True:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        tcp.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
