#!/usr/bin/env python3
"""A small webhook server for tollfreed's tests (Python 3 standard library only).

    python3 webhook_server.py --port 0 --docs DIR --log FILE [--host 127.0.0.1] [--auth-token T]
                              [--ed25519-public-key PEM]

Listens on 127.0.0.1 (loopback only), prints the port it got on stdout (one line), and
serves until SIGTERM/SIGINT. Every request is appended to FILE as one JSON object per line:

    {"method", "path", "query" (raw), "query_params" [[name, value]...],
     "form" [[name, value]...] (urlencoded bodies), "body" (raw text), "headers" {...},
     "time" (Unix seconds), "signature" ("valid", "invalid" or "absent")}

With --auth-token, X-Twilio-Signature is checked as Twilio documents it (and as its
helper libraries do): the full URL requested (query included), then for a form POST
each field's name and value with no separator, sorted by name; HMAC-SHA1 keyed with
the auth token; base64. Without --auth-token every request is "absent" or "invalid". With --ed25519-public-key,
Telnyx's headers are checked the way Telnyx documents them ("telnyx_signature": the
Ed25519 signature in telnyx-signature-ed25519, base64, over "<telnyx-timestamp>|<raw
body>", the timestamp within 5 minutes), the signature verified by the openssl command.

The line is written (and flushed) before the answer is sent. Answers by path:

    /fail...        500
    /hang...        sleeps 30 s, then 200 (for client timeouts)
    /code/NNN...    status NNN, empty body
    /flaky/N/...    503 for the first N requests to that exact path, then 200 (empty body)
    /redirect/REST  302 to /REST (query kept)
    /callback...    200, empty body (status and recording callbacks)
    /big/N...       200, an XML document of N bytes sent in 64 KiB writes, with Content-Length
    /bigstream/N... the same without Content-Length (the body ends when the connection closes);
                    for both, a line with method SENT and the bytes sent as body follows when
                    the answer ends or the client goes away
    anything else   DIR/<path> for GET and POST (200, XML content type for .xml), else 404;
                    a request carrying form or query field NAME=VALUE gets
                    DIR/<path>@NAME=VALUE, or DIR/<path>@NAME for any value, when that
                    file exists (one URL that branches on Digits, as in Twilio's
                    quickstarts)
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    server_version = "webhook_server/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet; the JSON log is the record
        pass

    def _record(self, body: bytes):
        parsed = urllib.parse.urlsplit(self.path)
        text = body.decode("utf-8", errors="replace")
        ctype = self.headers.get("Content-Type", "")
        form = []
        if ctype.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qsl(text, keep_blank_values=True)
        entry = {
            "signature": self._signature(form),
            "telnyx_signature": self._telnyx_signature(body),
            "method": self.command,
            "path": urllib.parse.unquote(parsed.path),
            "query": parsed.query,
            "query_params": urllib.parse.parse_qsl(parsed.query, keep_blank_values=True),
            "form": form,
            "body": text,
            "headers": dict(self.headers.items()),
            "time": time.time(),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.server.log_lock:
            self.server.log_file.write(line)
            self.server.log_file.flush()
        return urllib.parse.unquote(parsed.path)

    def _signature(self, form):
        """Checks X-Twilio-Signature: a reference written from Twilio's documentation."""
        sent = self.headers.get("X-Twilio-Signature")
        if sent is None:
            return "absent"
        token = self.server.auth_token
        if not token:
            return "invalid"
        host = self.headers.get("Host", "127.0.0.1:%d" % self.server.server_address[1])
        text = "http://" + host + self.path
        if self.command == "POST":
            for name, value in sorted(form):
                text += name + value
        digest = hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        return "valid" if hmac.compare_digest(expected, sent) else "invalid"

    def _telnyx_signature(self, body: bytes):
        """Checks telnyx-signature-ed25519 with the openssl command (a reference outside tollfreed)."""
        sent, stamp = self.headers.get("telnyx-signature-ed25519"), self.headers.get("telnyx-timestamp")
        if sent is None or stamp is None:
            return "absent"
        key = self.server.ed25519_public_key
        try:
            if not key or abs(time.time() - int(stamp)) > 300:
                return "invalid"
            signature = base64.b64decode(sent, validate=True)
        except ValueError:
            return "invalid"
        with tempfile.TemporaryDirectory() as tmp:
            message, sig = os.path.join(tmp, "message"), os.path.join(tmp, "signature")
            with open(message, "wb") as f:
                f.write(stamp.encode() + b"|" + body)
            with open(sig, "wb") as f:
                f.write(signature)
            r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", message,
                                "-sigfile", sig], capture_output=True)
        return "valid" if r.returncode == 0 else "invalid"

    def _fields(self, body: bytes):
        """The request's query and urlencoded form fields, in that order."""
        fields = urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            fields += urllib.parse.parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return fields

    def _answer(self, status: int, body: bytes = b"", ctype: str = "text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = self._record(body)
        fields = self._fields(body)
        if path.startswith("/fail"):
            return self._answer(500, b"failure requested\n")
        if path.startswith("/hang"):
            time.sleep(30)
            return self._answer(200, b"late\n")
        if path.startswith("/code/"):
            try:
                code = int(path.split("/")[2])
            except (IndexError, ValueError):
                code = 400
            return self._answer(code)
        if path.startswith("/flaky/"):
            try:
                limit = int(path.split("/")[2])
            except (IndexError, ValueError):
                limit = 1
            with self.server.log_lock:
                seen = self.server.flaky.get(path, 0)
                self.server.flaky[path] = seen + 1
            return self._answer(503 if seen < limit else 200)
        if path.startswith("/redirect/"):
            query = urllib.parse.urlsplit(self.path).query
            target = "/" + path[len("/redirect/"):] + ("?" + query if query else "")
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        if path.startswith("/callback"):
            return self._answer(200)
        if path.startswith("/big/") or path.startswith("/bigstream/"):
            return self._big(path)
        docs = os.path.realpath(self.server.docs)
        target = os.path.realpath(os.path.join(docs, path.lstrip("/")))
        for name, value in fields:
            for variant in (f"{target}@{name}={value}", f"{target}@{name}"):
                if os.path.isfile(variant):
                    target = variant
                    break
            else:
                continue
            break
        if not target.startswith(docs + os.sep) or not os.path.isfile(target):
            return self._answer(404, b"not found\n")
        with open(target, "rb") as f:
            data = f.read()
        ctype = "application/xml" if target.endswith(".xml") else "text/plain"
        return self._answer(200, data, ctype)

    def _big(self, path: str):
        try:
            size = int(path.split("/")[2])
        except (IndexError, ValueError):
            size = 1 << 20
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        if path.startswith("/big/"):
            self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        head, tail = b"<Response><Say>", b"</Say></Response>"
        chunk = b"x" * 65536
        sent = 0
        try:  # a client that stops reading closes the connection
            while sent < size:
                if sent == 0:
                    piece = head
                elif size - sent <= len(tail):
                    piece = tail[len(tail) - (size - sent):]
                else:
                    piece = chunk[:size - sent - len(tail)]
                self.wfile.write(piece)
                sent += len(piece)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self._log_sent(path, sent)

    def _log_sent(self, path: str, sent: int):
        """Logs how much of a big answer the client took: method SENT, body the byte count."""
        entry = {"method": "SENT", "path": urllib.parse.urlsplit(path).path, "query": "", "query_params": [],
                 "form": [], "body": str(sent), "headers": {}, "time": time.time()}
        with self.server.log_lock:
            self.server.log_file.write(json.dumps(entry) + "\n")
            self.server.log_file.flush()

    do_GET = _handle
    do_POST = _handle
    do_HEAD = _handle
    do_PUT = _handle
    do_DELETE = _handle


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--docs", default=".")
    ap.add_argument("--log", required=True)
    ap.add_argument("--auth-token", default="")
    ap.add_argument("--ed25519-public-key", default="")
    args = ap.parse_args()

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.docs = args.docs
    server.log_lock = threading.Lock()
    server.flaky = {}
    server.auth_token = args.auth_token
    server.ed25519_public_key = args.ed25519_public_key
    server.log_file = open(args.log, "a", encoding="utf-8")

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.log_file.close()


if __name__ == "__main__":
    sys.exit(main())
