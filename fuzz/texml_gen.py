"""TeXML documents for the webhook: random verb combinations with random (often wrong)
attributes, and attacks on the parser (depth, size, entities, encodings, DOCTYPE...).

`document(rng, base)` returns a `Doc`: HTTP status, content type, and either `body`
(bytes) or `stream` (a size to send in chunks, for the 50 MB answers). `base` is the
webhook's own URL (http://127.0.0.1:PORT), the only host any URL in a document names;
<Dial> targets go to the closed `dead_port`. Say texts, voices and languages come from
small fixed sets, likewise Play URLs (`PLAY_PATHS`), except one in four, which is unique
(a number in the text, a query in the URL), as apps that greet each caller by name or
fetch a TTS URL per call make them. The daemon's prompt and play caches keep them up to
their byte budgets; checks.py takes the growth the daemon reports for them off the RSS.
"""
from dataclasses import dataclass

TEXTS = ["Hello.", "Please hold.", "Goodbye.", "Press one."]
VOICES = ["alice", "man"]
LANGUAGES = ["en-US", "es-MX"]
PLAY_PATHS = [f"/play/{i}.wav" for i in range(6)]
GARBAGE_VALUES = ["", " ", "-1", "0", "99999999999999999999", "1e309", "NaN", "true", "\u202e", "&amp;&lt;&gt;",
                  "&#0;", "&#x110000;", "&#xD800;", "&unknown;", "&", "<", "\"", "%s%n", "../../../etc/passwd",
                  "file:///etc/passwd", "javascript:alert(1)", "x" * 8192, "y" * 8193, "\u00e9\u00e8",
                  "\U0001F600", "http://127.0.0.1:1/", "GET", "POST", "PUT", "*", "#", "0-9"]


@dataclass
class Doc:
    status: int = 200
    ctype: str = "application/xml"
    body: bytes = b""
    stream: int = 0          # bytes to stream instead of body (chunks of `chunk`)
    chunk: bytes = b""
    length_header: bool = True
    delay: float = 0.0
    kind: str = "valid"


def _esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("\"", "&quot;")


def _attr(rng, name, good):
    """name="value": a good value mostly, else garbage (escaped or, rarely, raw)."""
    roll = rng.random()
    if roll < 0.8:
        value = _esc(str(rng.choice(good)))
    elif roll < 0.97:
        value = _esc(rng.choice(GARBAGE_VALUES))
    else:
        value = rng.choice(GARBAGE_VALUES)
    return f' {name}="{value}"'


def _attrs(rng, spec):
    out = "".join(_attr(rng, n, g) for n, g in spec if rng.random() < 0.5)
    if rng.random() < 0.05:
        out += _attr(rng, rng.choice(["bogus", "Voice", "xmlns:x", "tf:emergency", "timeout ", "a-b"]), ["1", "true"])
    return out


def _say(rng):
    return (f"<Say{_attrs(rng, [('voice', VOICES), ('language', LANGUAGES), ('loop', [1, 2, 0])])}>"
            f"{_esc(rng.choice(TEXTS) + _unique(rng, ' Reference {}.'))}</Say>")


def _unique(rng, pattern):
    """One time in four, `pattern` with a random number (a per-call prompt or URL)."""
    return pattern.format(rng.randrange(10 ** 9)) if rng.random() < 0.25 else ""


def _play(rng, base):
    src = rng.choice([base + rng.choice(PLAY_PATHS) + _unique(rng, "?u={}"), "general-business.xml", "/etc/passwd", "file:///dev/zero",
                      base + "/code/404", ""])
    return f"<Play{_attrs(rng, [('loop', [1, 2]), ('digits', ['1w2', 'W#', 'x'])])}>{_esc(src)}</Play>"


def _pause(rng):
    return f"<Pause{_attrs(rng, [('length', [0, 1, 2])])}/>"


