"""Phase `texml`: calls to the webhook number while the webhook serves fuzzed documents,
then `tollfreed check` on a sample of the same generator's documents.

Each call: INVITE; on 200, ACK, sometimes hold up to 1.5 s, BYE (a daemon BYE is
answered and counts as the end); 4xx-6xx are ACKed and counted. At most `concurrency`
calls are in flight.
"""
import collections
import os
import subprocess
import threading
import time

import sipua
import texml_attacks
from common import item_rng, status_class
from daemon import WEBHOOK_DID


class Tally:
    """Thread-safe counters and the Call-IDs to check against the records."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.invite = collections.Counter()
        self.completed = []
        self.refused = []
        self.problems = []
        self.next = 0

    def take(self, limit):
        """The next call index, or None once `limit` calls were taken."""
        with self.lock:
            if self.next >= limit:
                return None
            self.next += 1
            return self.next - 1


def one_call(ctx, tally, index):
    """One call to the webhook number; records its outcome in `tally`."""
    rng = item_rng(ctx.seed, "texml-call", index)
    call = sipua.Call(ctx.daemon.sip_port, "fzx")
    try:
        status = call.invite(WEBHOOK_DID, timeout=15)
        with tally.lock:
            tally.invite[status_class(status)] += 1
        if status is None:
            with tally.lock:
                tally.problems.append(f"INVITE {call.call_id}: no final response in 15 s")
            return
        if status != 200:
            if status != 503:
                with tally.lock:
                    tally.refused.append(call.call_id)
            return
        hold = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1.5])
        end = time.monotonic() + hold
        while time.monotonic() < end and not call.ended_by_daemon:
            call.poll()
            call.drain_rtp()
            time.sleep(0.05)
        call.poll()
        bye = None if call.ended_by_daemon else call.bye(timeout=8)
        _tally_end(tally, call, bye)
    finally:
        call.close()


def _tally_end(tally, call, bye):
    with tally.lock:
        if call.ended_by_daemon:
            tally.counts["ended_by_daemon"] += 1
            tally.completed.append(call.call_id)
        elif bye == 200:
            tally.counts["bye_200"] += 1
            tally.completed.append(call.call_id)
        else:
            tally.counts[f"bye_{bye}"] += 1
            tally.problems.append(f"BYE {call.call_id}: answered {bye}")


def worker(ctx, tally, count, deadline):
    """Places calls until `count` were taken, the deadline passes or the daemon dies."""
    while time.monotonic() < deadline and ctx.daemon.alive():
        index = tally.take(count)
        if index is None:
            return
        try:
            one_call(ctx, tally, index)
        except OSError as e:
            with tally.lock:
                tally.problems.append(f"call {index}: {e}")


def check_samples(ctx, base, dead_port, samples):
    """Runs `tollfreed check` on `samples` generated documents; counts exit statuses."""
    directory = os.path.join(ctx.workdir, "texml-check")
    os.makedirs(directory, exist_ok=True)
    codes, killed = collections.Counter(), []
    for i in range(samples):
        body, kind = texml_attacks.check_sample(item_rng(ctx.seed, "texml-check", i), base, dead_port)
        path = os.path.join(directory, f"doc{i}-{kind}.xml")
        with open(path, "wb") as f:
            f.write(body)
        try:
            r = subprocess.run([ctx.binary, "check", path], capture_output=True, timeout=60)
            rc = r.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        codes[rc] += 1
        if rc == "timeout" or rc < 0 or rc >= 128:
            killed.append((path, rc))
        else:
            os.unlink(path)
    return codes, killed


def _check_streams(ctx, streams):
    """The daemon must stop reading a 50 MB answer near 64 KiB; loopback socket buffers
    hold a few MiB, so more than 8 MiB taken means it read on."""
    over = [(h, n) for h, n in streams if n > 8 * 1024 * 1024]
    if over:
        with_cl = sum(1 for h, _ in over if h)
        ctx.findings.add("texml", f"webhook answers of 50 MB were read far past the 64 KiB limit: {len(over)} of "
                                  f"{len(streams)} (with Content-Length {with_cl}, without {len(over) - with_cl}) "
                                  f"were taken whole or nearly ({max(n for _, n in over)} bytes); the phase's RSS "
                                  f"peak shows the cost", log_excerpt="\n".join(ctx.daemon.log_grep("longer than", 0, 5)))


def run(ctx, count, concurrency, samples):
    """`count` calls with at most `concurrency` in flight, then the `check` sample."""
    ctx.webhook.set_mode("fuzz")
    tally = Tally()
    started = time.monotonic()
    deadline = started + max(120, count / 10)
    threads = [threading.Thread(target=worker, args=(ctx, tally, count, deadline)) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx.webhook.set_mode("plain")
    elapsed = time.monotonic() - started
    if not ctx.daemon.alive():
        ctx.findings.add("texml", f"daemon died (exit status {ctx.daemon.exit_status()}) during the webhook calls",
                         log_excerpt=ctx.daemon.log_tail(60))
        ctx.daemon.start()
    if tally.next < count:
        ctx.findings.add("texml", f"only {tally.next} of {count} calls placed within the time bound")
    for p in tally.problems[:20]:
        ctx.findings.add("texml", p, log_excerpt="\n".join(ctx.daemon.log_grep(p.split()[1].rstrip(":")[:40], 0, 20)))
    ctx.expect_records(tally.completed, "texml")
    ctx.expect_records(tally.refused, "texml", refused=True)
    codes, killed = check_samples(ctx, ctx.webhook.httpd.base, ctx.dead_port, samples)
    for path, rc in killed:
        ctx.findings.add("texml", f"`tollfreed check` died by a signal or hung ({rc}) on {path}", data=open(path, "rb").read()[:1 << 20])
    web = ctx.webhook.stats()
    _check_streams(ctx, web["streams"])
    return {"calls": tally.next, "invite_final": tally.invite, "ends": tally.counts, "completed": len(tally.completed),
            "refused_with_record": len(tally.refused), "problems": len(tally.problems),
            "documents_served": web["requests"], "document_kinds": web["kinds"],
            "answers_cut_by_daemon": web["aborted"],
            "50MB_answers_bytes_taken": " ".join(f"{'CL' if h else 'noCL'}:{n}" for h, n in web["streams"]),
            "check_samples": samples, "check_exit_codes": codes, "seconds": round(elapsed, 1)}
