#!/bin/bash
# go-buildinfo: a Go binary whose .go.buildinfo says its version string is
# 0 bytes long (a corrupt or forged file: the byte after the 32-byte
# header) is read as one without that inline version: the version comes
# from the read-only data's "go1.N" string, as the Go on PATH names it,
# and its goroutines are read with its layouts.  Before the fix, the empty
# string passed as a version: "runtime" "" and the minor number read from
# an uninitialised int (clang's scan-build found it).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd jq readelf od dd
need_threadleak

gos=$(go_toolchains)
[ -n "$gos" ] || fail "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"
# the newest (1.18 and later write the version inline)
go=$(for g in $gos; do echo "$(go_minor "$(go_version "$g")") $g"; done | sort -n | tail -n 1)
go=${go#* }
v=$(go_version "$go")
build_leaky_cached "$go" stripped || fail "$LEAKY_ERROR"

bin=$TL_TMP/leaky-nolen
cp "$LEAKY_BIN" "$bin" || fail "cannot copy $LEAKY_BIN"
off=$(readelf -SW "$bin" | sed -n 's/.*\] \.go\.buildinfo  *[A-Z]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
[ -n "$off" ] || fail "$v: no .go.buildinfo section in $LEAKY_BIN"
off=$((16#$off))
# the header's magic and flags (inline strings), then the length byte
magic=$(od -A n -t x1 -j "$off" -N 16 "$bin" | tr -d ' \n')
[[ $magic == ff20476f206275696c64696e663a??02 ]] ||
	fail "$v: .go.buildinfo has no inline version (header $magic)"
len=$(od -A n -t u1 -j $((off + 32)) -N 1 "$bin" | tr -d ' ')
((len == ${#v})) || fail "$v: .go.buildinfo's version is $len bytes long, not ${#v}"
printf '\0' | dd of="$bin" bs=1 seek=$((off + 32)) conv=notrunc status=none ||
	fail "cannot patch $bin"

start_leaky "$bin"
snapshot_json "$LEAKY_PID" "$TL_TMP/json"
((TL_RC == 0)) || error "snapshot: $(describe_rc "$TL_RC"): $(first_line "$TL_TMP/json.err")"
got=$(jq -r '.runtime' "$TL_TMP/json")
[ "$got" = "$v" ] || error "snapshot: runtime '$got', expected '$v' (from the read-only data)"
n=$(jq '[.threads[] | select((.goid // 0) != 0)] | length' "$TL_TMP/json")
at_least "$n" 10 "snapshot: goroutines read"
jq -e '[.threads[].frames[]?.function] | index("main.leakChanSend")' "$TL_TMP/json" >/dev/null ||
	error "snapshot: no goroutine in main.leakChanSend"
assert_not_stopped "$LEAKY_PID" snapshot
finish
