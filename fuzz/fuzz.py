#!/usr/bin/env python3
"""Black-box fuzz driver for the release tollfreed binary (issue 12, hardening).

    python3 fuzz/fuzz.py [--seed N] [--quick] [--only sip,rtp,texml,bill,http] [--binary PATH]

Starts the daemon on a temporary config and a loopback webhook, warms it up, takes an
RSS/fd baseline, then runs each phase followed by the checks of `checks.checkpoint`
(daemon alive, calls back to 0, a normal call works, RSS/fds within 5 %, no record lost).
Phases: sip (mutated SIP datagrams and RFC 4475 torture messages), rtp (RTP/RTCP
garbage to live calls), texml (fuzzed webhook documents, `tollfreed check`), bill
(mutated export files), http (the metrics endpoint). The seed is printed first;
`--seed N` replays the same inputs. Findings (with their inputs) go to
/tmp/fuzz-findings/. Exit status 0 only when every phase ran and nothing was found.
"""
import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checks  # noqa: E402
import phase_bill  # noqa: E402
import phase_http  # noqa: E402
import phase_rtp  # noqa: E402
import phase_sip  # noqa: E402
import phase_texml  # noqa: E402
from common import Findings, fmt_counter  # noqa: E402
from daemon import Daemon  # noqa: E402
from webhook import WebhookServer  # noqa: E402

PHASES = ["sip", "rtp", "texml", "bill", "http"]
FULL = {"sip": 100_000, "sip_rate": 4000, "rtp_calls": 20, "rtp": 50_000, "rtp_rate": 5000, "texml": 10_000,
        "texml_conc": 20, "texml_warm": 1000, "texml_check": 200, "bill": 1000, "http_rounds": 20, "slow": 80, "slow_s": 6.0,
        "record_s": 17, "settle_s": 120}
QUICK = {"sip": 5000, "sip_rate": 3000, "rtp_calls": 6, "rtp": 5000, "rtp_rate": 3000, "texml": 400,
         "texml_conc": 20, "texml_warm": 200, "texml_check": 30, "bill": 80, "http_rounds": 2, "slow": 70, "slow_s": 6.0,
         "record_s": 0, "settle_s": 90}


def parse_args():
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None, help="replay this seed (default: random)")
    p.add_argument("--quick", action="store_true", help="smoke sizes (CI)")
    p.add_argument("--only", default=",".join(PHASES), help="comma-separated phases: " + ",".join(PHASES))
    p.add_argument("--binary", default=None, help="tollfreed binary (default .build/release/tollfreed)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    args.phases = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = [x for x in args.phases if x not in PHASES]
    if unknown:
        p.error(f"unknown phase(s) {unknown}; choose from {PHASES}")
    return args


def dead_port():
    """A UDP port nobody listens on (bound, then released): <Dial> targets end there."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_phase(ctx, name, size):
    """Runs one phase; returns its figures."""
    if name == "sip":
        return phase_sip.run(ctx, size["sip"], size["sip_rate"])
    if name == "rtp":
        figures = phase_rtp.run(ctx, size["rtp_calls"], size["rtp"], size["rtp_rate"])
        ids = set(figures.pop("call_ids", []))
        if ids:
            recs = [r for r in ctx.daemon.records() if r.get("sip_call_id") in ids]
            figures["records_rtp_received"] = sum(r.get("rtp_received", 0) for r in recs)
            figures["records_rtp_dropped"] = sum(r.get("rtp_dropped", 0) for r in recs)
        return figures
    if name == "texml":
        return phase_texml.run(ctx, size["texml"], size["texml_conc"], size["texml_check"])
    if name == "bill":
        return phase_bill.run(ctx, size["bill"])
    return phase_http.run(ctx, size["http_rounds"], size["slow"], size["slow_s"])


class PeakSampler:
    """Samples the daemon's RSS and fd count every 100 ms while a phase runs."""

    def __init__(self, daemon):
        self.daemon, self.rss, self.fds = daemon, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                self.rss = max(self.rss, self.daemon.rss_kib())
                self.fds = max(self.fds, self.daemon.fd_count())
            except (OSError, ValueError):
                pass
            self.stop.wait(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(2)


def show(title, figures):
    """Prints one block of figures, counters as k=v lists."""
    print(f"== {title}", flush=True)
    for key, value in figures.items():
        if hasattr(value, "items"):
            value = fmt_counter(value)
        print(f"   {key}: {value}", flush=True)


def main():
    """Runs the selected phases; 0 only when all ran and nothing was found."""
    args = parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    size = QUICK if args.quick else FULL
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = os.path.abspath(args.binary or os.path.join(repo, ".build/release/tollfreed"))
    print(f"fuzz: seed {seed} (replay: fuzz/fuzz.py --seed {seed}{' --quick' if args.quick else ''}"
          f" --only {','.join(args.phases)}); binary {binary}", flush=True)
    if not os.access(binary, os.X_OK):
        print(f"fuzz: FAIL: no executable at {binary} (build it: make build)")
        return 2
    workdir = tempfile.mkdtemp(prefix=f"tollfreed-fuzz-{seed}-")
    findings = Findings(seed)
    dport = dead_port()
    webhook = WebhookServer(seed, dport)
    daemon = Daemon(binary, repo, workdir, webhook.url, dport)
    ctx = checks.Context(seed, binary, workdir, findings, daemon, webhook, dport)
    ctx.settle_s = size["settle_s"]
    started, completed, status = time.monotonic(), [], None
    try:
        daemon.start()
        print(f"fuzz: daemon pid {daemon.proc.pid}, SIP 127.0.0.1:{daemon.sip_port}, RTP {daemon.rtp_low}-"
              f"{daemon.rtp_high}, metrics {daemon.metrics_port}, webhook {webhook.url}, work dir {workdir}", flush=True)
        ctx.texml_warm = size["texml_warm"] if "texml" in args.phases else 0
        checks.warm_up(ctx, size["record_s"], ctx.texml_warm)
        rss, fds = checks.take_baseline(ctx)
        print(f"fuzz: baseline after warm-up: RSS {rss} KiB, {fds} fds", flush=True)
        for name in args.phases:
            t = time.monotonic()
            with PeakSampler(daemon) as peak:
                figures = run_phase(ctx, name, size)
            figures["phase_seconds"] = round(time.monotonic() - t, 1)
            figures["rss_peak_kib"], figures["fds_peak"] = peak.rss, peak.fds
            show(f"phase {name}", figures)
            show(f"checks after {name}", checks.checkpoint(ctx, name))
            completed.append(name)
    except Exception as e:  # a crash of the driver is a failed run, never a pass
        findings.add("driver", f"fuzz driver error: {type(e).__name__}: {e}",
                     log_excerpt=daemon.log_tail(30) if os.path.exists(daemon.log_path) else None)
    finally:
        status = daemon.stop()
        webhook.close()
    if status != 0:
        findings.add("stop", f"daemon exit status after SIGTERM: {status} (expected 0)", log_excerpt=daemon.log_tail(30))
    elapsed = round(time.monotonic() - started, 1)
    print(f"fuzz: daemon stopped with status {status}; {len(findings)} finding(s); {elapsed} s", flush=True)
    for phase, message, path in findings.items:
        print(f"   [{phase}] {message}\n      {path}")
    ok = not findings.items and completed == args.phases
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    verdict = "PASS" if ok else "FAIL"
    print(f"fuzz: {verdict}: seed {seed}, phases {','.join(completed) or '-'} of {','.join(args.phases)}, "
          f"{len(findings)} finding(s), {elapsed} s" + ("" if ok else f", work dir {workdir}"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
