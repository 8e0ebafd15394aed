"""A tiny SIP caller (UAC) over UDP, enough to place, hold and end calls.

Used for the normal-call checks, the live calls of the RTP phase and the webhook calls of
the TeXML phase. It retransmits its requests (loopback can still drop datagrams when the
daemon is loaded), ACKs every final response to its INVITE, and answers the daemon's own
in-dialog requests (BYE, INFO...) with 200.
"""
import random
import re
import socket
import time

COMPACT = {"t": "to", "f": "from", "i": "call-id", "m": "contact", "v": "via", "l": "content-length",
           "c": "content-type"}


def parse_message(data):
    """(first line, {lower-case header: first value}, body) of a SIP datagram."""
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = COMPACT.get(key, key)
        headers.setdefault(key, value.strip())
    return lines[0], headers, body


def status_of(first_line):
    m = re.match(r"SIP/2\.0 (\d{3})", first_line)
    return int(m.group(1)) if m else None


def sdp_offer(rtp_port, codecs="0 101"):
    """A PCMU (+telephone-event) offer from 127.0.0.1:rtp_port."""
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP {codecs}\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n")


class Call:
    """One dialog from its own SIP socket (and its own RTP socket)."""

    def __init__(self, daemon_port, tag="fz"):
        self.daemon = ("127.0.0.1", daemon_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp.setblocking(False)
        self.rtp_port = self.rtp.getsockname()[1]
        self.call_id = f"{tag}-{random.getrandbits(64):016x}@127.0.0.1"
        self.from_tag = f"{random.getrandbits(32):08x}"
        self.to_header = None
        self.target = None
        self.cseq = 1
        self.invite_branch = None
        self.daemon_rtp_port = None
        self.ended_by_daemon = False
        self.did = None

    def close(self):
        self.sock.close()
        self.rtp.close()

    def _send(self, text):
        self.sock.sendto(text.encode("utf-8", "surrogateescape"), self.daemon)

    def _request(self, method, uri, branch, cseq, to, extra=(), body="", ctype=None):
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:+15551230000@127.0.0.1>;tag={self.from_tag}",
                 f"To: {to}", f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}"]
        lines += list(extra)
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def _receive(self, timeout):
        """The next datagram as (first, headers, body), answering daemon requests; None on timeout."""
        self.sock.settimeout(max(0.001, timeout))
        try:
            data, _ = self.sock.recvfrom(65535)
        except (socket.timeout, BlockingIOError):
            return None
        first, headers, body = parse_message(data)
        if not first.startswith("SIP/2.0"):
            self._answer(first, headers)
        return first, headers, body

    def _answer(self, first, headers):
        """200 to a request the daemon sent (its BYE, INFO, OPTIONS...); ACKs need none."""
        method = first.split(" ", 1)[0]
        if method == "ACK":
            return
        if method == "BYE":
            self.ended_by_daemon = True
        lines = ["SIP/2.0 200 OK"]
        for name in ("via", "from", "to", "call-id", "cseq"):
            if name in headers:
                lines.append(f"{name.title()}: {headers[name]}")
        self._send("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n")

    def poll(self):
        """Answers whatever the daemon sent meanwhile (non-blocking)."""
        while self._receive(0.001) is not None:
            pass

    def invite(self, did, timeout=10.0, sdp=True):
        """Sends an INVITE and returns the final status (ACKing it), or None on timeout."""
        self.did = did
        self.invite_branch = f"z9hG4bK{random.getrandbits(48):012x}"
        body = sdp_offer(self.rtp_port) if sdp else ""
        uri = f"sip:{did}@127.0.0.1:{self.daemon[1]}"
        msg = self._request("INVITE", uri, self.invite_branch, self.cseq, f"<sip:{did}@127.0.0.1>",
                            [f"Contact: <sip:caller@127.0.0.1:{self.port}>"], body,
                            "application/sdp" if sdp else None)
        self._send(msg)
        end, resend, interval, provisional = time.monotonic() + timeout, time.monotonic() + 0.5, 0.5, False
        while time.monotonic() < end:
            if not provisional and time.monotonic() >= resend:
                self._send(msg)
                interval = min(interval * 2, 4.0)
                resend = time.monotonic() + interval
            got = self._receive(min(0.1, end - time.monotonic()))
            if got is None or not got[0].startswith("SIP/2.0") or not got[1].get("cseq", "").endswith("INVITE"):
                continue
            status = status_of(got[0])
            if status is None or status < 200:
                provisional = True
                continue
            self._final(status, got[1], got[2], uri)
            return status
        return None

    def _final(self, status, headers, body, uri):
        """Remembers the dialog of a final response and ACKs it."""
        self.to_header = headers.get("to")
        if status >= 300:
            ack = self._request("ACK", uri, self.invite_branch, self.cseq, self.to_header or "<sip:x@127.0.0.1>")
            self._send(ack)
            return
        contact = re.search(r"<([^>]+)>", headers.get("contact", ""))
        self.target = contact.group(1) if contact else f"sip:daemon@127.0.0.1:{self.daemon[1]}"
        m = re.search(r"^m=audio (\d+)", body, re.M)
        self.daemon_rtp_port = int(m.group(1)) if m else None
        self.ack()

    def ack(self):
        branch = f"z9hG4bK{random.getrandbits(48):012x}"
        self._send(self._request("ACK", self.target, branch, self.cseq, self.to_header))

    def bye(self, timeout=8.0):
        """Sends BYE (retransmitted) and returns its final status, or None on timeout."""
        self.cseq += 1
        branch = f"z9hG4bK{random.getrandbits(48):012x}"
        msg = self._request("BYE", self.target, branch, self.cseq, self.to_header)
        return self._transaction(msg, "BYE", timeout)

    def _transaction(self, msg, method, timeout):
        self._send(msg)
        end, interval = time.monotonic() + timeout, 0.5
        resend = time.monotonic() + interval
        while time.monotonic() < end:
            if time.monotonic() >= resend:
                self._send(msg)
                interval = min(interval * 2, 4.0)
                resend = time.monotonic() + interval
            got = self._receive(min(0.1, end - time.monotonic()))
            if got and got[0].startswith("SIP/2.0") and got[1].get("cseq", "").endswith(method):
                status = status_of(got[0])
                if status and status >= 200:
                    return status
        return None

    def drain_rtp(self):
        """Reads and drops the daemon's RTP to this caller; returns the packet count."""
        n = 0
        while True:
            try:
                self.rtp.recv(2048)
                n += 1
            except (BlockingIOError, OSError):
                return n


def normal_call(daemon_port, did="8005963057", hold=0.0, tag="fzcheck"):
    """INVITE, 200, ACK, (hold), BYE, 200. Returns (ok, detail, sip Call-ID)."""
    call = Call(daemon_port, tag)
    try:
        status = call.invite(did, timeout=15)
        if status != 200:
            return False, f"INVITE to {did} answered {status}", call.call_id
        end = time.monotonic() + hold
        while time.monotonic() < end:
            call.poll()
            call.drain_rtp()
            time.sleep(0.05)
        if call.ended_by_daemon:
            return False, "daemon hung up during the check call", call.call_id
        status = call.bye()
        if status != 200:
            return False, f"BYE answered {status}", call.call_id
        return True, "ok", call.call_id
    finally:
        call.close()
