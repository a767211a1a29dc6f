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
# LEAKY_DUMP2, LEAKY_DUMP0 (where SIGUSR1 makes it write its dumps: debug=1,
# 2, and the gzipped proto), LEAKY_HTTP (the
# address of its leaking HTTP server), LEAKY_TCP (the peer of the
# leakTCPRead connections), LEAKY_MUTEX (the mutex leakSharedMutex waits
# for).  Call it directly, not in $(...).
declare -gA LEAKY_OUTS=() LEAKY_D1S=() LEAKY_D2S=() LEAKY_D0S=()
start_leaky()
{
	local bin=$1 base l
	shift
	base=$TL_TMP/leaky$((TL_SEQ + 1))
	LEAKY_DUMP1=$base.debug1
	LEAKY_DUMP2=$base.debug2
	LEAKY_DUMP0=$base.pb.gz
	# GOTRACEBACK=system: a SIGQUIT makes the runtime write every
	# goroutine with every frame (compare_with_system_dump)
	# (ready: 120 s at least, a hang guard; -many 100000 on a loaded
	# machine takes a while)
	GOTRACEBACK=system TL_READY_TIMEOUT=$((TL_READY_TIMEOUT > 120 ? TL_READY_TIMEOUT : 120)) \
		start_target "$bin" -dump0 "$LEAKY_DUMP0" -dump1 "$LEAKY_DUMP1" -dump2 "$LEAKY_DUMP2" "$@"
	LEAKY_PID=$TARGET_PID
	LEAKY_OUT=$TARGET_OUT
	LEAKY_OUTS[$LEAKY_PID]=$LEAKY_OUT
	LEAKY_D1S[$LEAKY_PID]=$LEAKY_DUMP1
	LEAKY_D2S[$LEAKY_PID]=$LEAKY_DUMP2
	LEAKY_D0S[$LEAKY_PID]=$LEAKY_DUMP0
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
# and wait (60 s by default: a hang guard) for one more "dumped": its dumps are then in
# LEAKY_DUMP1 and LEAKY_DUMP2 (set to this PID's).  Returns 1 (reason in
# LEAKY_ERROR) when it dies or does not answer.
dump_leaky()
{
	local pid=$1 out=${LEAKY_OUTS[$1]:-} before deadline
	[ -n "$out" ] || { LEAKY_ERROR="dump_leaky: $pid was not started by start_leaky"; return 1; }
	LEAKY_DUMP1=${LEAKY_D1S[$pid]}
	LEAKY_DUMP2=${LEAKY_D2S[$pid]}
	LEAKY_DUMP0=${LEAKY_D0S[$pid]}
	before=$(count_lines "$out" dumped)
	signal_child USR1 "$pid" || { LEAKY_ERROR="dump_leaky: $pid is gone"; return 1; }
	deadline=$((SECONDS + ${2:-60}))
	until (($(count_lines "$out" dumped) > before)); do
		if ! proc_alive "$pid"; then
			LEAKY_ERROR="dump_leaky: $pid died: $(head -c 300 "${out%.out}.err")"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			LEAKY_ERROR="dump_leaky: no 'dumped' from $pid after ${2:-60}s"
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

# Goroutines that run between a snapshot and the program's dump: left out
# of comparisons.
LEAKY_MOVING='main\.pauseWatcher|os/signal|main\.dumpOnSignal|internal/dump\.Write'

# compare_with_dump LABEL JSON PID: the goroutines of threadleak's
# snapshot JSON of a leaky (PID, started by start_leaky) against its own
# debug=2 dump, taken now: the same ids, statuses, wait reasons, frames,
# creators and parents (tests/go-oracle.py), but the main goroutine's and
# those in LEAKY_MOVING.  Leaves threadleak's in $TL_TMP/ours.  Calls
# error for each difference; returns 1 when the dump could not be taken.
compare_with_dump()
{
	local label=$1 json=$2 pid=$3
	dump_leaky "$pid" || { error "$label: $LEAKY_ERROR"; return 1; }
	python3 "$GO_ORACLE" threadleak "$json" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/ours" ||
		error "$label: go-oracle cannot read threadleak's snapshot"
	go_oracle debug2 "$LEAKY_DUMP2" | cut -f1-7 | grep -Ev "^1	|$LEAKY_MOVING" >"$TL_TMP/theirs" ||
		error "$label: go-oracle cannot read the program's dump"
	if ! cmp -s "$TL_TMP/ours" "$TL_TMP/theirs"; then
		error "$label: goroutines differ from the program's own dump ($(wc -l <"$TL_TMP/ours") vs $(wc -l <"$TL_TMP/theirs")): $(diff "$TL_TMP/ours" "$TL_TMP/theirs" | head -6 | cut -c 1-300 | tr '\n' '|')"
	fi
	[ "$(wc -l <"$TL_TMP/theirs")" -ge 35 ] || error "$label: the dump has too few goroutines to compare"
	return 0
}

# all_stopped PID: every thread of PID is in state T (and there is one).
all_stopped()
{
	local f line s n=0
	for f in /proc/"$1"/task/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || return 1
		s=${line##*) }
		[ "${s%% *}" = T ] || return 1
		n=$((n + 1))
	done
	((n > 0))
}

# stop_leaky PID: SIGSTOP a leaky started by start_leaky and wait until
# every thread of it is stopped.  Before, let what the runtime does in the
# background after a dump (a GC, the sweep) end: wait (10 s at most) for
# three looks in a row with no thread running.  Returns 1 (reason in
# LEAKY_ERROR) when they are not stopped within 60 s (it is let go on then).
stop_leaky()
{
	local pid=$1 deadline=$((SECONDS + 10)) quiet=0 f line s
	while ((quiet < 3 && SECONDS < deadline)); do
		quiet=$((quiet + 1))
		for f in /proc/"$pid"/task/[0-9]*/stat; do
			{ read -r line <"$f"; } 2>/dev/null || continue
			s=${line##*) }
			[ "${s%% *}" = R ] && quiet=0
		done
		tl_sleep 0.01
	done
	deadline=$((SECONDS + 60))
	signal_child STOP "$pid" || { LEAKY_ERROR="$pid is gone"; return 1; }
	until all_stopped "$pid"; do
		if ((SECONDS >= deadline)); then
			signal_child CONT "$pid"
			LEAKY_ERROR="$pid not stopped after 60 s"
			return 1
		fi
		tl_sleep 0.01
	done
}

# system_dump PID: a leaky stopped by stop_leaky made to write the
# runtime's own dump (SIGQUIT, then SIGCONT: with GOTRACEBACK=system,
# every goroutine with every frame) as it dies; waits for its end and
# sets SYSTEM_DUMP (its stderr).  Returns 1 (reason in LEAKY_ERROR) when
# it does not die of it.
system_dump()
{
	local pid=$1 out=${LEAKY_OUTS[$1]:-} deadline st
	[ -n "$out" ] || { LEAKY_ERROR="system_dump: $pid was not started by start_leaky"; return 1; }
	SYSTEM_DUMP=${out%.out}.err
	signal_child QUIT "$pid" || { LEAKY_ERROR="system_dump: $pid is gone"; return 1; }
	signal_child CONT "$pid"
	deadline=$((SECONDS + 60))
	while proc_alive "$pid"; do
		if ((SECONDS >= deadline)); then
			LEAKY_ERROR="system_dump: $pid still alive 60 s after SIGQUIT"
			return 1
		fi
		tl_sleep 0.01
	done
	unregister_pid "$pid"
	wait "$pid" 2>/dev/null
	st=$?
	# the runtime exits 2 after the dump
	((st == 2)) || { LEAKY_ERROR="system_dump: $pid exited with status $st after SIGQUIT, expected 2: $(head -c 200 "$SYSTEM_DUMP")"; return 1; }
	grep -q '^goroutine [1-9][0-9]* ' "$SYSTEM_DUMP" ||
		{ LEAKY_ERROR="system_dump: no goroutine in $pid's dump: $(head -c 200 "$SYSTEM_DUMP")"; return 1; }
	return 0
}

# compare_with_system_dump LABEL PID: every goroutine of a leaky (PID,
# started by start_leaky), the runtime's own among them, with every frame,
# as threadleak reads it and as the runtime itself writes it: the
# program's debug=2 dump first (pprof leaves out the runtime's goroutines:
# those it does not show are the system ones), then the process is
# stopped (SIGSTOP: nothing moves), threadleak takes its snapshot, and
# the runtime writes its own dump as it dies (system_dump).
# tests/go-oracle.py system-compare: the same goroutines, statuses, wait
# reasons, frames (runtime.gopark to runtime.goexit; but the wrappers Go
# hides below GOTRACEBACK=system), creators, parents, and go_system; only
# pauseWatcher, which may be running when the process is stopped, is
# compared for being there; a runtime goroutine readied in between is
# accepted and counted (see go-oracle.py).
# The process is gone afterwards.  Calls error for each difference and
# when too little was compared; sets SYSTEM_SUMMARY (the oracle's
# summary line); returns 1 when it could not compare.
compare_with_system_dump()
{
	local label=$1 pid=$2 json=$TL_TMP/system-$2.json rc l n=()
	SYSTEM_SUMMARY=
	dump_leaky "$pid" || { error "$label: system dump: $LEAKY_ERROR"; return 1; }
	stop_leaky "$pid" || { error "$label: system dump: $LEAKY_ERROR"; return 1; }
	snapshot_json "$pid" "$json"
	rc=$TL_RC
	system_dump "$pid" || { kill_target "$pid"; error "$label: $LEAKY_ERROR"; return 1; }
	((rc == 0)) || { error "$label: snapshot of the stopped process: $(describe_rc "$rc"): $(first_line "$json.err")"; return 1; }
	python3 "$GO_ORACLE" system-compare "$json" "$SYSTEM_DUMP" "$LEAKY_DUMP2" 'main\.pauseWatcher ' >"$TL_TMP/system-compare" 2>&1
	rc=$?
	SYSTEM_SUMMARY=$(tail -n 1 "$TL_TMP/system-compare")
	case $rc in
	0) ;;
	1) while IFS= read -r l; do
		case $l in differ:*) error "$label: against the runtime's own dump: ${l#differ: }" ;; esac
	   done <"$TL_TMP/system-compare" ;;
	*) error "$label: go-oracle system-compare: $(head -c 300 "$TL_TMP/system-compare")"; return 1 ;;
	esac
	# enough compared: leaky -n 3 has 40 goroutines, the runtime 4 or
	# more (forcegc, sweep, scavenge, finalizers), and every stack runs
	# through runtime frames
	if [[ $SYSTEM_SUMMARY =~ ^compared\ ([0-9]+)\ goroutines\ \(([0-9]+)\ system,\ [0-9]+\ moving\),\ ([0-9]+)\ frames\ \(([0-9]+)\ in\ the\ runtime\), ]]; then
		n=("${BASH_REMATCH[@]}")	# at_least's own =~ resets it
		at_least "${n[1]}" 40 "$label: goroutines compared with the runtime's dump"
		at_least "${n[2]}" 4 "$label: system goroutines compared"
		at_least "${n[4]}" 100 "$label: runtime frames compared"
	else
		error "$label: go-oracle system-compare: no summary: $SYSTEM_SUMMARY"
	fi
	return 0
}

