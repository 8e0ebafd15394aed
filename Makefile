# tollfreed: build, run, test and benchmark on Debian 12.
#   make run    install missing Debian packages, build (release), run on Config/tollfreed.json
#   make test   install missing Debian packages, build, run every test (unit + end-to-end)
#   make check-sizes  no Swift file over 400 lines, no function over 60 (scripts/check-sizes.py)
#   make bench  the benchmark suite (bench/suite.sh): load, setup rate, record, billing and
#               pjsip / sipp peers on the same load; writes bench/results.md
#   make bench-smoke     the suite at small sizes, without the pjsip peer (CI runs it)
#   make bench-overload  emergency calls against a full daemon (bench/overload.sh)
#   make bench-store     records/s of SQLite and PostgreSQL through the writer (bench/store.sh)
#   make fuzz   black-box fuzzing of the release binary (fuzz/fuzz.py); make fuzz-smoke: small sizes
#   make cluster        three nodes on 127.0.0.2-4 behind Kamailio on 127.0.0.1:5060 (scripts/cluster.sh);
#                       sharing one PostgreSQL (STORAGE=sqlite: a store each), CLUSTER_ARGS="--port 5080 --nodes 2"
#   make bench-cluster  the cluster under sipp load (bench/cluster.sh): writes bench/cluster-results.md
#   make deb    the Debian package .build/deb/tollfreed_<version>-<revision>_amd64.deb
#               (packaging/build-deb.sh; DEB_REVISION=2 for another Debian revision)

SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
CONFIG ?= Config/tollfreed.json
DATA ?= $(CURDIR)/var
PREFIX ?= /usr/local

# Debian packages: build-time C libraries and headers, and the tools the tests run
# (prometheus for its promtool, which checks the metrics text and the alert rules).
DEBIAN_PACKAGES := pkg-config libsofia-sip-ua-dev libespeak-ng-dev espeak-ng-data \
	libspeexdsp-dev libspandsp-dev libsqlite3-dev libssl-dev sqlite3 sip-tester procps \
	libpocketsphinx-dev pocketsphinx-en-us espeak-ng python3 systemd openssl libcurl4-openssl-dev libpq-dev postgresql \
	kamailio libmpg123-dev libmp3lame-dev lame prometheus lintian dpkg-dev libsystemd-dev libsrtp2-dev python3-venv

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps bench-deps build build-debug run test test-peers unit-test check-sizes cdr bench bench-smoke bench-overload bench-store bench-cluster cluster fuzz fuzz-smoke install deb clean

# What the benchmark suite needs beyond the tests: a C compiler for its RTP meter and
# loopback probe, venv for the pjsua2 wheel (pjsip peer) from PyPI, and rtpengine (the
# bridge section's peer; run by the suite in the foreground, never as a service).
BENCH_PACKAGES := gcc libc6-dev python3-venv python3-pip rtpengine-daemon

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

# One release build serves `make run`, the benchmarks, fuzzing and `make deb`: the Swift
# runtime and Foundation linked statically (the binary needs no /opt/swift on the machine
# it runs on), no $ORIGIN run path (lintian). The package test packages it.
RELEASE_FLAGS := -c release --static-swift-stdlib --disable-local-rpath
DEB_REVISION ?= 1

build: deps
	$(SWIFT) build $(RELEASE_FLAGS)

build-debug: deps
	$(SWIFT) build --build-tests

run: build
	mkdir -p $(DATA)
	.build/release/tollfreed run --config $(CONFIG) --data $(DATA)

# The pjsip peer of the end-to-end tests (Tests/Support/pjsua_peer.py): the pjsua2-python
# wheel from PyPI in .build/bench-venv, the venv the benchmark's pjsip peer uses too, made
# once (TOLLFREED_PJSUA_PYTHON points the tests at another interpreter).
PJSUA_VENV ?= $(CURDIR)/.build/bench-venv
test-peers: deps
	@if ! "$(PJSUA_VENV)/bin/python3" -c 'import pjsua2' 2>/dev/null; then \
		echo "installing pjsua2-python into $(PJSUA_VENV)"; \
		python3 -m venv "$(PJSUA_VENV)" && "$(PJSUA_VENV)/bin/pip" install -q pjsua2-python; \
	fi

# Every test: the source size limits (scripts/check-sizes.py) and module dependencies
# (scripts/check-deps.py) first, then unit tests (no
# sockets) and end-to-end tests (real daemon + sipp). Sources over the limits fail the
# target but the tests still run. The last line is the plain summary "N passed, N failed".
test: build-debug build test-peers
	@python3 scripts/check-sizes.py; sizes=$$?; python3 scripts/check-deps.py || sizes=1; \
	set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; status=$$?; \
	summary=$$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" .build/test.log | tail -1); \
	total=$$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$$summary"); \
	failed=$$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$$summary"); \
	skipped=$$(grep -cE "^Test Case .* skipped" .build/test.log || true); \
	if [ -z "$$summary" ]; then echo "tests: no XCTest summary found"; exit 1; fi; \
	if [ "$$skipped" -gt 0 ]; then echo "tests: skipped (a skip is not a pass):"; grep -E "^Test Case .* skipped" .build/test.log; status=1; fi; \
	if [ "$$sizes" -ne 0 ]; then echo "tests: sources over the size limits or undeclared module dependencies (check-sizes.py, check-deps.py, at the top)"; status=1; fi; \
	echo "tests: $$((total - failed - skipped)) passed, $$failed failed, $$skipped skipped"; exit $$status

# Files over 400 lines and functions over 60 in Sources/ (issue 14); `make test` runs it first.
check-sizes:
	python3 scripts/check-sizes.py --self-test
	python3 scripts/check-sizes.py
	python3 scripts/check-deps.py

