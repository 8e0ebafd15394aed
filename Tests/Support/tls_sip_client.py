#!/usr/bin/env python3
"""A SIP-over-TLS caller for the end-to-end tests (sipp in Debian is built without TLS).

usage: tls_sip_client.py PORT DIAL CALL_ID
Sends OPTIONS, then INVITE (SDP, PCMU) and, once answered, ACK and BYE over one TLS
connection to 127.0.0.1:PORT; prints "METHOD STATUS" for each final response."""
import socket, ssl, sys, time

port, dial, call_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
local = sock.getsockname()[1]
buf = b""

def send(method, cseq, to_tag="", body=b"", ctype=None):
    head = (f"{method} sip:{dial}@127.0.0.1:{port};transport=tls SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 127.0.0.1:{local};rport;branch=z9hG4bK-{method}-{cseq}-{time.time_ns()}\r\n"
            f"From: <sips:+15551230000@127.0.0.1>;tag=tlscaller\r\n"
            f"To: <sips:{dial}@127.0.0.1>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sips:caller@127.0.0.1:{local};transport=tls>\r\nMax-Forwards: 70\r\n")
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)

def read_response():
    global buf
    while True:
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(rest) >= length:
                buf = rest[length:]
                return head.decode()
        data = sock.recv(65536)
        if not data:
            raise SystemExit("connection closed")
        buf += data

def final(method):
    while True:
        head = read_response()
        status = int(head.split(" ")[1])
        if status >= 200:
            print(method, status, flush=True)
            return head

send("OPTIONS", 1)
final("OPTIONS")
sdp = (b"v=0\r\no=tls 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
send("INVITE", 2, body=sdp, ctype="application/sdp")
head = final("INVITE")
if not head.split(" ")[1].startswith("2"):
    sys.exit(0)  # refused: nothing more to do (the stack ACKs a non-2xx itself)
to = [l for l in head.split("\r\n") if l.lower().startswith("to:")][0]
tag = to[to.find(";tag="):]
send("ACK", 2, to_tag=tag)
time.sleep(1.0)
send("BYE", 3, to_tag=tag)
final("BYE")
