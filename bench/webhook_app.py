#!/usr/bin/env python3
"""The webhook section's tenant app: a small HTTP/1.1 server (asyncio, keep-alive) that
serves each call a TeXML document of its own, as a production app does.

    bench/webhook_app.py --port PORT --log FILE

`/voice` (the number's flow URL) answers every call with a greeting no other call gets (a
name, the time to the millisecond and the call's sequence number, so every prompt is a
cache miss for the daemon's text to speech), then a one-key `<Gather>` with a 1 s timeout
and a `<Redirect>` to `/action`: the callers press nothing, so every call makes a second
request. `/action` answers `<Hangup/>`. On SIGTERM it writes one line per request to
`--log` (path, CallSid, arrival time in ns since the epoch, time spent answering in us)
and exits. Its CPU is measured by the suite, apart from the daemon's.

Limits: a request head over 16 KiB or a body over 64 KiB closes the connection (400).
"""
import argparse
import asyncio
import signal
import time
import urllib.parse

NAMES = ["Maria Garcia", "James Smith", "Wei Chen", "Aisha Okafor", "Lukas Novak", "Priya Patel",
         "Diego Alvarez", "Hana Sato", "Olivia Brown", "Noah Wilson", "Fatima Haddad", "Ivan Petrov"]
MAX_HEAD, MAX_BODY = 16 * 1024, 64 * 1024
LOG = []
COUNTER = [0]


def voice_document():
    COUNTER[0] += 1
    n = COUNTER[0]
    t = time.time()
    clock = time.strftime("%H %M and %S seconds", time.localtime(t))
    text = f"Hello {NAMES[n % len(NAMES)]}, it is {clock}. You are caller {n}."
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
            f'  <Say voice="alice">{text}</Say>\n'
            '  <Gather numDigits="1" timeout="1" action="/action"/>\n'
            '  <Redirect>/action</Redirect>\n</Response>\n')


HANGUP = '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup/></Response>\n'


class Connection(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self.fail()
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if length > MAX_BODY or len(lines[0].split(" ")) != 3:
                return self.fail()
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.answer(lines[0].split(" ")[1], body)

    def answer(self, target, body):
        arrived = time.time_ns()
        start = time.perf_counter_ns()
        path, _, query = target.partition("?")
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace") or query)
        sid = form.get("CallSid", ["-"])[0]
        if path == "/voice":
            status, doc = "200 OK", voice_document()
        elif path == "/action":
            status, doc = "200 OK", HANGUP
        else:
            status, doc = "404 Not Found", HANGUP
        payload = doc.encode()
        self.transport.write((f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n"
                              f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
        LOG.append((path, sid, arrived, (time.perf_counter_ns() - start) // 1000))

    def fail(self):
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.transport.close()


async def main(port, log_path):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Connection, "127.0.0.1", port, backlog=1024)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    print(f"webhook_app: listening on 127.0.0.1:{port}", flush=True)
    await stop
    server.close()
    with open(log_path, "w") as f:
        for path, sid, arrived, took in LOG:
            f.write(f"{path}\t{sid}\t{arrived}\t{took}\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    asyncio.run(main(a.port, a.log))