unit-test: build-debug
	$(SWIFT) test --skip-build --disable-swift-testing --filter 'UnitTests|TeXMLTests'

cdr:
	@.build/release/tollfreed cdr export --format csv --data $(DATA)

bench-deps: deps
	@missing=$$(for p in $(BENCH_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

bench: build bench-deps
	bench/suite.sh

# The suite at small sizes (no pjsip, which comes from PyPI): CI runs it so the one
# benchmark command keeps working. It prints figures; it checks no speed.
bench-smoke: build bench-deps
	bench/suite.sh --quick --only concurrency,setup,bridge,webhook,record,billing,floor,media-cost --out .build/bench-smoke.md

bench-store: build
	bench/store.sh

bench-overload: build
	bench/overload.sh --capacity 100 --share 0.2 --hold 10 --rate 50

# The cluster: Kamailio (Config/kamailio/kamailio.cfg) in front of three nodes; Ctrl-C stops it.
STORAGE ?= postgres
cluster: build
	STORAGE=$(STORAGE) scripts/cluster.sh --no-build $(CLUSTER_ARGS)

# Calls per second, concurrent calls and setup latency through the dispatcher with 1, 2 and 3
# nodes, and failover after a kill -9 (not part of bench-smoke: several minutes).
bench-cluster: build
	bench/cluster.sh $(BENCH_CLUSTER_ARGS)

# Black-box fuzzing of the release binary (fuzz/fuzz.py): SIP datagrams (RFC 4475 torture
# messages and 100,000 mutants), RTP/RTCP garbage to live calls, 10,000 fuzzed TeXML webhook
# documents, 1,000 mutated `bill` input files, the metrics endpoint; after each phase the
# daemon must be alive, answer a normal call, come back within 5 % of its RSS and open files,
# and have lost no record. It prints its seed first: FUZZ_ARGS="--seed N" replays a run
# (also --only sip,rtp,texml,bill,http). Findings and their inputs go to /tmp/fuzz-findings/.
fuzz: build
	python3 fuzz/fuzz.py $(FUZZ_ARGS)

# The same at small sizes (about 4 minutes); .ci/run runs it (see docs/testing.md).
fuzz-smoke: build
	python3 fuzz/fuzz.py --quick $(FUZZ_ARGS)

install: build
	$(SUDO) install -D -m 0755 .build/release/tollfreed $(DESTDIR)$(PREFIX)/bin/tollfreed
	$(SUDO) install -d $(DESTDIR)/etc/tollfreed/callflows
	$(SUDO) cp -r CallFlows/. $(DESTDIR)/etc/tollfreed/callflows/
	sed -e 's|"flows_dir": "../CallFlows"|"flows_dir": "callflows"|' $(CONFIG) | $(SUDO) tee $(DESTDIR)/etc/tollfreed/tollfreed.json >/dev/null
	$(SUDO) install -D -m 0644 Config/plans.json $(DESTDIR)/etc/tollfreed/plans.json
	$(SUDO) install -D -m 0644 Config/alerts.yml $(DESTDIR)/etc/tollfreed/alerts.yml
	$(SUDO) install -D -m 0644 Config/grafana/tollfreed.json $(DESTDIR)$(PREFIX)/share/tollfreed/grafana/tollfreed.json
	$(SUDO) install -D -m 0644 systemd/tollfreed.service $(DESTDIR)/lib/systemd/system/tollfreed.service
	$(SUDO) install -D -m 0644 systemd/tollfreed-retention.service $(DESTDIR)/lib/systemd/system/tollfreed-retention.service
	$(SUDO) install -D -m 0644 systemd/tollfreed-retention.timer $(DESTDIR)/lib/systemd/system/tollfreed-retention.timer
	$(SUDO) install -D -m 0644 systemd/tollfreed.sysusers $(DESTDIR)/usr/lib/sysusers.d/tollfreed.conf
	$(SUDO) install -D -m 0644 systemd/tollfreed.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/tollfreed.conf
	$(SUDO) install -D -m 0644 README.md $(DESTDIR)/usr/share/doc/tollfreed/README.md
	for f in docs/*.md; do $(SUDO) install -D -m 0644 $$f $(DESTDIR)/usr/share/doc/tollfreed/$$f || exit 1; done
	$(SUDO) install -D -m 0644 docs/tollfreed.8 $(DESTDIR)$(PREFIX)/share/man/man8/tollfreed.8
	$(SUDO) install -D -m 0644 packaging/tollfreed.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tollfreed
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then $(SUDO) systemd-sysusers; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemd-tmpfiles >/dev/null; then $(SUDO) systemd-tmpfiles --create /usr/lib/tmpfiles.d/tollfreed.conf || true; fi
	@# The recording key: created once, readable by the service only (the daemon refuses a weaker mode).
	@if [ ! -e $(DESTDIR)/var/lib/tollfreed/keys/recording.key ]; then \
		$(SUDO) $(DESTDIR)$(PREFIX)/bin/tollfreed keygen --out $(DESTDIR)/var/lib/tollfreed/keys/recording.key; \
		if [ -z "$(DESTDIR)" ] && id tollfreed >/dev/null 2>&1; then $(SUDO) chown -R tollfreed:tollfreed /var/lib/tollfreed; fi; \
	fi

# The Debian package (docs/operations.md, "Debian package"): the release binary, units
# pointed at /usr/bin, config as conffiles, Depends computed by dpkg-shlibdeps.
deb: build
	packaging/build-deb.sh --revision $(DEB_REVISION)

clean:
	rm -rf .build
