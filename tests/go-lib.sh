# tests/go-lib.sh: helpers for the tests on Go programs (bash), on top of
# tests/lib.sh: the Go toolchains here, testdata/go/leaky built and run,
# and its own goroutine dumps read through tests/go-oracle.py.
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../go-lib.sh"
#
#	for go in $(go_toolchains); do
#		v=$(go_version "$go")
#		build_leaky "$go" stripped "$TL_TMP/leaky-$v" || { error ...; continue; }
#		start_leaky "$TL_TMP/leaky-$v" -n 3 -requests 5   # sets LEAKY_PID ...
#		dump_leaky "$LEAKY_PID" || error ...
#		go_oracle debug1 "$LEAKY_DUMP1" >"$TL_TMP/o1" || error ...
#		kill_target "$LEAKY_PID"
#	done
#
# The helpers that fail return 1 and leave the reason in LEAKY_ERROR.

GO_ORACLE=$TL_ROOT/tests/go-oracle.py
LEAKY_ERROR=

# go_toolchains: the paths of the Go toolchains here, one a line, one per
# Go version (Debian's /usr/lib/go-*, /usr/local/go, the go on PATH).
go_toolchains()
{
	local g v
	local -A seen=()
	for g in /usr/lib/go-*/bin/go /usr/local/go/bin/go "$(command -v go 2>/dev/null)"; do
		[ -n "$g" ] && [ -x "$g" ] || continue
		v=$(GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null) || continue
		[ -n "$v" ] && [ -z "${seen[$v]:-}" ] || continue
		seen[$v]=1
		echo "$g"
	done
}

# go_version GO: its version, as "go1.19.8".
go_version()
{
	GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null
}

# go_minor VERSION: the minor number of "go1.19.8" (19).
go_minor()
{
	local v=${1#go1.}
	v=${v%%[!0-9]*}
	echo "${v:-0}"
}

# build_leaky GO VARIANT OUTFILE: build testdata/go/leaky with the Go
# toolchain GO into OUTFILE.  VARIANT: plain (symbols and DWARF, with cgo:
# dynamically linked, as the go command builds by default where a C
# compiler is), nodwarf (-ldflags=-w), stripped (-ldflags='-s -w'), pie
# (-buildmode=pie, stripped) or nocgo (CGO_ENABLED=0: static, stripped).
# GOTOOLCHAIN stays as the caller set it (local by default).  Returns 1
# with the compiler's first words in LEAKY_ERROR when it does not build.
build_leaky()
{
	local go=$1 variant=$2 out=$3 flags=() cgo=1
	case $variant in
	plain) ;;
	nodwarf) flags=(-ldflags=-w) ;;
	stripped) flags=("-ldflags=-s -w") ;;
	pie) flags=(-buildmode=pie "-ldflags=-s -w") ;;
	nocgo) flags=("-ldflags=-s -w") cgo=0 ;;
	*) LEAKY_ERROR="build_leaky: unknown variant '$variant'"; return 1 ;;
	esac
	if ! (cd "$TL_ROOT/testdata/go" &&
		GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-buildvcs=false CGO_ENABLED=$cgo \
			"$go" build "${flags[@]}" -o "$out" ./leaky) >"$out.build-err" 2>&1; then
		LEAKY_ERROR="$(go_version "$go") $variant: cannot build testdata/go/leaky: $(head -c 300 "$out.build-err")"
		return 1
	fi
	return 0
}