# check_waits LABEL JSON: what the leaks of a leaky started with -n 3 wait
# on, in threadleak's snapshot JSON (LEAKY_MUTEX and LEAKY_TCP are its).
check_waits()
{
	local label=$1 json=$2 got objs
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakSharedMutex")) | .wait.object' "$json" | sort -u | tr '\n' ' ')
	[ "$got" = "mutex $LEAKY_MUTEX " ] ||
		error "$label: leakSharedMutex's goroutines wait on '$got', expected 'mutex $LEAKY_MUTEX'"
	objs=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakMutex")) | .wait.object' "$json")
	got=$(grep -c '^mutex 0x[0-9a-f]*$' <<<"$objs")/$(sort -u <<<"$objs" | wc -l)
	[ "$got" = 3/3 ] || error "$label: leakMutex's goroutines: $got on distinct mutexes, expected 3/3"
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakTCPRead")) | "\(.wait.kind) \(.wait.fd) \(.wait.object)"' "$json" |
		grep -Ec "^read [0-9]+ tcp 127\.0\.0\.1:[0-9]+ -> ${LEAKY_TCP//./\\.}\$")
	[ "$got" = 3 ] || error "$label: $got of leakTCPRead's goroutines read a connection to $LEAKY_TCP, expected 3: $(jq -c '[.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakTCPRead")) | .wait]' "$json" | head -c 300)"
	got=$(jq -r '.threads[] | select(.goid) | select(any(.frames[]; .function == "main.leakPipeRead")) | "\(.wait.kind) \(.wait.fd) \(.wait.object)"' "$json" |
		grep -Ec '^read [0-9]+ pipe:\[[0-9]+\]$')
	[ "$got" = 3 ] || error "$label: $got of leakPipeRead's goroutines read a pipe, expected 3"
}