def _gather(rng, base):
    inner = "".join(rng.choice([_say, _pause])(rng) for _ in range(rng.randint(0, 3)))
    spec = [("input", ["dtmf", "speech", "dtmf speech"]), ("numDigits", [1, 4]), ("timeout", [1, 5]),
            ("finishOnKey", ["#", "*", ""]), ("action", [base + "/doc/gather", "menu-{Digits}.xml", "/x"]),
            ("method", ["POST", "GET"]), ("minDigits", [1]), ("maxDigits", [9]), ("actionOnEmptyResult", ["true"])]
    return f"<Gather{_attrs(rng, spec)}>{inner}</Gather>"


def _record(rng, base):
    spec = [("action", [base + "/doc/record"]), ("maxLength", [1, 5, 3600]), ("timeout", [1, 5]),
            ("playBeep", ["true", "false"]), ("finishOnKey", ["#", "1"]), ("trim", ["trim-silence", "do-not-trim"]),
            ("recordingStatusCallback", [base + "/callback/rec"]), ("transcribe", ["true", "false"]),
            ("channels", ["mono", "dual"]), ("format", ["wav", "mp3"])]
    return f"<Record{_attrs(rng, spec)}/>"


def _dial(rng, base, dead_port):
    nouns = []
    for _ in range(rng.randint(0, 3)):
        if rng.random() < 0.5:
            nouns.append(f"<Number>{rng.choice(['+15551230000', '8005963057', '', 'abc', '+' + '9' * 40])}</Number>")
        else:
            user = rng.choice(["agent", "", "%00", "a" * 300])
            nouns.append(f"<Sip{_attrs(rng, [('username', ['u']), ('password', ['p'])])}>"
                         f"sip:{_esc(user)}@127.0.0.1:{dead_port}</Sip>")
    text = "" if nouns or rng.random() < 0.5 else "+15551230000"
    spec = [("timeout", [1, 2]), ("timeLimit", [1, 10]), ("callerId", ["+15551230000", "anonymous"]),
            ("action", [base + "/doc/dial"]), ("record", ["do-not-record", "record-from-answer-dual"]),
            ("hangupOnStar", ["true", "false"]), ("answerOnBridge", ["true"])]
    tf = ' tf:emergency="true"' if rng.random() < 0.1 else ""
    return f"<Dial{_attrs(rng, spec)}{tf}>{text}{''.join(nouns)}</Dial>"


def _verb(rng, base, dead_port):
    roll = rng.random()
    if roll < 0.25:
        return _say(rng)
    if roll < 0.35:
        return _play(rng, base)
    if roll < 0.45:
        return _pause(rng)
    if roll < 0.6:
        return _gather(rng, base)
    if roll < 0.68:
        return _record(rng, base)
    if roll < 0.78:
        return _dial(rng, base, dead_port)
    if roll < 0.86:
        return f"<Redirect{_attrs(rng, [('method', ['POST', 'GET'])])}>{_esc(rng.choice([base + '/doc/r', '/doc/rel', 'general-business.xml', 'menu-9.xml']))}</Redirect>"
    if roll < 0.92:
        return f"<Reject{_attrs(rng, [('reason', ['rejected', 'busy'])])}/>"
    if roll < 0.97:
        return "<Hangup/>"
    return rng.choice(["<Unknown/>", "<say>x</say>", "<Response/>", "text outside", "<Number>1</Number>", "<Sip>x</Sip>"])


def valid_like(rng, base, dead_port):
    """A random <Response> of 0-6 verbs (mostly well-formed, often semantically wrong)."""
    verbs = "".join(_verb(rng, base, dead_port) for _ in range(rng.randint(0, 6)))
    ns = ' xmlns:tf="urn:tollfreed:texml"' if rng.random() < 0.3 else ""
    decl = rng.choice(['<?xml version="1.0" encoding="UTF-8"?>\n', "", '<?xml version="1.0"?>'])
    return Doc(body=(f"{decl}<Response{ns}>{verbs}</Response>").encode(), kind="valid")

