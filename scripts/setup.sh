#!/usr/bin/env bash
# Installs the Debian 12 packages Switchboard builds, checks and benchmarks with (clang 14 for the
# sanitizer builds and the fuzzers, wrk and gnuplot for scripts/bench.sh, Chromium and a font for
# the web console's browser tests), and only those that are
# missing, and
# unpacks libphonenumber's headers into <repo>/.deps/libphonenumber when they are not there yet.
# Idempotent: when everything is present it prints one line and returns at once.
set -euo pipefail

packages=(
    cmake ninja-build g++ ccache binutils openssl dpkg-dev curl
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libsqlite3-dev libpq-dev libspdlog-dev libfmt-dev libcli11-dev catch2
    libphonenumber8 libprotobuf-dev libabsl-dev prometheus-cpp-dev
    clang-14 libclang-rt-14-dev llvm-14
    wrk gnuplot-nox
    postgresql-15
    chromium fonts-dejavu-core
)

# libphonenumber-dev cannot be installed: it depends on libboost-thread-dev (Boost 1.74), whose -dev
# packages conflict with libboost1.81-dev. So only its headers are taken, unpacked where the build
# looks for them (core/CMakeLists.txt), at the version of the installed runtime libphonenumber8.
# Those headers include protobuf's (libprotobuf-dev) and Abseil's (libabsl-dev).
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
phonenumber_dir="$repo_dir/.deps/libphonenumber"
phonenumber_header="$phonenumber_dir/usr/include/phonenumbers/phonenumberutil.h"
phonenumber_stamp="$phonenumber_dir/VERSION"   # the libphonenumber-dev version unpacked there

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# The headers are current when they are there and match the runtime library's version (an
# upgraded libphonenumber8 fetches them again).
headers_current() {
    installed libphonenumber8 && [ -f "$phonenumber_header" ] && [ -f "$phonenumber_stamp" ] &&
        [ "$(cat "$phonenumber_stamp")" = "$(dpkg-query -W -f='${Version}' libphonenumber8)" ]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ] && headers_current; then
    echo "setup: all ${#packages[@]} build packages and the libphonenumber headers present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    [ ${#missing[@]} -eq 0 ] || echo "setup: missing packages: ${missing[*]}" >&2
    headers_current || echo "setup: missing libphonenumber headers in $phonenumber_dir" >&2
    echo "setup: run this script as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    apt_updated=1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: installed ${#missing[@]} package(s)"
fi

if ! headers_current; then
    version=$(dpkg-query -W -f='${Version}' libphonenumber8)
    echo "setup: unpacking libphonenumber-dev $version headers into $phonenumber_dir"
    if [ $apt_updated -eq 0 ] && ! apt-cache show "libphonenumber-dev=$version" >/dev/null 2>&1; then
        apt-get update -qq
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # apt-get download fetches as the unprivileged _apt user: let it write into the temp dir, or
    # apt warns and falls back to downloading unsandboxed as root.
    if id _apt >/dev/null 2>&1; then
        chown _apt "$work"
    fi
    (cd "$work" && apt-get download -qq "libphonenumber-dev=$version")
    debs=("$work"/libphonenumber-dev_*.deb)
    # Unpacked beside its final place and renamed, and the stamp written last, so that an
    # interrupted run never leaves a tree that passes for complete.
    staging="$phonenumber_dir.partial"
    rm -rf "$staging"
    mkdir -p "$staging"
    dpkg -x "${debs[0]}" "$staging"
    [ -f "$staging/usr/include/phonenumbers/phonenumberutil.h" ] || {
        echo "setup: ${debs[0]} has no usr/include/phonenumbers/phonenumberutil.h" >&2
        exit 1
    }
    rm -rf "$phonenumber_dir"
    mv "$staging" "$phonenumber_dir"
    echo "$version" >"$phonenumber_stamp"
    chown -R --reference="$repo_dir" "$repo_dir/.deps"
    echo "setup: libphonenumber headers ready"
fi