# GO_NEXT: the newest Go release (its layouts built in since 1.27;
# go-versions.sh makes threadleak treat it as newer than its tables,
# THREADLEAK_GO_LAYOUT=newer).  Its toolchain comes from the Go module
# proxy as the go command's GOTOOLCHAIN fetches it (the module
# golang.org/toolchain), but fetched here directly, with curl, so that no
# Go 1.21 is needed (Debian 12's golang-go is 1.19, which knows no
# GOTOOLCHAIN).
GO_NEXT=go1.27.4

# GO_RELEASES: one release of each Go minor version threadleak reads, the
# matrix of tests/integration/go-releases.sh: the newest patch release of
# each minor in the module proxy's golang.org/toolchain list on 2026-12-07
# (but 1.26.8, the /usr/local/go of the machines here, where 1.26.11 is
# the newest).  A toolchain here of the same minor stands for the one
# named (go_release_toolchain): Debian 12's Go 1.19.8, /usr/local/go.
# GO_OLD_RELEASES: releases before 1.19, which threadleak refuses in one
# line (go-versions.sh): 1.17 (the function table's old magic), 1.18 (the
# table threadleak reads, of a version it does not).
GO_RELEASES="go1.19.13 go1.20.14 go1.21.13 go1.22.12 go1.23.12 go1.24.13 go1.25.14 go1.26.8 go1.27.4"
GO_OLD_RELEASES="go1.17.13 go1.18.10"

