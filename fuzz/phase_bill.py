"""Phase `bill`: mutated `cdr export` / `sms export` files and 2FA files rated by
`tollfreed bill --period 2026-12 --config CFG --cdrs/--messages/--2fa FILE`.

The bases are the exports of this run's own records (a sample of rows). Mutations: bare
quotes, CRLF inside fields, wrong field counts, invalid UTF-8, impossible dates, huge and
negative numbers, duplicated rows, BOMs, NULs, huge fields, wrong JSON types, deep JSON,
truncation, swapped formats. Checked: never killed by a signal, never hangs, never exit 0
with nothing on standard output. Exit statuses are counted (texts are not asserted).
"""
import collections
import json
import os
import re
import subprocess
import time

from common import phase_rng

DATES = ["2026-11-31T10:00:00.000Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-01T24:00:00Z",
         "9999-12-31T23:59:59.999Z", "0000-00-00", "", "2026-12-01", "2026-12-01T10:00:00+25:00", "yesterday",
         "2026-12-01T10:00:00.000000000000000001Z", "-2026-12-01T00:00:00Z", "2026-12-31T23:59:59.999Z"]
NUMBERS = ["99999999999999999999999", "-1", "-9223372036854775808", "9223372036854775807", "1e308", "NaN", "",
           "0x10", "1.5", " 7 ", "\u0661\u0662", "+5", "18446744073709551616"]


def _fields_csv(line):
    return line.split(b",")


def mutate_line(rng, line, is_json):
    """One mutation of one row (bytes)."""
    ops = ["quote", "crlf", "count", "utf8", "date", "number", "nul", "huge", "empty", "trunc"]
    op = rng.choice(ops + (["json_type", "json_deep", "json_key"] if is_json else []))
    if op == "quote":
        i = rng.randrange(len(line) + 1)
        return line[:i] + rng.choice([b'"', b'""', b'"x"y"', b"'"]) + line[i:]
    if op == "crlf":
        i = rng.randrange(len(line) + 1)
        return line[:i] + rng.choice([b"\r\n", b"\n", b"\r", b'"\r\n"']) + line[i:]
    if op == "count":
        parts = _fields_csv(line)
        if rng.random() < 0.5 and len(parts) > 1:
            del parts[rng.randrange(len(parts))]
        else:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice([b"", b"x", b'""', b"1"]) * rng.randint(1, 5))
        return b",".join(parts)
    if op == "utf8":
        i = rng.randrange(len(line) + 1)
        return line[:i] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]) + line[i:]
    if op in ("date", "number"):
        return _replace_value(rng, line, is_json, DATES if op == "date" else NUMBERS)
    if op == "nul":
        i = rng.randrange(len(line) + 1)
        return line[:i] + b"\x00" + line[i:]
    if op == "huge":
        i = rng.randrange(len(line) + 1)
        return line[:i] + b"A" * rng.choice([10000, 1 << 20]) + line[i:]
    if op == "empty":
        return b""
    if op == "trunc":
        return line[:rng.randrange(len(line) + 1)]
    return _json_mutation(rng, line, op)


def _replace_value(rng, line, is_json, values):
    value = rng.choice(values)
    if is_json:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # a line already made deep
            return line
        key = rng.choice(list(obj)) if obj else "x"
        obj[key] = value if rng.random() < 0.5 else (int(value) if value.lstrip("-").isdigit() else value)
        return json.dumps(obj).encode()
    parts = _fields_csv(line)
    parts[rng.randrange(len(parts))] = value.encode()
    return b",".join(parts)


def _json_mutation(rng, line, op):
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # a line already made deep
        return line
    if not isinstance(obj, dict) or not obj:
        return line
    key = rng.choice(list(obj))
    if op == "json_type":
        obj[key] = rng.choice([None, [], {}, True, 1.5, -1, "x" * 100, [1, 2], {"a": 1}, 10 ** 30])
        return json.dumps(obj).encode()
    if op == "json_deep":
        return b'{"' + key.encode() + b'": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    return line[:-1] + b', "' + key.encode() + b'": "duplicate"}' if line.endswith(b"}") else line


def mutate_file(rng, lines, is_json):
    """A mutated file from base rows (`lines[0]` is the CSV header when not JSON)."""
    rows = list(lines)
    for _ in range(rng.choice([1, 1, 2, 3, 5, 10])):
        if not rows:
            break
        i = rng.randrange(len(rows))
        roll = rng.random()
        if roll < 0.15:
            rows.insert(i, rows[i])                         # duplicate row
        elif roll < 0.2:
            del rows[i]                                     # lost row (maybe the header)
        else:
            rows[i] = mutate_line(rng, rows[i], is_json)
    data = b"\n".join(rows) + rng.choice([b"\n", b"", b"\r\n", b"\n\n\n"])
    roll = rng.random()
    if roll < 0.03:
        data = b"\xef\xbb\xbf" + data
    elif roll < 0.05:
        data = data.replace(b"\n", b"\r\n")
    elif roll < 0.07:
        data = data[:rng.randrange(len(data) + 1)]
    elif roll < 0.08:
        data = b""
    return data


def csv_records(data):
    """CSV bytes cut into records: a newline inside a quoted field (an exported Call-ID
    with a folded line) stays in its record. (Cutting at every line break once sampled
    half-records and blamed the reader.)"""
    records, start, quoted = [], 0, False
    for i, c in enumerate(data):
        if c == 0x22:
            quoted = not quoted
        elif c == 0x0A and not quoted:
            records.append(data[start:i])
            start = i + 1
    if start < len(data):
        records.append(data[start:])
    return records