# start_leaky BIN [ARG...]: start a built leaky with ARGs (and -dump1,
# -dump2 of its own) and wait for its "ready" (start_target: it is killed
# by pid at the exit).  Sets LEAKY_PID, LEAKY_OUT (its stdout), LEAKY_DUMP1,
# LEAKY_DUMP2 (where SIGUSR1 makes it write its dumps), LEAKY_HTTP (the
# address of its leaking HTTP server), LEAKY_TCP (the peer of the
# leakTCPRead connections), LEAKY_MUTEX (the mutex leakSharedMutex waits
# for).  Call it directly, not in $(...).
declare -gA LEAKY_OUTS=() LEAKY_D1S=() LEAKY_D2S=()
start_leaky()
{
	local bin=$1 base l
	shift
	base=$TL_TMP/leaky$((TL_SEQ + 1))
	LEAKY_DUMP1=$base.debug1
	LEAKY_DUMP2=$base.debug2
	start_target "$bin" -dump1 "$LEAKY_DUMP1" -dump2 "$LEAKY_DUMP2" "$@"
	LEAKY_PID=$TARGET_PID
	LEAKY_OUT=$TARGET_OUT
	LEAKY_OUTS[$LEAKY_PID]=$LEAKY_OUT
	LEAKY_D1S[$LEAKY_PID]=$LEAKY_DUMP1
	LEAKY_D2S[$LEAKY_PID]=$LEAKY_DUMP2
	LEAKY_HTTP= LEAKY_TCP= LEAKY_MUTEX=
	while IFS= read -r l; do
		case $l in
		"http "*) LEAKY_HTTP=${l#http } ;;
		"tcpleak "*) LEAKY_TCP=${l#tcpleak } ;;
		"mutex "*) LEAKY_MUTEX=${l#mutex } ;;
		esac
	done <"$LEAKY_OUT"
}

# count_lines FILE LINE: how many lines of FILE are exactly LINE.
count_lines()
{
	local l n=0
	[ -r "$1" ] || { echo 0; return; }
	while IFS= read -r l || [ -n "$l" ]; do
		[ "$l" = "$2" ] && n=$((n + 1))
	done <"$1"
	echo "$n"
}

# dump_leaky PID [SECONDS]: send SIGUSR1 to a leaky started by start_leaky
# and wait (20 s by default) for one more "dumped": its dumps are then in
# LEAKY_DUMP1 and LEAKY_DUMP2 (set to this PID's).  Returns 1 (reason in
# LEAKY_ERROR) when it dies or does not answer.
dump_leaky()
{
	local pid=$1 out=${LEAKY_OUTS[$1]:-} before deadline
	[ -n "$out" ] || { LEAKY_ERROR="dump_leaky: $pid was not started by start_leaky"; return 1; }
	LEAKY_DUMP1=${LEAKY_D1S[$pid]}
	LEAKY_DUMP2=${LEAKY_D2S[$pid]}
	before=$(count_lines "$out" dumped)
	signal_child USR1 "$pid" || { LEAKY_ERROR="dump_leaky: $pid is gone"; return 1; }
	deadline=$((SECONDS + ${2:-20}))
	until (($(count_lines "$out" dumped) > before)); do
		if ! proc_alive "$pid"; then
			LEAKY_ERROR="dump_leaky: $pid died: $(head -c 300 "${out%.out}.err")"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			LEAKY_ERROR="dump_leaky: no 'dumped' from $pid after ${2:-20}s"
			return 1
		fi
		tl_sleep 0.01
	done
	return 0
}

# leaky_expect PID: the "expect FUNCTION COUNT" lines of a leaky started by
# start_leaky, as "FUNCTION COUNT".
leaky_expect()
{
	local l
	while IFS= read -r l; do
		case $l in "expect "*) echo "${l#expect }" ;; esac
	done <"${LEAKY_OUTS[$1]}"
}

# go_oracle debug1|debug2 FILE: the canonical form of a goroutine dump
# (see tests/go-oracle.py): debug1 "COUNT<TAB>FRAMES<TAB>LABELS", debug2
# "ID<TAB>STATUS<TAB>WAITREASON<TAB>MINUTES<TAB>FRAMES<TAB>created by ...
# <TAB>in goroutine N<TAB>FLAGS<TAB>LABELS".
go_oracle()
{
	python3 "$GO_ORACLE" "$@"
}

# frames_have FRAMES FUNCTION: the ;-separated FRAMES (oracle form) have a
# frame in FUNCTION.
frames_have()
{
	case ";$1;" in *";$2 "*) return 0 ;; esac
	return 1
}