# TL_GO_CACHE: where fetched toolchains are kept between runs (one
# directory per version, the toolchain's GOROOT); default
# ${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-tests/go.
TL_GO_CACHE=${TL_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-tests/go}

# go_arch: GOARCH of this machine (for the toolchain's module version).
go_arch()
{
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	i?86) echo 386 ;;
	*) uname -m ;;
	esac
}

# go_fetch_toolchain VERSION: sets GO_FETCHED to the go command of Go
# VERSION ("go1.27.3") for this machine, from (first found):
#   - TL_GO_CACHE/VERSION, fetched by an earlier run;
#   - the module cache of a go command here, where GOTOOLCHAIN=VERSION
#     left it ($GOMODCACHE/golang.org/toolchain@v0.0.1-VERSION.linux-ARCH);
#   - the module proxy (the first URL of GOPROXY, by default
#     https://proxy.golang.org): its zip, checked against the checksum
#     database's line for it (fetched through the same proxy, as the go
#     command does; the line's signature is not checked), unpacked into
#     TL_GO_CACHE (a private directory renamed into place: two runs at a
#     time are safe), bin/ and pkg/tool/ made executable (module zips
#     keep no modes; the go command does the same).
# Returns 1 with every step's error in LEAKY_ERROR when none works.
go_fetch_toolchain()
{
	local v=$1 arch mv dir g mc proxy url tmp out
	GO_FETCHED=
	arch=$(go_arch)
	mv=v0.0.1-$v.linux-$arch
	dir=$TL_GO_CACHE/$v
	if [ -x "$dir/bin/go" ] && [ "$(GOTOOLCHAIN=local "$dir/bin/go" env GOVERSION 2>/dev/null)" = "$v" ]; then
		GO_FETCHED=$dir/bin/go
		return 0
	fi
	for g in $(go_toolchains); do
		mc=$(GOTOOLCHAIN=local "$g" env GOMODCACHE 2>/dev/null) || continue
		g=$mc/golang.org/toolchain@$mv/bin/go
		if [ -x "$g" ] && [ "$(GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null)" = "$v" ]; then
			GO_FETCHED=$g
			return 0
		fi
	done
	command -v curl >/dev/null || { LEAKY_ERROR="no curl here to fetch $v (scripts/deps.sh test installs it)"; return 1; }
	proxy=${GOPROXY:-https://proxy.golang.org}
	proxy=${proxy%%[,|]*}
	case $proxy in
	http://* | https://*) proxy=${proxy%/} ;;
	*) LEAKY_ERROR="GOPROXY='$GOPROXY' names no proxy to fetch $v from"; return 1 ;;
	esac
	mkdir -p "$TL_GO_CACHE" || { LEAKY_ERROR="cannot make $TL_GO_CACHE"; return 1; }
	tmp=$(mktemp -d "$TL_GO_CACHE/.fetch-$v.XXXXXX") || { LEAKY_ERROR="cannot write in $TL_GO_CACHE"; return 1; }
	url=$proxy/golang.org/toolchain/@v/$mv.zip
	# (--max-time: a hang guard, not a limit on a slow network;
	# --connect-timeout: no network ends the wait soon)
	if ! curl -fsSL --retry 2 --connect-timeout 30 --max-time 1800 -o "$tmp/zip" "$url" 2>"$tmp/err"; then
		LEAKY_ERROR="cannot fetch $v: $url: $(head -c 300 "$tmp/err")"
		rm -rf "$tmp"
		return 1
	fi
	url=$proxy/sumdb/sum.golang.org/lookup/golang.org/toolchain@$mv
	if [ "${GOSUMDB:-}" = off ]; then
		: >"$tmp/sum"
	elif ! curl -fsSL --retry 2 --connect-timeout 30 --max-time 600 -o "$tmp/sum" "$url" 2>"$tmp/err"; then
		LEAKY_ERROR="cannot fetch the checksum of $v: $url: $(head -c 300 "$tmp/err") (GOSUMDB=off: no check)"
		rm -rf "$tmp"
		return 1
	fi
	if ! out=$(python3 - "$tmp" "golang.org/toolchain $mv " "$dir" 2>&1 <<-'PY'
		import base64, hashlib, os, sys, zipfile
		tmp, key, dest = sys.argv[1:]
		z = zipfile.ZipFile(os.path.join(tmp, "zip"))
		names = sorted(n for n in z.namelist() if not n.endswith("/"))
		want = [l.split()[2] for l in open(os.path.join(tmp, "sum")) if l.startswith(key)]
		if want or os.environ.get("GOSUMDB") != "off":
		    # dirhash.Hash1, as go.sum has it
		    summary = "".join("%s  %s\n" % (hashlib.sha256(z.read(n)).hexdigest(), n) for n in names)
		    got = "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()
		    if want != [got]:
		        sys.exit("the zip's checksum %s is not the checksum database's %s" % (got, want or "(none found)"))
		prefix = key.replace(" ", "@", 1).strip() + "/"
		root = os.path.join(tmp, "root")
		for n in names:
		    if not n.startswith(prefix) or ".." in n.split("/"):
		        sys.exit("unexpected file in the zip: %s" % n)
		    path = os.path.join(root, n[len(prefix):])
		    os.makedirs(os.path.dirname(path), exist_ok=True)
		    with open(path, "wb") as f:
		        f.write(z.read(n))
		for d in ("bin", "pkg/tool"):
		    for top, _, files in os.walk(os.path.join(root, d)):
		        for f in files:
		            os.chmod(os.path.join(top, f), 0o755)
		try:
		    os.rename(root, dest)
		except OSError:
		    if not os.path.isdir(dest):	# else: another run was first
		        raise
		PY
	); then
		LEAKY_ERROR="cannot unpack $v from $proxy: $(tail -n 1 <<<"$out" | head -c 300)"
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	if [ "$(GOTOOLCHAIN=local "$dir/bin/go" env GOVERSION 2>"$TL_TMP/go-fetch.err")" != "$v" ]; then
		LEAKY_ERROR="$dir/bin/go, fetched, does not run as $v: $(head -c 300 "$TL_TMP/go-fetch.err")"
		return 1
	fi
	GO_FETCHED=$dir/bin/go
	return 0
}

