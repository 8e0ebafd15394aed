"""Phase `sip`: mutated SIP datagrams (and every RFC 4475 torture message) from several
local sockets at a bounded rate; replies are read, classed and dropped.

If the daemon dies, the last datagrams sent are saved as the finding's input and the
daemon is restarted on the same data directory, so the phase (and the run) goes on.
"""
import collections
import socket
import time

import sipmut
import torture
from common import RateLimiter, phase_rng, status_class

SOCKETS = 8
RING = 300


def _drain(socks, replies):
    """Reads every pending datagram; counts responses by class and daemon requests."""
    for s in socks:
        while True:
            try:
                data = s.recv(65535)
            except (BlockingIOError, OSError):
                break
            if data.startswith(b"SIP/2.0 "):
                try:
                    replies[status_class(int(data[8:11]))] += 1
                except ValueError:
                    replies["bad"] += 1
            else:
                replies["requests_from_daemon"] += 1


def _send(sock, data, port, stats):
    for _ in range(3):
        try:
            sock.sendto(data, ("127.0.0.1", port))
            stats["sent"] += 1
            return
        except BlockingIOError:
            time.sleep(0.001)
        except OSError as e:
            if e.errno == 90:  # EMSGSIZE: larger than a UDP datagram may be
                stats["too_big"] += 1
                return
            time.sleep(0.001)
    stats["send_failed"] += 1


def _check_alive(ctx, ring, stats, phase):
    """True while the daemon lives; on death records the finding and restarts it."""
    daemon = ctx.daemon
    if daemon.alive():
        return True
    status = daemon.exit_status()
    ctx.findings.add(phase, f"daemon died (exit status {status}) after {stats['sent']} datagrams; "
                            f"the last {len(ring)} datagrams are saved", data=list(ring),
                     log_excerpt=daemon.log_tail(60))
    stats["daemon_restarts"] += 1
    daemon.start()
    return False


def run(ctx, count, rate):
    """Sends `count` mutants (plus the torture set, unmutated, to several numbers)."""
    rng = phase_rng(ctx.seed, "sip")
    daemon = ctx.daemon
    socks = []
    for _ in range(SOCKETS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    stats, replies, kinds = collections.Counter(), collections.Counter(), collections.Counter()
    ring = collections.deque(maxlen=RING)
    limiter = RateLimiter(rate)
    started = time.monotonic()
    queue = []
    for name in sorted(torture.MESSAGES):
        for dialed in ("8005963057", "2082792555", "5551234567"):
            queue.append(("torture-unmutated", torture.render(name, daemon.sip_port, ports[0],
                                                            f"fzt-{rng.getrandbits(64):x}", dialed)))
    stats["torture_unmutated"] = len(queue)
    i = 0
    while i < count + len(queue):
        k = i % SOCKETS
        if i < len(queue):
            kind, datagrams = queue[i][0], [queue[i][1]]
            k = 0
        elif rng.random() < 0.05:
            kind, datagrams = "invite+cancel", sipmut.invite_then_cancel(rng, ports[k], daemon.sip_port)
        else:
            kind, datagram = sipmut.mutant(rng, ports[k], daemon.sip_port)
            datagrams = [datagram]
        kinds[kind] += 1
        for d in datagrams:
            ring.append(d)
            _send(socks[k], d, daemon.sip_port, stats)
            limiter.tick()
        i += 1
        if i % 100 == 0:
            _drain(socks, replies)
        if i % 2000 == 0 and not _check_alive(ctx, ring, stats, "sip"):
            ring.clear()
    time.sleep(1.0)
    _drain(socks, replies)
    _check_alive(ctx, ring, stats, "sip")
    for s in socks:
        s.close()
    elapsed = time.monotonic() - started
    stats["mutants"] = count
    return {"sent": stats, "kinds": kinds, "replies": replies, "seconds": round(elapsed, 1),
            "rate": round(stats["sent"] / max(elapsed, 0.001))}
