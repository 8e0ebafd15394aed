"""Shared pieces of the fuzz driver: findings, counters, small helpers.

A *finding* is anything the daemon did wrong (crash, leak, lost record, hang, starved
probe). Each is printed at once, saved under the findings directory together with the
input that triggered it, and makes the run exit non-zero.
"""
import os
import random
import time

FINDINGS_DIR = "/tmp/fuzz-findings"


class Findings:
    """Collects findings of one run and saves their inputs under FINDINGS_DIR."""

    def __init__(self, seed, directory=FINDINGS_DIR):
        self.seed = seed
        self.directory = directory
        self.items = []

    def add(self, phase, message, data=None, log_excerpt=None):
        """Records a finding; `data` (bytes or str, or a list of them) is the input."""
        os.makedirs(self.directory, exist_ok=True)
        n = len(self.items) + 1
        stem = os.path.join(self.directory, f"seed{self.seed}-{phase}-{n}")
        saved = []
        blobs = data if isinstance(data, list) else ([data] if data is not None else [])
        for i, blob in enumerate(blobs):
            path = f"{stem}-input{i}.bin"
            with open(path, "wb") as f:
                f.write(blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob)
            saved.append(path)
        with open(stem + ".txt", "w") as f:
            f.write(f"phase: {phase}\nseed: {self.seed}\nfinding: {message}\n")
            if saved:
                f.write("inputs: " + " ".join(saved) + "\n")
            if log_excerpt:
                f.write("--- daemon log excerpt ---\n" + log_excerpt + "\n")
        self.items.append((phase, message, stem + ".txt"))
        print(f"FINDING [{phase}] {message} (details: {stem}.txt)", flush=True)

    def __len__(self):
        return len(self.items)


def phase_rng(seed, phase):
    """A random generator for one phase, so `--seed N --only PHASE` replays it alone."""
    return random.Random(f"{seed}:{phase}")


def item_rng(seed, phase, index):
    """A generator for one item of a phase (used where threads consume items in any order)."""
    return random.Random(f"{seed}:{phase}:{index}")


class RateLimiter:
    """Bounds a loop to `rate` iterations per second (sleeps in small steps)."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()
        self.count = 0

    def tick(self):
        self.count += 1
        due = self.start + self.count / self.rate
        delay = due - time.monotonic()
        if delay > 0.002:
            time.sleep(delay)


def status_class(code):
    """'2xx' for 200, 'none' for None."""
    if not code:
        return "none"
    return f"{code // 100}xx"


def fmt_counter(counter):
    """A Counter as 'k=v k=v' sorted by key."""
    return " ".join(f"{k}={v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))) or "-"
