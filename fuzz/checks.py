"""The run's context and the checks after every phase.

After each phase: the daemon is alive, `tollfreed_calls_active` returns to 0, a normal
call still works (healthcare number and the webhook number), RSS and open file
descriptors come back within 5 % of their level before the phase (the first level is
the baseline after the warm-up; the drift from it is reported too), polled up to
SETTLE_S (Sofia keeps transactions 32 s, ended calls' legs and dialogs up to 40 s more, and the
daemon trims malloc every 30 s), and every call the fuzzer completed or saw refused has
exactly one record, with no record left `active`. RSS is checked upwards only (less
memory than before is no leak); descriptors both ways (a lost listener shows as fewer).

The prompt and play caches are the stores that may keep a phase's memory by design: they
hold synthesised prompts and decoded <Play> audio (up to their byte budgets, 32 and
64 MiB, oldest evicted first), and the texml phase makes one prompt and URL in four
unique. What they grew by, as the daemon reports it in `tollfreed_prompt_cache_bytes` and
`tollfreed_play_cache_bytes`, is taken off the RSS before the 5 % check; the figures show
both, and the caches can only account for the audio they hold, never for more.

Each check also prints the heap as malloc reports it (`tollfreed_heap_in_use_bytes` and
`tollfreed_heap_free_bytes`, glibc's mallinfo2): in use growing with every phase is a
leak; RSS held while the heap in use falls back is fragmentation. Measured on the texml
phase (seed 2437053430, heaptrack attached after the warm-up): the heap peaks 9-11 MiB
above the baseline during a phase and falls back to within 1 MiB over the next 70 s
(Sofia's transactions and dialogs), but the pages freed last sit between live blocks, so
RSS stays 6-10 MiB up; the daemon fixes malloc's mmap threshold (128 KiB) so recording
buffers no longer come from the arenas, which took a phase's retained RSS from 6.4-10 MiB
to 6.0-6.2 MiB and the idle RSS down by 6 MiB.
"""
import collections
import os
import random
import socket
import threading
import time

import sipmut
import sipua
from common import RateLimiter
from daemon import WEBHOOK_DID

SETTLE_S = 120  # fuzz.py sets 60 for --quick
TEXML_WARM_CONCURRENCY = 20
TOLERANCE = 0.05


class Context:
    """Everything a phase needs: seed, daemon, webhook, findings, records expected."""

    def __init__(self, seed, binary, workdir, findings, daemon, webhook, dead_port):
        self.seed, self.binary, self.workdir = seed, binary, workdir
        self.findings, self.daemon, self.webhook, self.dead_port = findings, daemon, webhook, dead_port
        self.expected = {}          # sip Call-ID -> phase that expects exactly one record
        self.baseline = None        # (rss KiB, fds)
        self.baseline_start = 0     # daemon start the baseline belongs to
        self.baseline_memory = {}   # VmRSS, RssAnon, RssFile at the baseline
        self.before = None          # (rss, fds) settled after the previous phase
        self.cache_before = 0       # prompt cache KiB at `before`
        self.handles_before = 0     # Sofia handles alive at the baseline (tollfreed_sip_handles)
        self.texml_warm = 0         # fuzzed webhook calls in the warm-up
        self.settle_s = SETTLE_S

    def expect_records(self, call_ids, phase, refused=False):
        for cid in call_ids:
            self.expected[cid] = phase + (" (refused)" if refused else "")


def _rtp_out(call, seconds):
    """Sends PCMU noise to the daemon for `seconds` while answering its SIP."""
    seq, end = 0, time.monotonic() + seconds
    while time.monotonic() < end and not call.ended_by_daemon:
        header = bytes([0x80, 0, seq >> 8 & 0xFF, seq & 0xFF]) + (seq * 160).to_bytes(4, "big") + b"\x12\x34\x56\x78"
        call.rtp.sendto(header + os.urandom(160), ("127.0.0.1", call.daemon_rtp_port))
        seq += 1
        call.poll()
        call.drain_rtp()
        time.sleep(0.02)


