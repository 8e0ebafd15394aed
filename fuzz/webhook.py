"""The fuzzer's loopback webhook: serves the TeXML flow of the webhook number.

In "plain" mode every document request gets a small valid flow (used for warm-up and the
checks between phases); in "record" mode a flow that records at once and transcribes (the
warm-up loads the speech model with it); in "fuzz" mode request number i gets `texml_attacks.document`
built from the seed and i, so a seed replays the same documents (in the order the daemon
asks for them). Also serves the Play WAVs, an external DTD and callbacks.
"""
import collections
import io
import math
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import texml_attacks
from common import item_rng

PLAIN = b'<?xml version="1.0"?><Response><Say voice="alice">Hello.</Say><Pause length="1"/></Response>'
RECORD = b'<Response><Record maxLength="2" timeout="5" playBeep="true" transcribe="true"/><Hangup/></Response>'


def wav(index):
    """A short WAV for /play/<index>.wav: several formats, one of them broken."""
    rate, n = [(8000, 4000), (16000, 8000), (44100, 4410), (8000, 4000), (8000, 800), (8000, 400)][index % 6]
    samples = [int(8000 * math.sin(i * 2 * math.pi * 440 / rate)) for i in range(n)]
    if index == 3:  # 8-bit u-law
        data = bytes(0x7F ^ (abs(s) >> 8 & 0x7F) for s in samples)
        fmt = struct.pack("<HHIIHH", 7, 1, rate, rate, 1, 8)
    else:
        data = struct.pack(f"<{n}h", *samples)
        fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    if index == 5:  # a lying header: data chunk longer than the file, odd fmt size
        fmt = struct.pack("<HHIIHH", 1, 0, 0, 0, 0, 0)
        return b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + \
            b"data" + struct.pack("<I", 0x7FFFFFFF) + data[:100]
    out = io.BytesIO()
    out.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
    out.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
    return out.getvalue()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path.startswith("/play/"):
            return self._plain(200, wav(int("".join(c for c in path if c.isdigit()) or 0)), "audio/wav")
        if path.startswith("/callback"):
            return self._plain(200, b"")
        if path.startswith("/code/"):
            return self._plain(int(path[6:9] or 404), b"")
        if path == "/evil.dtd":
            return self._plain(200, b'<!ENTITY xxe "pwned">', "application/xml-dtd")
        with srv.lock:
            index = srv.requests
            srv.requests += 1
        if srv.mode != "fuzz":
            return self._plain(200, RECORD if srv.mode == "record" else PLAIN, "application/xml")
        doc = texml_attacks.document(item_rng(srv.seed, "texml", index), srv.base, srv.dead_port)
        with srv.lock:
            srv.kinds[doc.kind] += 1
        self._serve(doc)

    def _plain(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _serve(self, doc):
        if doc.delay:
            time.sleep(min(doc.delay, 5.0))
        try:
            self.send_response(doc.status)
            if doc.kind == "redirect":
                self.send_header("Location", doc.ctype)
            else:
                self.send_header("Content-Type", doc.ctype)
            self.send_header("Connection", "close")
            if doc.stream:
                return self._stream(doc)
            self.send_header("Content-Length", str(len(doc.body)))
            self.end_headers()
            self.wfile.write(doc.body)
        except (BrokenPipeError, ConnectionResetError):
            with self.server.lock:
                self.server.aborted += 1
        self.close_connection = True

    def _stream(self, doc):
        """Sends doc.stream bytes in chunks; stops when the client goes away."""
        if doc.length_header:
            self.send_header("Content-Length", str(doc.stream))
        self.end_headers()
        sent = 0
        try:
            while sent < doc.stream:
                piece = doc.chunk[: doc.stream - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError, OSError):
            with self.server.lock:
                self.server.aborted += 1
                self.server.stream_bytes.append((doc.length_header, sent))
            self.close_connection = True
            return
        with self.server.lock:
            self.server.stream_bytes.append((doc.length_header, sent))
        self.close_connection = True


class WebhookServer:
    """A ThreadingHTTPServer on 127.0.0.1 in a background thread."""

    def __init__(self, seed, dead_port):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        s = self.httpd
        s.seed, s.dead_port, s.base = seed, dead_port, f"http://127.0.0.1:{self.port}"
        s.lock, s.requests, s.mode, s.aborted = threading.Lock(), 0, "plain", 0
        s.kinds, s.stream_bytes = collections.Counter(), []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/doc"

    def set_mode(self, mode):
        with self.httpd.lock:
            self.httpd.mode = mode
            if mode == "fuzz":
                self.httpd.requests = 0

    def stats(self):
        s = self.httpd
        with s.lock:
            return {"requests": s.requests, "kinds": collections.Counter(s.kinds), "aborted": s.aborted,
                    "streams": list(s.stream_bytes)}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