def _export(ctx, what, fmt):
    r = subprocess.run([ctx.binary, what, "export", "--format", fmt, "--data", ctx.daemon.data,
                        "--config", ctx.daemon.config_path], capture_output=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{what} export --format {fmt} failed ({r.returncode}): {r.stderr.decode()[:300]}")
    return csv_records(r.stdout) if fmt == "csv" else r.stdout.split(b"\n")[:-1] if r.stdout.endswith(b"\n") else r.stdout.split(b"\n")


def bases(ctx, rng, rows=200):
    """Base rows per input kind: (flag, extension, lines, is_json)."""
    out = []
    for what, flag in (("cdr", "--cdrs"), ("sms", "--messages")):
        for fmt in ("csv", "jsonl"):
            lines = _export(ctx, what, fmt)
            header, body = (lines[:1], lines[1:]) if fmt == "csv" else ([], lines)
            sample = rng.sample(body, min(rows, len(body))) if body else []
            out.append((flag, fmt, header + sample, fmt == "jsonl"))
    twofa = [json.dumps({"tenant": t, "time": f"2026-12-{d:02d}T10:00:00Z", "count": rng.randint(1, 50)}).encode()
             for t in ("fleet-client-001", "backup-general-001", "healthcare-client-001") for d in range(1, 29)]
    out.append(("--2fa", "jsonl", twofa, True))
    return out


def run_bill(ctx, flag, path, valid_cdrs):
    """(exit status or 'timeout', stdout bytes, stderr text)."""
    args = [ctx.binary, "bill", "--period", "2026-12", "--config", ctx.daemon.config_path, flag, path]
    if flag != "--cdrs":
        args += ["--cdrs", valid_cdrs]
    try:
        r = subprocess.run(args, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "timeout", b"", ""
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def _write(path, lines):
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")


def _record_at_line(records, line):
    """The index of the record holding physical line `line` (1-based) of the file."""
    seen = 0
    for i, r in enumerate(records):
        seen += r.count(b"\n") + 1
        if seen >= line:
            return i
    return len(records) - 1


def accepted_base(ctx, flag, path, lines, valid_cdrs):
    """Rates the unmutated base; a refusal of this run's own export is a finding. Returns
    the base trimmed of the rows the tool names as refused (file:line), so the mutants
    start from input it accepts, and the distinct refusal messages."""
    reasons = collections.Counter()
    for attempt in range(200):
        _write(path, lines)
        rc, out, err = run_bill(ctx, flag, path, valid_cdrs)
        if rc == 0 and out.strip():
            break
        if attempt == 0:
            ctx.findings.add("bill", f"bill {flag} refuses the unmutated export of this run's own records "
                                     f"(exit {rc}): {err.strip()[:300]}", data=b"\n".join(lines) + b"\n")
        m = re.search(re.escape(path) + r":(\d+):\s*(.*)", err)
        if rc == "timeout" or not m or not 1 <= int(m.group(1)) <= sum(r.count(b"\n") + 1 for r in lines):
            reasons[f"exit {rc}: {err.strip()[:160]}"] += 1
            break
        reasons[re.sub(r"'[^']*'", "'...'", m.group(2))[:120]] += 1
        del lines[_record_at_line(lines, int(m.group(1)))]
    return lines, reasons


def run(ctx, count):
    rng = phase_rng(ctx.seed, "bill")
    started = time.monotonic()
    directory = os.path.join(ctx.workdir, "bill")
    os.makedirs(directory, exist_ok=True)
    kinds = bases(ctx, rng)
    valid_cdrs = os.path.join(directory, "valid-cdrs.csv")
    _write(valid_cdrs, [kinds[0][2][0]])                    # header only: rates to zero calls
    trimmed, refusals = [], collections.Counter()
    for flag, ext, lines, is_json in kinds:
        path = os.path.join(directory, f"base{flag}.{ext}")
        rows, reasons = accepted_base(ctx, flag, path, list(lines), valid_cdrs)
        refusals.update({f"{flag} {ext}: {k}": v for k, v in reasons.items()})
        trimmed.append((flag, ext, rows, is_json))
        if flag == "--cdrs" and ext == "csv":
            _write(valid_cdrs, rows)
    codes, per_flag = collections.Counter(), collections.Counter()
    for i in range(count):
        flag, ext, lines, is_json = trimmed[i % len(trimmed)]
        data = mutate_file(rng, lines, is_json)
        if rng.random() < 0.05:
            ext = "csv" if ext == "jsonl" else "jsonl"
        path = os.path.join(directory, f"m{i}{flag}.{ext}")
        with open(path, "wb") as f:
            f.write(data)
        rc, out, _ = run_bill(ctx, flag, path, valid_cdrs)
        codes[rc] += 1
        per_flag[f"{flag}:{rc}"] += 1
        bad = rc == "timeout" or rc < 0 or rc >= 128 or (rc == 0 and not out.strip())
        if bad:
            why = "hung (60 s)" if rc == "timeout" else ("exit 0 with empty stdout" if rc == 0 else f"killed (status {rc})")
            ctx.findings.add("bill", f"bill {flag} on a mutated file: {why}", data=data)
        else:
            os.unlink(path)
    return {"files": count, "exit_codes": codes, "by_flag": per_flag,
            "base_rows": " ".join(f"{f}.{e}={len(r)}" for f, e, r, _ in trimmed),
            "rows_refused_in_unmutated_exports": refusals, "seconds": round(time.monotonic() - started, 1)}
