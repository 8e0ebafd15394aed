#!/usr/bin/env bash
# Builds the Debian package tollfreed_<version>-<revision>_<arch>.deb from the release
# binary (linked with --static-swift-stdlib by `make build`, so it needs no Swift
# toolchain). `make deb` runs it; so does the package test (Tests/EndToEndTests/
# PackageEndToEndTests.swift), which builds two revisions to test an upgrade.
#
#   packaging/build-deb.sh [--binary FILE] [--revision N] [--out DIR]
#
# The version is tollfreedVersion (Sources/Configuration/RunOptions.swift), the Debian
# revision --revision or $DEB_REVISION (default 1). The package goes to --out (default
# .build/deb); its path is the last line printed. Depends is computed: dpkg-shlibdeps over
# the binary, plus the data the daemon loads at run time (espeak-ng-data for <Say>,
# pocketsphinx-en-us for speech input and transcription) and systemd-sysusers.
set -euo pipefail
umask 022
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BINARY=$ROOT/.build/release/tollfreed
REVISION=${DEB_REVISION:-1}
OUT=$ROOT/.build/deb

fail() { echo "build-deb.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 not found (Debian package $2; make deps installs it)"; }

while [ $# -gt 0 ]; do
    case $1 in
        --binary) BINARY=$2; shift 2 ;;
        --revision) REVISION=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) fail "unknown argument '$1' (usage: build-deb.sh [--binary FILE] [--revision N] [--out DIR])" ;;
    esac
done
need dpkg-deb dpkg; need dpkg-shlibdeps dpkg-dev; need dpkg-parsechangelog dpkg-dev
need strip binutils; need readelf binutils; need gzip gzip
[ -x "$BINARY" ] || fail "no release binary at $BINARY (run make build)"
if readelf -d "$BINARY" | grep -qE 'NEEDED.*\[(libswift|libFoundation|lib_FoundationICU|libdispatch|libBlocksRuntime)'; then
    fail "$BINARY links the Swift runtime dynamically; build it with make build (swift build --static-swift-stdlib)"
