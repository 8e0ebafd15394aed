"""SIP datagram mutants: templates of INVITE/SDP, BYE, CANCEL, MESSAGE and OPTIONS, and
mutations of them (byte flips, truncation, duplicated and huge headers, CRLF/NUL
injection, wrong Content-Length, random SDP lines, Contacts and numbers...).

Every mutant is built from a `random.Random`, so a seed replays the same datagrams.
Hosts in Contacts are loopback (or malformed), so nothing the daemon sends back leaves
127.0.0.1 on purpose.
"""
import torture

KNOWN_DIDS = ["8005963057", "+18005963057", "1 (800) 596-3057", "tel:+18005963057", "8888046762",
              "18888046762", "2082792555", "+1-208-279-2555", "18335550199"]
UNKNOWN_DIDS = ["5551234567", "+442079460000", "011442079460000", "911", "", "0", "*67" + "8005963057",
                "8005963057;npdi;rn=+12025550000", "%38%30%30%35%39%36%33%30%35%37", "+" * 40, "9" * 300]
CONTACTS = ["<sip:c@127.0.0.1:{lp}>", "<tel:+15551230000>", "*", "<http://127.0.0.1:{lp}/x>", "<sip:@127.0.0.1>",
            "<sip:c@127.0.0.1:99999>", "<sip:c@127.0.0.1:{lp}>, <sip:d@127.0.0.1:{lp}>", "<sips:c@127.0.0.1:{lp}>",
            "sip:c@127.0.0.1:{lp};transport=tcp", "<sip:c@[::1]:{lp}>", "<sip:c@localhost:{lp}>", "<>", "<<sip:x@127.0.0.1>>",
            "\"\" <sip:c@127.0.0.1:{lp};maddr=127.0.0.1>", "<sip:c@127.0.0.1:{lp}>;expires=-1", "<urn:service:sos>",
            "<sip:c@127.0.0.1:0>", "<sip:%00@127.0.0.1:{lp}>", "<mailto:x@127.0.0.1>", "<sip:c@127.0.0.1:{lp}?Route=x>"]
RESOURCE_PRIORITY = ["esnet.0", "ets.4", "wps.0", "dsn.flash", "esnet.99", "esnet", ".", "esnet.0, ets.1, wps.2",
                     "x" * 2000, "esnet.0;foo", "ESNET.0"]
SDP_LINES = ["m=audio 0 RTP/AVP 0", "m=audio 65536 RTP/AVP 0", "m=audio 9 RTP/SAVP 0", "m=video 9 RTP/AVP 31",
             "m=audio 9 RTP/AVP 255 -1 128", "m=audio 9 RTP/AVP", "m=audio {rp}/2 RTP/AVP 0 8", "c=IN IP6 ::1",
             "c=IN IP4 0.0.0.0", "c=IN IP4 999.1.1.1", "c=IN IP4 127.0.0.1/127/3", "c=", "a=sendonly", "a=inactive",
             "a=recvonly", "a=rtpmap:0 PCMA/8000", "a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/0",
             "a=rtpmap:", "a=ptime:0", "a=ptime:-20", "a=ptime:99999999999999999999", "a=fmtp:101 0-99999",
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40, "a=rtcp:99999", "b=AS:-1", "v=1", "o=",
             "s=", "t=x y", "x", "=", "a=" + "z" * 5000, "m=audio 9 RTP/AVP " + " ".join(["0"] * 500),
             "a=rtpmap:0 PCMU/8000/1/2/3", "k=prompt", "z=0 0", "a=group:BUNDLE 0 1", "i=\xff\xfe"]
METHODS = ["INVITE", "INVITE", "INVITE", "BYE", "CANCEL", "MESSAGE", "OPTIONS", "ACK", "INFO", "PRACK",
           "UPDATE", "REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"]


def sdp(rng, rtp_port):
    """A plausible SDP offer (PCMU/PCMA/telephone-event in some order)."""
    codecs = rng.choice(["0 101", "8 0", "0", "8", "18 0", "9 8 0 101", "101", "0 8 101 13"])
    lines = ["v=0", f"o=- {rng.getrandbits(32)} 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
             f"m=audio {rtp_port} RTP/AVP {codecs}", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
             "a=rtpmap:101 telephone-event/8000", "a=ptime:20"]
    return "\r\n".join(lines) + "\r\n"


