"""Attacks on the TeXML parser and the document fetch, and `document`, which picks a
random valid-looking document or an attack for one webhook request.

Attacks: nesting 40,000 deep, 50 MB bodies streamed (with and without Content-Length),
billion laughs, external entities (file:///etc/passwd, a DTD on the webhook), DOCTYPE,
UTF-16 with and without BOM, invalid UTF-8, UTF-8 BOMs, CDATA, comments, processing
instructions, huge attribute values, 100,000 elements, many attributes, truncation,
non-XML bodies, odd HTTP statuses, redirects and slow answers.
"""
from texml_gen import Doc, valid_like

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
          + ']>\n<Response><Say>&lol9;</Say></Response>')


def _deep(rng, base, dead_port):
    depth = rng.choice([40000, 40000, 65, 64, 63, 1000])
    tag = rng.choice(["Gather", "Response", "a", "Dial"])
    closed = rng.random() < 0.7
    body = "<Response>" + f"<{tag}>" * depth + ("Hello" + f"</{tag}>" * depth if closed else "") + "</Response>"
    return Doc(body=body.encode(), kind="deep")


def _stream(rng, base, dead_port):
    unit = rng.choice([b"<Say>x</Say>", b"<Pause/>", b"A", b"<Gather>"])
    chunk = b"<Response>" + unit * (65536 // len(unit))
    return Doc(stream=50 * 1024 * 1024, chunk=chunk[:65536], length_header=rng.random() < 0.5, kind="50MB")


def _laughs(rng, base, dead_port):
    return Doc(body=LAUGHS.encode(), kind="entities")


def _external(rng, base, dead_port):
    target = rng.choice(["file:///etc/passwd", f"{base}/evil.dtd", "file:///dev/zero", "/proc/self/environ"])
    body = rng.choice([
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{target}">]><Response><Say>&xxe;</Say></Response>',
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{target}"><Response><Hangup/></Response>',
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{target}"> %p;]><Response/>',
        '<!DOCTYPE Response><Response><Say>doctype</Say></Response>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "&b;"><!ENTITY b "&a;">]><Response><Say>&a;</Say></Response>',
        f'<Response><Play>{base}/play/0.wav</Play><Say>&xxe;</Say></Response>'])
    return Doc(body=body.encode(), kind="external")


def _encoding(rng, base, dead_port):
    doc = '<?xml version="1.0" encoding="UTF-16"?><Response><Say>Hello.</Say></Response>'
    choice = rng.randrange(9)
    if choice == 0:
        body = doc.encode("utf-16")                     # with BOM
    elif choice == 1:
        body = doc.encode("utf-16-be")                  # without BOM
    elif choice == 2:
        body = b"\xef\xbb\xbf" + b"<Response><Say>Hello.</Say></Response>"
    elif choice == 3:
        body = b"\xef\xbb\xbf\xef\xbb\xbf<Response/>"
    elif choice == 4:
        body = b"<Response><Say>\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80</Say></Response>"
    elif choice == 5:
        body = b'<Response><Say voice="\xc3">x</Say></Response>'
    elif choice == 6:
        body = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Say>caf\xe9</Say></Response>'.encode("latin-1")
    elif choice == 7:
        body = b"<Response>\x00<Say>nul</Say></Response>"
    else:
        body = '<?xml version="1.0" encoding="UTF-32"?><Response/>'.encode("utf-32")
    return Doc(body=body, kind="encoding", ctype=rng.choice(["application/xml", "text/xml; charset=utf-16"]))


def _syntax(rng, base, dead_port):
    choice = rng.choice([
        "<Response><Say><![CDATA[Hello <not> a tag ]]></Say></Response>",
        "<Response><![CDATA[<Hangup/>]]></Response>",
        "<!-- c --><Response><!-- c --><Say>Hello.<!-- c --></Say><!----></Response><!-- trailing -->",
        "<Response><!-- unterminated",
        '<?xml-stylesheet href="x"?><?php system("id"); ?><Response><?pi data?><Say>Hello.</Say></Response>',
        '<Response><Say>Hello.</Say></Response><?xml version="1.0"?>',
        "\n\n  <?xml version=\"1.0\"?><Response/>",
        "<Response><Say>unclosed", "<Response></Respons>", "<Response><Say></Response></Say>",
        "<Response/><Response/>", "", "   ", "{\"Response\": []}", "<html><body>oops</body></html>",
        "<Response><Say>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#0;&#xFFFF;&#1114112;</Say></Response>",
        "<Response xmlns=\"urn:other\"><Say>Hello.</Say></Response>",
        '<Response xmlns:tf="urn:tollfreed:texml" tf:emergency="true" tf:bogus="1"><Say>Hello.</Say></Response>',
        '<x:Response xmlns:x="urn:x"><x:Say>Hello.</x:Say></x:Response>',
        "<Response><Say a='1' a='2'>dup</Say></Response>", "<Response attr=noquotes/>", "<Response><Say>\x01\x1b</Say></Response>",
        "<Response>" + "<Pause/>" * 100000 + "</Response>", "<Response>" + "<Hangup/>" * 7000 + "</Response>",
        "<Response><Say " + " ".join(f'a{i}="1"' for i in range(40)) + ">x</Say></Response>",
        '<Response><Say voice="' + "v" * 1_000_000 + '">x</Say></Response>',
        '<Response><Say voice="' + "v" * 8192 + '">x</Say></Response>',
        '<Response><Say voice="' + "v" * 8193 + '">x</Say></Response>',
        "<Response>" + "<Say>" + "w " * 40000 + "</Say></Response>",
    ])
    body = choice.encode()
    if rng.random() < 0.1 and body:
        body = body[:rng.randrange(len(body))]
    return Doc(body=body, kind="syntax")


def _http(rng, base, dead_port):
    status = rng.choice([204, 301, 302, 404, 500, 503, 100, 199, 299, 600, 999])
    doc = Doc(status=status, body=b"<Response><Say>Hello.</Say></Response>", kind="http-status")
    if status in (301, 302):
        doc.ctype = rng.choice(["/doc/redir", base + "/doc/redir", "file:///etc/passwd", "http://127.0.0.1:1/"])
        doc.kind = "redirect"
    return doc


def _slow(rng, base, dead_port):
    return Doc(body=b"<Response><Say>Hello.</Say></Response>", delay=rng.choice([1.0, 2.5, 3.0]), kind="slow")


def _ctype(rng, base, dead_port):
    doc = valid_like(rng, base, dead_port)
    doc.ctype = rng.choice(["text/html", "application/json", "", "text/xml; charset=utf-16", "image/png", "x" * 5000])
    doc.kind = "content-type"
    return doc


ATTACKS = [(_deep, 3), (_stream, 1), (_laughs, 2), (_external, 3), (_encoding, 4), (_syntax, 8), (_http, 3),
           (_slow, 1), (_ctype, 2)]


def document(rng, base, dead_port, attack_share=0.3):
    """The document for one request: an attack with probability `attack_share`."""
    if rng.random() >= attack_share:
        return valid_like(rng, base, dead_port)
    total = sum(w for _, w in ATTACKS)
    pick = rng.uniform(0, total)
    for fn, weight in ATTACKS:
        pick -= weight
        if pick <= 0:
            return fn(rng, base, dead_port)
    return _syntax(rng, base, dead_port)


def check_sample(rng, base, dead_port, stream_limit=2 * 1024 * 1024):
    """A document for `tollfreed check` (streamed attacks written out, up to `stream_limit`)."""
    doc = document(rng, base, dead_port, attack_share=0.5)
    if doc.stream:
        size = min(doc.stream, stream_limit)
        return (doc.chunk * (size // len(doc.chunk) + 1))[:size], doc.kind
    return doc.body, doc.kind

