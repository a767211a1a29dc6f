#!/bin/sh
# Installs what threadleak needs to build, test and benchmark, when it is
# missing: apt-get as root, sudo apt-get otherwise, or a clear message.
# Usage: scripts/deps.sh [build|test|bench]
set -e
what=${1:-build}

pkgs=""
need() { pkgs="$pkgs $1"; }

have_pc() { pkg-config --exists "$1" 2>/dev/null; }
command -v cc >/dev/null 2>&1 || need gcc
command -v make >/dev/null 2>&1 || need make
command -v pkg-config >/dev/null 2>&1 || need pkg-config
have_pc libdw || need libdw-dev
have_pc libelf || need libelf-dev
have_pc libdebuginfod || need libdebuginfod-dev
have_pc libunwind-ptrace || need libunwind-dev
have_pc jansson || need libjansson-dev
have_pc ncursesw || need libncurses-dev
have_pc libprotobuf-c || need libprotobuf-c-dev	# pprof export
command -v protoc-c >/dev/null 2>&1 || need protobuf-c-compiler
have_pc zlib || need zlib1g-dev
have_pc libmicrohttpd || need libmicrohttpd-dev	# serve's HTTP side
have_pc libcap || need libcap-dev	# capability names in permission errors
[ -f /usr/include/libiberty/demangle.h ] || need libiberty-dev	# Rust names
# libc's own debug info names its internal functions (lock waits, condvar
# waits); without it those frames fall back to the nearest exported symbol.
[ -d /usr/lib/debug/.build-id ] && dpkg -s libc6-dbg >/dev/null 2>&1 || need libc6-dbg
if [ "$what" = test ] || [ "$what" = bench ]; then
	have_pc cmocka || need libcmocka-dev
	command -v jq >/dev/null 2>&1 || need jq
	command -v g++ >/dev/null 2>&1 || need g++	# testdata/cxxleak
	# 32-bit builds of testdata (tests/integration/i386.sh): gcc -m32 and
	# the i386 C library, no multiarch (its libc's names are its exported
	# ones, as gdb shows them without libc6-dbg:i386)
	dpkg -s gcc-multilib >/dev/null 2>&1 || need gcc-multilib
	command -v setpriv >/dev/null 2>&1 || need util-linux
	command -v timeout >/dev/null 2>&1 || need coreutils
	command -v gdb >/dev/null 2>&1 || need gdb
	# eu-stack (elfutils): make bench's anchor beside gdb, here too so that
	# a machine set up for the tests has both tools a stack is checked by
	command -v eu-stack >/dev/null 2>&1 || need elfutils
	command -v tmux >/dev/null 2>&1 || need tmux
	# make analyse (part of make check): cppcheck; make coverage: lcov
	# (gcov comes with gcc)
	command -v cppcheck >/dev/null 2>&1 || need cppcheck
	command -v lcov >/dev/null 2>&1 || need lcov
	# tests/fuzz: clang and its libFuzzer runtime, a package named for
	# clang's major version (libclang-rt-14-dev on Debian 12, -19- on 13):
	# looked up after clang is installed, below
	command -v clang >/dev/null 2>&1 || need clang
	# tests/integration/rust.sh builds testdata/rustleak.rs
	command -v rustc >/dev/null 2>&1 || need rustc
	# tests/integration/diff-input.sh: the reader's peak memory
	[ -x /usr/bin/time ] || need time
	# check on the runtimes people run (tests/integration/check-runtimes.sh):
	# Debian's Go (1.19, beside a newer one where there is one), a JDK
	# (`java Hello.java` compiles in memory), CPython; strace as a second
	# tracer (check-odd.sh)
	dpkg -s golang-go >/dev/null 2>&1 || need golang-go
	command -v javac >/dev/null 2>&1 || need default-jdk-headless
	command -v python3 >/dev/null 2>&1 || need python3
	# tests/unit/test_python reads Debian 12's own python3.11, stripped
	# (the built-in layouts of src/python/layout-builtin.c), and with the
	# debug file python3.11-dbg brings for it (3.11.2's DWARF against the
	# built-in layout, measured on 3.11.7), and python3.11d (a debug build)
	if [ "$(. /etc/os-release 2>/dev/null; echo "$VERSION_ID")" = 12 ]; then
		[ -x /usr/bin/python3.11 ] || need python3.11
		dpkg -s python3.11-dbg >/dev/null 2>&1 || need python3.11-dbg
	fi
	command -v strace >/dev/null 2>&1 || need strace
	# JIT code named from its perf map (tests/integration/jit-perfmap.sh)
	command -v node >/dev/null 2>&1 || need nodejs
	# debug files from a real debuginfod (tests/integration/debuginfo-sources.sh)
	command -v debuginfod >/dev/null 2>&1 || need debuginfod
	command -v xz >/dev/null 2>&1 || need xz-utils
	# Debian's stripped servers, whole stacks against gdb's
	# (tests/integration/server-*.sh); objdump and nm (binutils) check
	# tests/unit/test_elfcode
	command -v memcached >/dev/null 2>&1 || need memcached
	command -v redis-server >/dev/null 2>&1 || need redis-server
	command -v nginx >/dev/null 2>&1 || need nginx
	command -v mariadbd >/dev/null 2>&1 || need mariadb-server
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need postgresql
	# strip (binutils too): tests/unit/test_python's stripped Pythons
	command -v objdump >/dev/null 2>&1 && command -v strip >/dev/null 2>&1 || need binutils
	# the exporter scraped by a real Prometheus (tests/integration/serve.sh,
	# prometheus-scrape.sh); promtool (same package) checks and unit-tests
	# the alerting rules (tests/integration/prometheus-rules.sh)
	command -v prometheus >/dev/null 2>&1 || need prometheus
	command -v curl >/dev/null 2>&1 || need curl
	# make deb and tests/integration/package.sh: the Debian package built
	# (dpkg-buildpackage, debhelper), checked (lintian), installed and its
	# unit verified (systemd-analyze), its man page found (man-db);
	# tests/integration/completion.sh: bash-completion's helpers
	command -v dpkg-buildpackage >/dev/null 2>&1 || need dpkg-dev
	command -v dh >/dev/null 2>&1 || need debhelper
	command -v lintian >/dev/null 2>&1 || need lintian
	command -v systemd-analyze >/dev/null 2>&1 || need systemd
	command -v man >/dev/null 2>&1 || need man-db
	[ -f /usr/share/bash-completion/bash_completion ] || need bash-completion
	# go-versions.sh fetches a newer Go toolchain from the module proxy
	# over HTTPS when the installed go is too old for GOTOOLCHAIN
	[ -f /etc/ssl/certs/ca-certificates.crt ] || need ca-certificates