def template(rng, method, dialed, lport, dport, call_id=None, from_tag=None, branch=None):
    """A well-formed request of `method` to `dialed`, as (header lines, body)."""
    call_id = call_id or f"fzm-{rng.getrandbits(64):016x}@127.0.0.1"
    from_tag = from_tag or f"{rng.getrandbits(32):x}"
    branch = branch or f"z9hG4bK{rng.getrandbits(48):x}"
    cseq = {"ACK": 1, "CANCEL": 1}.get(method, rng.randint(1, 5))
    lines = [f"{method} sip:{dialed}@127.0.0.1:{dport} SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch={branch};rport",
             "Max-Forwards: 70", f"From: \"Fuzz\" <sip:+1555{rng.randint(1000000, 9999999)}@127.0.0.1>;tag={from_tag}",
             f"To: <sip:{dialed}@127.0.0.1>", f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
             f"Contact: <sip:caller@127.0.0.1:{lport}>", "User-Agent: fuzz"]
    body = ""
    if method == "INVITE" and rng.random() < 0.9:
        body = sdp(rng, rng.choice([9, lport + 1, rng.randint(1024, 65535)]))
        lines.append("Content-Type: application/sdp")
    elif method == "MESSAGE":
        body = rng.choice(["hello", "x" * 161, "\u20ac{}[]~^|" * 20, "\U0001F600" * 40, "", "a" * 1600, "\u00e9t\u00e9"])
        lines.append(rng.choice(["Content-Type: text/plain", "Content-Type: text/plain;charset=UTF-8",
                                 "Content-Type: text/plain; charset=ISO-8859-1", "Content-Type: application/json"]))
    elif method == "INFO":
        body = f"Signal={rng.choice('0123456789*#ABCDX')}\r\nDuration={rng.randint(-5, 99999)}\r\n"
        lines.append("Content-Type: application/dtmf-relay")
    lines.append(f"Content-Length: {len(body.encode())}")
    return lines, body


def assemble(lines, body):
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogateescape")


# --- mutations on (lines, body) before assembly -------------------------------------------

def m_dup_header(rng, lines, body, ctx):
    i = rng.randrange(1, len(lines))
    lines.insert(i, lines[i])
    return lines, body


def m_huge_value(rng, lines, body, ctx):
    i = rng.randrange(1, len(lines))
    name = lines[i].split(":", 1)[0]
    lines[i] = f"{name}: " + rng.choice("ax;,<\"%") * rng.choice([1000, 8000, 16000, 40000, 64000])
    return lines, body


def m_header_injection(rng, lines, body, ctx):
    i = rng.randrange(1, len(lines))
    lines[i] += rng.choice(["\r\nX-Injected: 1", "\x00", "\r", "\n", "\r\n\r\n", "\x00\r\nVia: x", " \r\n  folded"])
    return lines, body


def m_content_length(rng, lines, body, ctx):
    value = rng.choice(["-1", "0", "1", "99999", "4294967296", "18446744073709551616", "abc", "", " 12 ",
                        str(len(body) + rng.randint(-50, 50)), "1e3", "0x10"])
    lines = [l for l in lines if not l.lower().startswith("content-length")]
    lines.append(f"{rng.choice(['Content-Length', 'l', 'CONTENT-LENGTH'])}: {value}")
    return lines, body


def m_sdp_line(rng, lines, body, ctx):
    parts = body.split("\r\n") if body else ["v=0"]
    for _ in range(rng.randint(1, 4)):
        choice = rng.choice(SDP_LINES).replace("{rp}", str(ctx["lport"]))
        op = rng.random()
        if op < 0.5:
            parts.insert(rng.randrange(len(parts) + 1), choice)
        elif op < 0.8 and parts:
            parts[rng.randrange(len(parts))] = choice
        elif parts:
            del parts[rng.randrange(len(parts))]
    body = "\r\n".join(parts)
    if not any(l.lower().startswith("content-type") for l in lines):
        lines.append("Content-Type: application/sdp")
    lines = [l if not l.lower().startswith("content-length") else f"Content-Length: {len(body.encode('utf-8', 'surrogateescape'))}"
             for l in lines]
    return lines, body


def m_contact(rng, lines, body, ctx):
    contact = rng.choice(CONTACTS).replace("{lp}", str(ctx["lport"]))
    lines = [l for l in lines if not l.lower().startswith("contact")]
    lines.insert(rng.randrange(1, len(lines) + 1), f"{rng.choice(['Contact', 'm'])}: {contact}")
    return lines, body


def m_priority(rng, lines, body, ctx):
    lines.insert(rng.randrange(1, len(lines) + 1), f"Resource-Priority: {rng.choice(RESOURCE_PRIORITY)}")
    if rng.random() < 0.4:
        lines.insert(1, f"Priority: {rng.choice(['emergency', 'urgent', 'EMERGENCY', '', 'x' * 300])}")
    return lines, body