# go_next_toolchain: sets GO_NEXT_GO to the go command of GO_NEXT
# (go_fetch_toolchain).  Returns 1, the reason in LEAKY_ERROR, when it
# cannot be had.  Call it directly, not in $(...): it sets variables.
go_next_toolchain()
{
	GO_NEXT_GO=
	go_fetch_toolchain "$GO_NEXT" || return 1
	GO_NEXT_GO=$GO_FETCHED
}

# go_release_toolchain VERSION: sets GO_FETCHED to the go command of a Go
# of VERSION's minor ("go1.21.13": any 1.21): one here (go_toolchains)
# when there is one, else VERSION itself (go_fetch_toolchain).  Returns 1
# with the reason in LEAKY_ERROR when neither can be had.  Call it
# directly, not in $(...).
go_release_toolchain()
{
	local want=$1 g
	GO_FETCHED=
	for g in $(go_toolchains); do
		if [ "$(go_minor "$(go_version "$g")")" = "$(go_minor "$want")" ]; then
			GO_FETCHED=$g
			return 0
		fi
	done
	go_fetch_toolchain "$want"
}

# go_fetch_releases: every toolchain of GO_RELEASES and GO_OLD_RELEASES
# (go_release_toolchain), fetched into TL_GO_CACHE when missing; a line on
# stderr for each one fetched.  Returns 1 with every failure, one a line,
# in LEAKY_ERROR.  (scripts/deps.sh test runs it.)
go_fetch_releases()
{
	local v errs=
	for v in $GO_RELEASES $GO_OLD_RELEASES; do
		local had=0
		[ -x "$TL_GO_CACHE/$v/bin/go" ] && had=1
		if ! go_release_toolchain "$v"; then
			errs+=${errs:+$'\n'}$LEAKY_ERROR
		elif ((!had)) && [ "$GO_FETCHED" = "$TL_GO_CACHE/$v/bin/go" ]; then
			echo "fetched $v into $TL_GO_CACHE/$v" >&2
		fi
	done
	LEAKY_ERROR=$errs
	[ -z "$errs" ]
}