fi
if [ "$what" = bench ]; then
	command -v eu-stack >/dev/null 2>&1 || need elfutils
	command -v gdb >/dev/null 2>&1 || need gdb
	[ -x /usr/bin/time ] || need time
	# the top section's anchor, procps top -H
	command -v top >/dev/null 2>&1 || need procps
	# bench/goroutines.sh: a Go program's own dump over HTTP (its Delve is
	# the one bench/million.sh builds, below)
	command -v curl >/dev/null 2>&1 || need curl
	# bench/million.sh: builds Delve and its target with a Go 1.26 (the
	# one here, else fetched from the module proxy as the tests' are:
	# curl, python3)
	dpkg -s golang-go >/dev/null 2>&1 || need golang-go
	command -v python3 >/dev/null 2>&1 || need python3
	[ -f /etc/ssl/certs/ca-certificates.crt ] || need ca-certificates
	# bench/python.sh: py-spy from PyPI, in a venv of Debian's python3
	# (bench_pyspy, below)
	dpkg -s python3-venv >/dev/null 2>&1 || need python3-venv
fi
# fuzzer_rt: the package with clang's libFuzzer runtime, when it is missing
fuzzer_rt()
{
	command -v clang >/dev/null 2>&1 || return 0
	[ -f "$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null)" ] && return 0
	v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
	[ -n "$v" ] && echo "libclang-rt-$v-dev"
}
if [ "$what" = test ] || [ "$what" = bench ]; then
	rt=$(fuzzer_rt)
	[ -n "$rt" ] && need "$rt"
fi
# go_toolchains: for the tests, the Go toolchains of every release the
# tests build with (scripts/go-toolchains.sh: from the Go module proxy,
# once, into ~/.cache/threadleak-tests/go), after the packages (curl,
# python3, golang-go) are in
go_toolchains()
{
	[ "$what" = test ] || return 0
	bash "$(dirname "$0")/go-toolchains.sh"
}
# bench_dlv: for bench/million.sh, Delve v1.27.2 (Debian's is too old for
# Go 1.26), built with a Go 1.26 from the module proxy into the bench's
# cache, after the packages are in; without it the bench leaves Delve out
bench_dlv()
{
	[ "$what" = bench ] || return 0
	bash "$(dirname "$0")/../bench/million.sh" --install-dlv ||
		echo "threadleak: no Delve for bench/million.sh: its Delve rows will be left out" >&2
}
# bench_pyspy: for bench/python.sh, py-spy (PyPI) in a venv of its own
# under the bench's cache, after the packages (python3-venv) are in; nothing
# installed system-wide.  Without it the bench leaves py-spy's rows out.
PYSPY_VERSION=0.4.3
bench_pyspy()
{
	[ "$what" = bench ] || return 0
	dir=${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-bench/py-spy
	"$dir/bin/py-spy" --version 2>/dev/null | grep -qx "py-spy $PYSPY_VERSION" && return 0
	py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	rm -rf "$dir"
	{ "$py" -m venv "$dir" && "$dir/bin/pip" install -q --disable-pip-version-check "py-spy==$PYSPY_VERSION"; } ||
		echo "threadleak: no py-spy for bench/python.sh: its py-spy rows will be left out" >&2
}
if [ -z "$pkgs" ]; then
	go_toolchains
	bench_dlv
	bench_pyspy
	exit 0
fi

echo "threadleak: installing missing packages:$pkgs" >&2
if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=sudo
else
	echo "threadleak: missing packages:$pkgs; install them (as root: apt-get install$pkgs) and run make again" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "threadleak: no apt-get here; install the equivalents of:$pkgs" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || true
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# clang was just installed: its version names the fuzzer runtime's package
if [ "$what" = test ] || [ "$what" = bench ]; then
	rt=$(fuzzer_rt)
	[ -n "$rt" ] && $SUDO apt-get install -y -qq --no-install-recommends "$rt" >/dev/null
fi
go_toolchains
bench_dlv
bench_pyspy
exit 0