def _ack_for(response, dport):
    """The ACK of a non-2xx final response (same branch; To with the response's tag)."""
    first, headers, _ = sipua.parse_message(response)
    keep = [f"{n.title()}: {headers[n]}" for n in ("via", "from", "to", "call-id") if n in headers]
    cseq = headers.get("cseq", "1 INVITE").split()[0]
    return ("\r\n".join([f"ACK sip:x@127.0.0.1:{dport} SIP/2.0", *keep, f"CSeq: {cseq} ACK", "Max-Forwards: 70",
                          "Content-Length: 0"]) + "\r\n\r\n").encode()


def warm_records(ctx, count, rate=2000):
    """`count` INVITEs to an unknown number (404, each with its record), ACKed: fills the
    record store's page cache once, so its bounded growth is not taken for a leak."""
    d = ctx.daemon
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    rng, port, answered = random.Random(ctx.seed), s.getsockname()[1], 0
    limiter = RateLimiter(rate)
    end = None
    for i in range(count + 1_000_000):
        if i < count:
            lines, body = sipmut.template(rng, "INVITE", "5550000000", port, d.sip_port)
            s.sendto(sipmut.assemble(lines, body), ("127.0.0.1", d.sip_port))
            limiter.tick()
        elif end is None:
            end = time.monotonic() + 5
        elif time.monotonic() > end or answered >= count:
            break
        else:
            time.sleep(0.01)
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            if data.startswith(b"SIP/2.0 4") or data.startswith(b"SIP/2.0 5"):
                answered += 1
                s.sendto(_ack_for(data, d.sip_port), ("127.0.0.1", d.sip_port))
    s.close()
    return answered


def _recorded_call(ctx, seconds, did="8005963057"):
    """A call held `seconds` with audio, so its flow's Record runs and is transcribed."""
    call = sipua.Call(ctx.daemon.sip_port, "fzwarm")
    if call.invite(did) == 200:
        _rtp_out(call, seconds)
        if call.ended_by_daemon or call.bye() == 200:
            ctx.expect_records([call.call_id], "warm-up")
    call.close()


def _webhook_recording(ctx):
    """A webhook call whose flow records 2 s at once and transcribes: loads the speech
    model (held for the daemon's life) in a few seconds."""
    ctx.webhook.set_mode("record")
    try:
        _recorded_call(ctx, 4, WEBHOOK_DID)
    finally:
        ctx.webhook.set_mode("plain")


def warm_up(ctx, record_seconds, texml_docs=0):
    """Exercises every path once (calls on each number, recordings with their transcription
    (the healthcare one, sealed, only when `record_seconds`),
    the webhook, MESSAGE, OPTIONS, 4,000 refused INVITEs with their records, and
    `texml_docs` fuzzed webhook calls at the texml phase's concurrency) so one-time
    initialisation and bounded caches are not counted as a leak.

    The webhook calls are there because the first burst of them raises the heap's
    high-water mark once (espeak-ng's other voice and language, the webhook thread's and
    the synthesis thread's malloc arenas at 20 calls at a time): measured with seed 11,
    1,000 documents grew RSS by 11.7 MiB of which malloc held only 2 MiB more in use, and
    the next 1,000 by 0.5 MiB (`malloc_stats`). A leak grows with every burst; this did not."""
    d = ctx.daemon
    _webhook_recording(ctx)
    recorded = threading.Thread(target=_recorded_call, args=(ctx, record_seconds))
    if record_seconds:
        recorded.start()
    for did in ("8005963057", "8888046762", "2082792555", WEBHOOK_DID):
        ok, detail, cid = sipua.normal_call(d.sip_port, did, hold=0.3, tag="fzwarm")
        if not ok:
            raise RuntimeError(f"warm-up call to {did} failed: {detail}")
        ctx.expect_records([cid], "warm-up")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    rng = random.Random(ctx.seed)
    for method in ("MESSAGE", "OPTIONS"):
        lines, body = sipmut.template(rng, method, "8005963057", s.getsockname()[1], d.sip_port)
        s.sendto(sipmut.assemble(lines, body), ("127.0.0.1", d.sip_port))
    s.close()
    warm_records(ctx, 4000)
    if record_seconds:
        recorded.join()
    if texml_docs:
        import phase_texml  # here: phase_texml's checks come from this module
        phase_texml.run(ctx, texml_docs, TEXML_WARM_CONCURRENCY, 0)
    d.wait_idle(60)
    time.sleep(3)