fi
[[ $REVISION =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || fail "bad Debian revision '$REVISION'"
UPSTREAM=$(sed -nE 's/^public let tollfreedVersion = "([^"]+)".*/\1/p' "$ROOT/Sources/Configuration/RunOptions.swift")
[ -n "$UPSTREAM" ] || fail "tollfreedVersion not found in Sources/Configuration/RunOptions.swift"
VERSION=$UPSTREAM-$REVISION
grep -q "^\.TH TOLLFREED 8 .* \"tollfreed $UPSTREAM\"" "$ROOT/docs/tollfreed.8" || fail "docs/tollfreed.8: its .TH line does not name tollfreed $UPSTREAM"
ARCH=$(dpkg --print-architecture)
MAINTAINER=$(sed -n 's/^Maintainer: //p' "$ROOT/packaging/control")

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
P=$WORK/debian/tollfreed
install -d -m 0755 "$P" "$P/DEBIAN"

# The binary, units (pointed at /usr/bin), sysusers and tmpfiles entries.
stage_program() {
    install -D -m 0755 "$BINARY" "$P/usr/bin/tollfreed"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$P/usr/bin/tollfreed"
    for unit in tollfreed.service tollfreed-retention.service tollfreed-retention.timer; do
        install -d "$P/lib/systemd/system"
        sed -e 's|/usr/local/bin/tollfreed|/usr/bin/tollfreed|g' \
            -e 's|Installed by `make install`: binary in /usr/local/bin|Installed by the Debian package: binary in /usr/bin|' \
            "$ROOT/systemd/$unit" > "$P/lib/systemd/system/$unit"
        chmod 0644 "$P/lib/systemd/system/$unit"
        if grep -n /usr/local "$P/lib/systemd/system/$unit"; then fail "systemd/$unit still names /usr/local"; fi
    done
    install -D -m 0644 "$ROOT/systemd/tollfreed.sysusers" "$P/usr/lib/sysusers.d/tollfreed.conf"
    install -D -m 0644 "$ROOT/systemd/tollfreed.tmpfiles" "$P/usr/lib/tmpfiles.d/tollfreed.conf"
}

# /etc/tollfreed (every file a conffile): the config with flows_dir pointed at
# /etc/tollfreed/callflows, plans, alert rules and the live call flows. The flows also go
# to /usr/share/tollfreed/CallFlows, untouched templates for new flows and for comparing
# after an upgrade.
stage_config() {
    install -d "$P/etc/tollfreed/callflows" "$P/usr/share/tollfreed/CallFlows"
    sed -e 's|"flows_dir": "../CallFlows"|"flows_dir": "callflows"|' "$ROOT/Config/tollfreed.json" > "$P/etc/tollfreed/tollfreed.json"
    grep -q '"flows_dir": "callflows"' "$P/etc/tollfreed/tollfreed.json" || fail "Config/tollfreed.json: flows_dir is not ../CallFlows"
    chmod 0644 "$P/etc/tollfreed/tollfreed.json"
    install -m 0644 "$ROOT/Config/plans.json" "$ROOT/Config/alerts.yml" "$P/etc/tollfreed/"
    cp -r "$ROOT/CallFlows/." "$P/etc/tollfreed/callflows/"
    cp -r "$ROOT/CallFlows/." "$P/usr/share/tollfreed/CallFlows/"
    install -D -m 0644 "$ROOT/Config/grafana/tollfreed.json" "$P/usr/share/tollfreed/grafana/tollfreed.json"
}

# Man page, bash completion, copyright, changelog and the documentation.
stage_docs() {
    local doc=$P/usr/share/doc/tollfreed
    install -d "$P/usr/share/man/man8" "$doc/docs"
    gzip -9n < "$ROOT/docs/tollfreed.8" > "$P/usr/share/man/man8/tollfreed.8.gz"
    install -D -m 0644 "$ROOT/packaging/tollfreed.bash-completion" "$P/usr/share/bash-completion/completions/tollfreed"
    install -m 0644 "$ROOT/packaging/copyright" "$doc/copyright"
    install -m 0644 "$ROOT/README.md" "$doc/README.md"
    install -m 0644 "$ROOT"/docs/*.md "$doc/docs/"
    # The changelog's first entry must be this version: a rebuild with another revision
    # (make deb DEB_REVISION=2) gets an entry of its own.
    {
        if [ "$(dpkg-parsechangelog -l "$ROOT/packaging/changelog" -S Version)" != "$VERSION" ]; then
            printf 'tollfreed (%s) bookworm; urgency=medium\n\n  * Rebuilt with Debian revision %s.\n\n -- %s  %s\n\n' \
                "$VERSION" "$REVISION" "$MAINTAINER" "$(LC_ALL=C date -R)"
        fi
        cat "$ROOT/packaging/changelog"
    } | gzip -9n > "$doc/changelog.Debian.gz"
}

# DEBIAN/: control (computed Depends and size), conffiles, md5sums, maintainer scripts.
stage_control() {
    printf 'Source: tollfreed\n\nPackage: tollfreed\nArchitecture: any\n' > "$WORK/debian/control"
    local shlibs
    shlibs=$(cd "$WORK" && dpkg-shlibdeps -O -e debian/tollfreed/usr/bin/tollfreed | sed -n 's/^shlibs:Depends=//p')
    [ -n "$shlibs" ] || fail "dpkg-shlibdeps found no dependencies"
    local size
    size=$(du -k -s --apparent-size "$P" | cut -f1)
    sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@INSTALLED_SIZE@|$size|" \
        -e "s|@SHLIBS_DEPENDS@|$shlibs|" "$ROOT/packaging/control" > "$P/DEBIAN/control"
    (cd "$P" && find etc -type f | LC_ALL=C sort | sed 's|^|/|') > "$P/DEBIAN/conffiles"
    (cd "$P" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' | LC_ALL=C sort | sed 's|^\./||' | xargs md5sum) > "$P/DEBIAN/md5sums"
    install -m 0755 "$ROOT/packaging/postinst" "$ROOT/packaging/prerm" "$ROOT/packaging/postrm" "$P/DEBIAN/"
    chmod 0644 "$P/DEBIAN/control" "$P/DEBIAN/conffiles" "$P/DEBIAN/md5sums"
}

stage_program
stage_config
stage_docs
stage_control
mkdir -p "$OUT"
DEB=$OUT/tollfreed_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$P" "$DEB" >/dev/null
echo "$DEB"
