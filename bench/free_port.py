"""Prints a loopback port free for UDP and TCP both (the daemon's SIP listens on both: a port
checked for UDP alone can be held by a TCP listener and fail the daemon's start). The
fuzzer's `free_port` does the work; this is its command-line face for the bench scripts."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
from daemon import free_port  # noqa: E402

print(free_port())