def audio_caches_kib(daemon):
    """The audio caches' bytes (prompts and Play) in KiB as the daemon reports them."""
    total = 0
    for name in ("tollfreed_prompt_cache_bytes", "tollfreed_play_cache_bytes"):
        value = daemon.metric(name)
        total += int(value // 1024) if value else 0
    return total


def take_baseline(ctx, window=36):
    """RSS and fds after the warm-up has been released: sampled every 2 s for `window`
    seconds (more than one 30 s malloc_trim period); the least of the last three samples."""
    d = ctx.daemon
    samples = []
    end = time.monotonic() + window
    while time.monotonic() < end:
        time.sleep(2)
        samples.append(d.rss_kib())
    ctx.baseline = (min(samples[-3:]), d.fd_count())
    ctx.baseline_memory = d.memory()
    ctx.baseline_start = d.starts
    ctx.before = ctx.baseline
    ctx.cache_before = audio_caches_kib(d)
    ctx.handles_before = d.metric("tollfreed_sip_handles") or 0
    ctx.heap_before = heap_kib(d)
    return ctx.baseline


def heap_kib(daemon):
    """(in use, freed but held) heap in KiB as the allocator reports them (mallinfo2)."""
    return tuple(int((daemon.metric(n) or 0) // 1024) for n in ("tollfreed_heap_in_use_bytes", "tollfreed_heap_free_bytes"))


def _within(rss, fds, base):
    return rss <= base[0] * (1 + TOLERANCE) and abs(fds - base[1]) <= base[1] * TOLERANCE


def settle(ctx):
    """Polls RSS/fds until back within tolerance of the level before the phase (max
    SETTLE_S), the prompt cache's growth taken off the RSS; returns the figures, with
    the drift from the first baseline."""
    d, before = ctx.daemon, ctx.before

    def sample():
        cache = audio_caches_kib(d)
        rss = d.rss_kib()
        return rss, d.fd_count(), cache, rss - max(0, cache - ctx.cache_before), d.metric("tollfreed_sip_handles") or 0

    def settled(held, fds, handles):
        return _within(held, fds, before) and handles <= ctx.handles_before

    first = sample()
    start = time.monotonic()
    rss, fds, cache, held, handles = first
    while not settled(held, fds, handles) and time.monotonic() - start < ctx.settle_s and d.alive():
        time.sleep(2)
        rss, fds, cache, held, handles = sample()
    mem, base = d.memory(), ctx.baseline_memory
    heap = heap_kib(d)
    out = {"heap_in_use_kib": f"{ctx.heap_before[0]} -> {heap[0]}", "heap_free_held_kib": f"{ctx.heap_before[1]} -> {heap[1]}",
           "sip_handles": f"{ctx.handles_before:.0f} -> {handles:.0f}", "handles_back": handles <= ctx.handles_before,
           "rss_before": before[0], "rss_after_phase": first[0], "rss_settled": rss,
           "audio_caches_kib": f"{ctx.cache_before} -> {cache}", "rss_settled_less_cache_growth": held,
           "fds_before": before[1], "fds_after_phase": first[1], "fds_settled": fds,
           "settle_s": round(time.monotonic() - start, 1), "within_5pct": _within(held, fds, before),
           "rss_since_first_baseline": f"{ctx.baseline[0]} -> {rss} KiB ({(rss / ctx.baseline[0] - 1) * 100:+.1f} %)",
           "anon_file_since_first_baseline": f"anon {base.get('RssAnon')} -> {mem.get('RssAnon')}, "
                                             f"file {base.get('RssFile')} -> {mem.get('RssFile')} KiB"}
    ctx.before = (rss, fds)
    ctx.cache_before = cache
    ctx.heap_before = heap
    return out


def check_records(ctx, phase):
    """Exactly one record per expected Call-ID, none active. Returns the figures."""
    for attempt in range(10):
        records = ctx.daemon.records()
        count = collections.Counter(r.get("sip_call_id") for r in records)
        lost = [c for c in ctx.expected if count[c] == 0]
        dup = [c for c in ctx.expected if count[c] > 1]
        active = [r for r in records if r.get("disposition") == "active"]
        if not (lost or active) or attempt == 9:
            break
        time.sleep(1)
    if lost:
        ctx.findings.add(phase, f"{len(lost)} record(s) lost, e.g. {lost[:5]} (from phases "
                                f"{sorted(set(ctx.expected[c] for c in lost))})",
                         log_excerpt="\n".join(ctx.daemon.log_grep(lost[0].split("@")[0], 0, 20)))
    if dup:
        ctx.findings.add(phase, f"{len(dup)} Call-ID(s) with more than one record, e.g. {dup[:5]}")
    if active:
        ctx.findings.add(phase, f"{len(active)} record(s) still active after the daemon went idle, e.g. "
                                f"{[(r['call_id'], r['sip_call_id']) for r in active[:5]]}")
    return {"records_total": len(records), "records_checked": len(ctx.expected), "lost": len(lost),
            "duplicated": len(dup), "active": len(active)}


def checkpoint(ctx, phase):
    """Every check after a phase; findings are recorded, figures returned."""
    d, out = ctx.daemon, {}
    if not d.alive():
        ctx.findings.add(phase, f"daemon not running after the phase (exit status {d.exit_status()})",
                         log_excerpt=d.log_tail(60))
        d.start()
    out["calls_active"] = d.wait_idle(60)
    if out["calls_active"] != 0:
        ctx.findings.add(phase, f"tollfreed_calls_active still {out['calls_active']} 60 s after the phase")
    calls = []
    for did in ("8005963057", WEBHOOK_DID):
        ok, detail, cid = sipua.normal_call(d.sip_port, did, tag="fzcheck")
        calls.append(ok)
        if ok:
            ctx.expect_records([cid], "check")
        else:
            ctx.findings.add(phase, f"normal call after the phase failed: {detail}",
                             log_excerpt="\n".join(d.log_grep(cid.split("@")[0], 0, 20)))
    out["normal_calls_ok"] = f"{sum(calls)}/{len(calls)}"
    d.wait_idle(30)
    if ctx.baseline_start != d.starts:
        out["note"] = "daemon was restarted: new baseline"
        warm_up(ctx, 0, ctx.texml_warm)
        take_baseline(ctx)
    out.update(settle(ctx))
    if not out["within_5pct"]:
        ctx.findings.add(phase, f"RSS/fds not back within 5 % of the level before the phase after {out['settle_s']} s: "
                                f"RSS {out['rss_before']} -> {out['rss_settled']} KiB ({out['rss_settled_less_cache_growth']} less the audio "
                                f"caches' growth {out['audio_caches_kib']} KiB; peak {out['rss_after_phase']} at "
                                f"the phase's end), fds {out['fds_before']} -> {out['fds_settled']}; "
                                f"{out['anon_file_since_first_baseline']}; heap in use {out['heap_in_use_kib']} KiB, "
                                f"freed but held by malloc {out['heap_free_held_kib']} KiB", log_excerpt=d.log_tail(20))
    if not out["handles_back"]:
        ctx.findings.add(phase, f"SIP handles not back to the baseline after {out['settle_s']} s: {out['sip_handles']} "
                                f"(dialogs Sofia still holds with no call: a leak)", log_excerpt=d.log_tail(20))
    out.update(check_records(ctx, phase))
    return out
