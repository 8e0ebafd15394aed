#!/usr/bin/env python3
"""Checks that every Swift module imported by a target is declared in Package.swift, and
that every declared Swift dependency is imported (C bridges and system modules aside).
Exits 1 naming the target and module otherwise."""
import glob
import re
import sys

SYSTEM = {"Foundation", "FoundationXML", "FoundationNetworking", "Glibc", "Dispatch", "Synchronization", "XCTest"}
package = open("Package.swift").read()
targets = {}
for m in re.finditer(r'\.(target|executableTarget|testTarget)\(name: "(\w+)",?\s*(?:dependencies: \[([^\]]*)\])?', package):
    targets[m.group(2)] = (m.group(1), set(re.findall(r'"(\w+)"', m.group(3) or "")))
problems = []
for name, (kind, declared) in sorted(targets.items()):
    base = "Tests" if kind == "testTarget" else "Sources"
    imported = set()
    for path in glob.glob(f"{base}/{name}/**/*.swift", recursive=True):
        for line in open(path, encoding="utf-8"):
            m = re.match(r"^(?:@testable )?import (\w+)", line)
            if m:
                imported.add(m.group(1))
    if not imported:
        continue  # a C target: its dependencies are headers
    for module in sorted(imported - declared - SYSTEM):
        problems.append(f"{name} imports {module} but does not declare it")
    for module in sorted(declared - imported):
        if kind == "testTarget" and module == "tollfreed":
            continue  # the end-to-end tests run the built executable
        problems.append(f"{name} declares {module} but never imports it")
for p in problems:
    print(f"check-deps: {p}")
if problems:
    sys.exit(1)
print(f"check-deps: {len(targets)} targets, every import declared and every declared module imported")