# TL_GO_BUILDS: the testdata/go programs go_build_cached keeps between
# runs, one file per toolchain version, variant and hash of the sources;
# default ${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-tests/go-builds.
TL_GO_BUILDS=${TL_GO_BUILDS:-${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-tests/go-builds}

# leaky_source_hash: 16 hex digits of the hash of testdata/go/leaky's
# sources, the package it imports and go.mod (what a build of it depends
# on, but the toolchain).
leaky_source_hash()
{
	(cd "$TL_ROOT/testdata/go" && cat go.mod leaky/*.go internal/dump/*.go) | sha256sum | cut -c 1-16
}

# build_leaky_cached GO VARIANT: sets LEAKY_BIN to testdata/go/leaky as
# build_leaky builds it with GO and VARIANT: the one kept in TL_GO_BUILDS
# for that Go version, variant and source hash, else built now and kept
# there (a private name renamed into place; the builds of older sources
# of that version and variant removed).  Returns 1 (the reason in
# LEAKY_ERROR) when it does not build.  Call it directly, not in $(...).
build_leaky_cached()
{
	local go=$1 variant=$2 v key tmp old
	LEAKY_BIN=
	v=$(go_version "$go")
	[ -n "$v" ] || { LEAKY_ERROR="$go: no version"; return 1; }
	key=leaky-$v-$variant-$(leaky_source_hash)
	if [ -x "$TL_GO_BUILDS/$key" ]; then
		LEAKY_BIN=$TL_GO_BUILDS/$key
		return 0
	fi
	mkdir -p "$TL_GO_BUILDS" && tmp=$(mktemp "$TL_GO_BUILDS/.$key.XXXXXX") ||
		{ LEAKY_ERROR="cannot write in $TL_GO_BUILDS"; return 1; }
	if ! build_leaky "$go" "$variant" "$tmp"; then
		rm -f "$tmp" "$tmp.build-err"
		return 1
	fi
	rm -f "$tmp.build-err"
	for old in "$TL_GO_BUILDS/leaky-$v-$variant-"*; do
		[ "$old" = "$TL_GO_BUILDS/$key" ] || rm -f "$old"
	done
	mv -f "$tmp" "$TL_GO_BUILDS/$key" || { LEAKY_ERROR="cannot write in $TL_GO_BUILDS"; return 1; }
	LEAKY_BIN=$TL_GO_BUILDS/$key
}

# build_oldgo_cached GO: sets OLDGO_BIN to testdata/go/oldgo built with GO,
# a Go before 1.19 (GO_OLD_RELEASES), stripped (-ldflags='-s -w'), kept
# in TL_GO_BUILDS as build_leaky_cached keeps leaky.  The go env file's
# GOFLAGS (-buildvcs=false, which Go 1.17 does not know) is not used.
# Returns 1 (the reason in LEAKY_ERROR) when it does not build.  Call it
# directly, not in $(...).
build_oldgo_cached()
{
	local go=$1 v key tmp flags=()
	OLDGO_BIN=
	v=$(go_version "$go")
	[ -n "$v" ] || { LEAKY_ERROR="$go: no version"; return 1; }
	key=oldgo-$v-$( (cd "$TL_ROOT/testdata/go" && cat go.mod oldgo/*.go) | sha256sum | cut -c 1-16)
	if [ -x "$TL_GO_BUILDS/$key" ]; then
		OLDGO_BIN=$TL_GO_BUILDS/$key
		return 0
	fi
	(($(go_minor "$v") >= 18)) && flags=(-buildvcs=false)
	mkdir -p "$TL_GO_BUILDS" && tmp=$(mktemp "$TL_GO_BUILDS/.$key.XXXXXX") ||
		{ LEAKY_ERROR="cannot write in $TL_GO_BUILDS"; return 1; }
	if ! (cd "$TL_ROOT/testdata/go" && GOENV=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
		"$go" build "${flags[@]}" "-ldflags=-s -w" -o "$tmp" ./oldgo) >"$tmp.build-err" 2>&1; then
		LEAKY_ERROR="$v: cannot build testdata/go/oldgo: $(head -c 300 "$tmp.build-err")"
		rm -f "$tmp" "$tmp.build-err"
		return 1
	fi
	rm -f "$tmp.build-err" "$TL_GO_BUILDS/oldgo-$v-"*
	mv -f "$tmp" "$TL_GO_BUILDS/$key" || { LEAKY_ERROR="cannot write in $TL_GO_BUILDS"; return 1; }
	OLDGO_BIN=$TL_GO_BUILDS/$key
}