def m_request_uri(rng, lines, body, ctx):
    uri = rng.choice([f"sip:{ctx['dialed']}@127.0.0.1", f"tel:{ctx['dialed']}", "*", "sip:", "<sip:x@y>",
                      f"sip:{ctx['dialed']}@127.0.0.1;user=phone;" + "p=1;" * 500, "http://127.0.0.1/", "sip:%ZZ@127.0.0.1",
                      "sip:" + "a" * 20000 + "@127.0.0.1", f"sips:{ctx['dialed']}@[::1]", "sip:[::1"])
    method = lines[0].split(" ", 1)[0]
    lines[0] = f"{method} {uri} {rng.choice(['SIP/2.0', 'SIP/2.0', 'SIP/3.0', 'sip/2.0', 'HTTP/1.1', ''])}"
    return lines, body


def m_body_type(rng, lines, body, ctx):
    lines = [l for l in lines if not l.lower().startswith("content-type")]
    lines.append("Content-Type: " + rng.choice(["text/plain", "application/json", "multipart/mixed;boundary=x",
                                               "application/SDP", "application/sdp;charset=x", "", "/", "a" * 3000]))
    return lines, body


def m_drop_header(rng, lines, body, ctx):
    if len(lines) > 2:
        del lines[rng.randrange(1, len(lines))]
    return lines, body


def m_many_headers(rng, lines, body, ctx):
    width = rng.randint(0, 40)
    lines[1:1] = [f"X-H{i}: {'v' * ((i * 7 + width) % 41)}" for i in range(rng.choice([100, 500, 2000]))]
    return lines, body


def m_many_vias(rng, lines, body, ctx):
    lines[1:1] = [f"Via: SIP/2.0/UDP 127.0.0.{i % 250 + 1}:{5060 + i};branch=z9hG4bK{i}" for i in range(rng.choice([50, 300]))]
    return lines, body


LINE_MUTATIONS = [m_dup_header, m_huge_value, m_header_injection, m_content_length, m_sdp_line, m_sdp_line, m_contact,
                  m_contact, m_priority, m_request_uri, m_body_type, m_drop_header, m_many_headers, m_many_vias]


# --- mutations on the assembled bytes ----------------------------------------------------

def b_flip(rng, data):
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        if buf:
            i = rng.randrange(len(buf))
            buf[i] = rng.choice([buf[i] ^ (1 << rng.randrange(8)), rng.randrange(256), 0, 0x0D, 0x0A, 0x3A, 0x22])
    return bytes(buf)


def b_truncate(rng, data):
    return data[:rng.randrange(len(data) + 1)]


def b_splice(rng, data):
    i, j = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    return data[:j] + data[i:j] * rng.randint(1, 3) + data[j:]


def b_insert(rng, data):
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.randbytes(rng.randint(1, 64)) + data[i:]


def b_line_endings(rng, data):
    return data.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\r\n", b"\n\r", b" \r\n"]))


BYTE_MUTATIONS = [b_flip, b_flip, b_truncate, b_splice, b_insert, b_line_endings]


def mutant(rng, lport, dport):
    """(kind, datagram): a mutated template, a (possibly mutated) torture message, or noise."""
    roll = rng.random()
    dialed = rng.choice(KNOWN_DIDS) if rng.random() < 0.7 else rng.choice(UNKNOWN_DIDS)
    if roll < 0.08:
        name = rng.choice(sorted(torture.MESSAGES))
        data = torture.render(name, dport, lport, f"fzt-{rng.getrandbits(64):x}", dialed)
        if rng.random() < 0.5:
            return "torture-mutated", rng.choice(BYTE_MUTATIONS)(rng, data)
        return "torture", data
    if roll < 0.1:
        return "noise", rng.randbytes(rng.choice([0, 1, 4, 100, 1400, 9000]))
    method = rng.choice(METHODS)
    lines, body = template(rng, method, dialed, lport, dport)
    ctx = {"lport": lport, "dialed": dialed}
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        lines, body = rng.choice(LINE_MUTATIONS)(rng, lines, body, ctx)
    data = assemble(lines, body)
    if rng.random() < 0.5:
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return method, data[:65000]


def invite_then_cancel(rng, lport, dport):
    """A valid INVITE followed by a (mutated) CANCEL or BYE of the same transaction/dialog."""
    dialed = rng.choice(KNOWN_DIDS)
    cid, tag, branch = f"fzc-{rng.getrandbits(64):x}@127.0.0.1", f"{rng.getrandbits(32):x}", f"z9hG4bK{rng.getrandbits(48):x}"
    inv = assemble(*template(rng, "INVITE", dialed, lport, dport, cid, tag, branch))
    method = rng.choice(["CANCEL", "CANCEL", "BYE"])
    lines, body = template(rng, method, dialed, lport, dport, cid, tag, branch)
    ctx = {"lport": lport, "dialed": dialed}
    for _ in range(rng.choice([0, 1, 2])):
        lines, body = rng.choice(LINE_MUTATIONS)(rng, lines, body, ctx)
    second = assemble(lines, body)
    if rng.random() < 0.3:
        second = rng.choice(BYTE_MUTATIONS)(rng, second)
    return [inv, second]
