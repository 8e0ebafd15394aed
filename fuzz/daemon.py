"""Starting, watching and stopping the release daemon under test.

The daemon runs on a temporary config derived from Config/tollfreed.json: the repository's
flows, ephemeral metrics port, no ring, no drain, a short ACK timeout, no per-source INVITE
rate or half-open limit (so mutants reach the parsers), and one extra number whose flow is
the fuzzer's own loopback webhook. Its stderr goes to a log file in the work directory.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

WEBHOOK_DID = "+18335550199"
WEBHOOK_TENANT = "backup-general-001"


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (bound and released)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def rtp_range(size):
    """An even-aligned UDP port range below the ephemeral range, mostly unused."""
    for base in range(10000, 30000 - size, 1000):
        busy = 0
        for port in range(base, base + size, max(1, size // 20)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                busy += 1
            finally:
                s.close()
        if busy == 0:
            return base, base + size - 1
    return 10000, 10000 + size - 1


class Daemon:
    """One tollfreed process (restartable on the same data directory)."""

    def __init__(self, binary, repo, workdir, webhook_url, dead_port, rtp_size=8000):
        self.binary = binary
        self.repo = repo
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, "tollfreed.json")
        self.log_path = os.path.join(workdir, "daemon.log")
        self.sip_port = free_port()
        self.rtp_low, self.rtp_high = rtp_range(rtp_size)
        self.proc = None
        self.metrics_port = None
        self.starts = 0
        os.makedirs(self.data, exist_ok=True)
        self._write_config(webhook_url, dead_port)

    def _write_config(self, webhook_url, dead_port):
        """The shipped config with the fuzz settings; plans.json copied next to it."""
        with open(os.path.join(self.repo, "Config/tollfreed.json")) as f:
            cfg = json.load(f)
        cfg["flows_dir"] = os.path.join(self.repo, "CallFlows")
        cfg["data_dir"] = self.data
        cfg["metrics"] = {"listen": "127.0.0.1:0"}
        cfg["control"] = {"socket": os.path.join(self.data, "control.sock")}
        cfg["sip"]["invite_rate_per_source"] = 0
        cfg["calls"].update({"ring_ms": 0, "drain_s": 0, "ack_timeout_ms": 1000,
                             "half_open_per_source": 0, "half_open_max": 0})
        cfg["media"]["pacer_priority"] = 0
        cfg["webhooks"] = {"timeout_ms": 2000}
        # <Dial><Number> and the shipped flows' agents go to a closed loopback port.
        cfg["trunks"] = [{"name": "local-carrier", "uri": f"sip:{{number}}@127.0.0.1:{dead_port}"}]
        cfg["numbers"].append({"did": WEBHOOK_DID, "tenant": WEBHOOK_TENANT, "flow": webhook_url,
                               "fallback_flow": "general-business.xml"})
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        shutil.copy(os.path.join(self.repo, "Config/plans.json"), os.path.join(self.workdir, "plans.json"))

    def start(self, timeout=60):
        """Starts the daemon and waits for its daemon.ready line; returns its pid."""
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"=== fuzz: start #{self.starts} ===\n".encode())
        log.flush()
        offset = log.tell()
        args = [self.binary, "run", "--config", self.config_path, "--sip", f"127.0.0.1:{self.sip_port}",
                "--rtp-ports", f"{self.rtp_low}-{self.rtp_high}", "--data", self.data]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self._read_log(offset)
            m = re.search(r"daemon\.ready.*?metrics=127\.0\.0\.1:(\d+)", text)
            if m:
                self.metrics_port = int(m.group(1))
                return self.proc.pid
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"daemon did not start (status {self.proc.poll()}):\n{self.log_tail()}")

    def _read_log(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_tail(self, lines=40, since=None):
        """The last `lines` lines of the log (optionally only what came after byte `since`)."""
        with open(self.log_path, "rb") as f:
            if since is not None:
                f.seek(since)
            else:
                f.seek(max(0, os.path.getsize(self.log_path) - 200_000))
            text = f.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_grep(self, pattern, since=0, limit=20):
        """Up to `limit` log lines after byte `since` matching the regex `pattern`."""
        out = []
        with open(self.log_path, "rb") as f:
            f.seek(since)
            for raw in f:
                line = raw.decode("utf-8", "replace")
                if re.search(pattern, line):
                    out.append(line.rstrip())
                    if len(out) >= limit:
                        break
        return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self):
        return None if self.proc is None else self.proc.poll()

    def memory(self):
        """{'VmRSS', 'RssAnon', 'RssFile'} in KiB from /proc/PID/status (RssAnon is the
        private heap; RssFile mostly library pages, which grow as new code paths run)."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(line.split()[1])
        return out

    def rss_kib(self):
        return self.memory().get("VmRSS", 0)

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def http_get(self, path, timeout=5.0):
        """(status, body) from the metrics server, or (None, error text)."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, ""
        except (OSError, ValueError) as e:
            return None, str(e)

    def metric(self, name):
        """The value of an unlabelled metric, or None."""
        status, body = self.http_get("/metrics")
        if status != 200:
            return None
        m = re.search(rf"^{re.escape(name)} ([0-9.eE+-]+)$", body, re.M)
        return float(m.group(1)) if m else None

    def wait_idle(self, timeout=60):
        """Waits until tollfreed_calls_active is 0; returns the last value seen."""
        end = time.monotonic() + timeout
        value = None
        while time.monotonic() < end and self.alive():
            value = self.metric("tollfreed_calls_active")
            if value == 0:
                return 0
            time.sleep(0.5)
        return value

    def records(self):
        """Every call record (cdr export --format jsonl), as dicts."""
        r = subprocess.run([self.binary, "cdr", "export", "--format", "jsonl", "--data", self.data,
                            "--config", self.config_path], capture_output=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"cdr export failed ({r.returncode}): {r.stderr.decode(errors='replace')[:500]}")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def stop(self, timeout=60):
        """SIGTERM, then the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode
