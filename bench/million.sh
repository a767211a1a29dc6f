#!/bin/bash
# bench/million.sh: threadleak on a Go program with a million parked
# goroutines, beside the program's own goroutine dumps and Delve, all on
# the same live process.  `make bench` runs it at 100,000 and 1,000,000.
#
#	bench/million.sh [N...]          (default: 100000 1000000)
#	bench/million.sh --install-dlv   (scripts/deps.sh bench: Delve only)
#
# For each N it builds testdata/go/million with a Go 1.26 (the one here,
# else fetched as the tests fetch theirs: tests/go-lib.sh), starts it with
# -n N (N goroutines parked in eight distinct stacks; its top comment says
# which), waits for its "ready", takes one untimed `snapshot -o` (the
# first file for diff; it also fills threadleak's cache of debug files
# as a user's first run would), then runs REPEAT rounds of every command
# below, one after the other, on that same process:
#
#   snapshot          threadleak snapshot PID (the text, grouped)
#   pprof debug=1     the program's goroutine profile, grouped
#   snapshot -t       threadleak snapshot --threads PID (every goroutine)
#   pprof debug=2     the program's goroutine profile, every goroutine
#   runtime.Stack     runtime.Stack(buf, true) with a buffer big enough:
#                     debug=2 without pprof's 64 MiB cap
#   snapshot -o       threadleak snapshot -q -o FILE
#   diff              threadleak diff of the file before and this one
#   export            threadleak export -f pprof -o OUT FILE
#   top -b -n 2       threadleak top -b -n 2 PID (two frames, 1 s apart)
#   dlv goroutines    dlv attach PID, `goroutines`, `quit` answered "n"
#                     (detach, the process goes on)
#   dlv -group        the same with `goroutines -group userloc`
#
# Delve runs in the first DLV_REPEAT rounds only (at a million goroutines
# one run takes minutes and gigabytes).  The program's dumps are asked of
# it over HTTP (/dump?debug=D, /stack: testdata/go/million) and timed
# inside it around the call (pprof.Lookup("goroutine").WriteTo into a
# writer that counts and keeps nothing; the HTTP exchange is not counted).
#
# Figures, for each command:
#   wall        median over the runs: date around a threadleak or dlv run
#               (GNU time and timeout included, a few ms); for the
#               program's dumps the time inside it
#   CPU         median over the runs of the CPU time used, user and
#               system (GNU time %U + %S; for the dumps, the program's
#               own over the call, from getrusage): the figure a loaded
#               machine inflates least
#   peak RSS    the largest over the runs (GNU time %M); for the dumps:
#               the target's own memory, not measured per dump
#   output      the size of what it wrote (the text, the file, the dump),
#               and what it lists where that says something (goroutines
#               in a dump, a truncated one)
#   stopped     how long the target was stopped, as each one accounts for
#               it: threadleak's own figure (threads stopped in the text;
#               stop_ms_total and stop_ms_max of the file written by -o);
#               the runtime's stop-the-world pauses (other than the GC's)
#               that ended during the dump, from runtime/metrics
#               /sched/pauses/total/other:seconds, read before and after
#               it: how many, the longest (the upper bound of its
#               histogram bucket, within 12.5%), their total; Delve: it
#               stops every thread from attach to detach, so its whole
#               run (measured from outside, below)
#   tick gap    median over the runs of the largest gap between two ticks
#               of a 10 ms ticker in the target over the command's run
#               (asked of the target before and after it): about 10 ms
#               when nothing stopped the program, the length of the stop
#               when something did.  This is the stop measured from
#               outside the tool for every row alike.
#   runs        runs that succeeded of those made; a command that fails or
#               refuses (a file over a limit) has its first line of error
#               in the row, and the rest go on
#
# The table goes to stdout and into BENCHMARKS.md between
# <!-- bench-million:start --> and <!-- bench-million:end -->, with the
# load average before and after each size (the machine is shared: the
# medians are there for that).
#
# Environment: BENCH_REPEAT (default 5), BENCH_DLV_REPEAT (default 1; at
# most BENCH_REPEAT; 0 leaves Delve out), BENCH_TIMEOUT (seconds a run may take, default
# 900), BENCH_OUT, THREADLEAK, BENCH_DLV (a dlv to use instead of the
# cached one).
set -u

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_ROOT/BENCHMARKS.md}
. "$BENCH_ROOT/tests/lib.sh"
. "$BENCH_ROOT/tests/go-lib.sh"
TMP=$TL_TMP
START='<!-- bench-million:start -->'
END='<!-- bench-million:end -->'
REPEAT=${BENCH_REPEAT:-5}
DLV_REPEAT=${BENCH_DLV_REPEAT:-1}
((DLV_REPEAT > REPEAT)) && DLV_REPEAT=$REPEAT
LIMIT=${BENCH_TIMEOUT:-900}
GO_WANT=go1.26.8
DLV_VERSION=v1.27.2
DLV_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/threadleak-bench/dlv-$DLV_VERSION
say() { printf 'bench: %s\n' "$*" >&2; }
. "$BENCH_ROOT/bench/lib.sh"

# find_go: sets GO to a Go 1.26 (here, or fetched into the tests' cache)
find_go()
{
	go_release_toolchain "$GO_WANT" || { say "no Go 1.26: $LEAKY_ERROR"; return 1; }
	GO=$GO_FETCHED
}

# install_dlv: Delve $DLV_VERSION in DLV_DIR, built from the module proxy
# with a Go 1.26 when it is not there yet (Debian's delve is too old for
# Go 1.26).  Sets DLV.
install_dlv()
{
	DLV=$DLV_DIR/dlv
	[ -x "$DLV" ] && return 0
	find_go || return 1
	say "installing Delve $DLV_VERSION into $DLV_DIR"
	mkdir -p "$DLV_DIR" || return 1
	if ! GOTOOLCHAIN=local GOBIN=$DLV_DIR GOFLAGS=-buildvcs=false \
		"$GO" install "github.com/go-delve/delve/cmd/dlv@$DLV_VERSION" >"$TMP/dlv-install" 2>&1; then
		say "cannot install Delve: $(tail -n 3 "$TMP/dlv-install")"
		return 1
	fi
}

if [ "${1:-}" = --install-dlv ]; then
	install_dlv
	exit
fi
SIZES=${*:-100000 1000000}
for n in $SIZES; do
	[[ $n =~ ^[0-9]+$ ]] || { say "usage: bench/million.sh [N...] (goroutines), or --install-dlv"; exit 2; }
done
[ -x "$THREADLEAK" ] || { say "no $THREADLEAK: run make first"; exit 1; }
[ -x /usr/bin/time ] || { say "needs /usr/bin/time: make bench installs it"; exit 1; }
command -v curl >/dev/null || { say "needs curl: make bench installs it"; exit 1; }
find_go || exit 1
GOV=$(go_version "$GO")
if [ -n "${BENCH_DLV:-}" ]; then
	DLV=$BENCH_DLV
elif ! install_dlv; then
	DLV=
	say "Delve rows left out"
fi
BIN=$TMP/million
(cd "$BENCH_ROOT/testdata/go" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
	"$GO" build -o "$BIN" ./million) || { say "cannot build testdata/go/million with $GOV"; exit 1; }

now_ms() { echo $(($(tl_now_us) / 1000)); }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
size() { awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%.2f GiB", b / 1073741824; else if (b >= 1048576) printf "%.1f MiB", b / 1048576; else printf "%.0f KiB", b / 1024 }'; }

# ask PATH: the target's answer to GET PATH (its line on stdout)
ask() { curl -sf --max-time "$LIMIT" "http://$ADDR$1"; }
# gap: the target's largest tick gap (ms) since the last ask of it
gap() { ask /gap | awk '{ printf "%.0f", $2 }'; }

# field LINE KEY: the value after KEY in "key value key value ..."
field() { awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' <<<"$1"; }

# unstop: a thread of the target left stopped is said and let go
unstop()
{
	local s
	s=$(stopped_threads "$PID" | head -n 3)
	[ -z "$s" ] && return 0
	say "LEFT STOPPED after $1: $s; SIGCONT"
	kill -CONT "$PID"
	LEFT_STOPPED+=("$1")
}

# stopped_count FILE: the threads a text snapshot says it stopped
stopped_count()
{
	sed -n '2{s/.*; \([0-9]*\) threads* stopped briefly$/\1/p; s/.*; no thread stopped$/0/p}' "$1"
}

# run NAME CMD...: one timed run of CMD (its output in $TMP/NAME.out,
# errors in $TMP/NAME.err): R_RC, R_MS, R_RSS (KiB), R_CPU (s), R_GAP
# (ms); a failure is said and kept in FAILS[NAME]
declare -A FAILS OK RUNS
run()
{
	local name=$1 t0 t1 rss u s
	shift
	gap >/dev/null
	t0=$(now_ms)
	/usr/bin/time -f '%M %U %S' -o "$TMP/time" timeout -k 10 "$LIMIT" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	R_RC=$?
	t1=$(now_ms)
	R_GAP=$(gap)
	R_MS=$((t1 - t0))
	read -r rss u s < <(tail -n 1 "$TMP/time")
	[[ $rss =~ ^[0-9]+$ ]] || rss=0
	R_RSS=$rss
	R_CPU=$(awk -v u="${u:-0}" -v s="${s:-0}" 'BEGIN { printf "%.2f", u + s }')
	RUNS[$name]=$((${RUNS[$name]:-0} + 1))
	unstop "$name"
	# snapshot and diff exit 1 for what they found (a leak, a growth)
	case $name:$R_RC in
	*:0 | snap:1 | threads:1 | file:1 | warm:1 | diff:1) R_RC=0 ;;
	esac
	if ((R_RC != 0)); then
		local why
		why=$(grep -m1 -v '^$' "$TMP/$name.err" | sed "s|$TMP/||g" | cut -c1-160)
		# 124: timeout's limit; 137 past it: its KILL, else another's
		# (the OOM killer's)
		if ((R_RC == 124 || (R_RC == 137 && R_MS >= LIMIT * 1000))); then
			why="over ${LIMIT}s${why:+: $why}"
		elif ((R_RC > 128 && R_RC < 160)); then
			why="killed by SIG$(kill -l $((R_RC - 128)))${why:+: $why}"
		fi
		FAILS[$name]="exit $R_RC${why:+: $why}"
		say "$name: ${FAILS[$name]}"
		return 1
	fi
	OK[$name]=$((${OK[$name]:-0} + 1))
	return 0
}

# dump NAME PATH: one of the program's own dumps (testdata/go/million)
dump()
{
	local name=$1 line
	RUNS[$name]=$((${RUNS[$name]:-0} + 1))
	if ! line=$(ask "$2") || [ -z "$(field "$line" ms)" ]; then
		FAILS[$name]="no answer from the program: ${line:0:160}"
		say "$name: ${FAILS[$name]}"
		return 1
	fi
	OK[$name]=$((${OK[$name]:-0} + 1))
	D_LINE=$line
}

ROWS=() INFO=()
# which threadleak: the tree's, or the one named by THREADLEAK
TL_WHAT=$(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
[ "$THREADLEAK" -ef "$BENCH_ROOT/threadleak" ] || TL_WHAT="$THREADLEAK (the tree: $TL_WHAT)"
declare -A V
# add NAME VALUE: VALUE kept for NAME, one a run
add() { V[$1]="${V[$1]:-} $2"; }
med() { median ${V[$1]:-}; }
big() { maxof ${V[$1]:-}; }
# bigmib NAME: the largest of NAME's KiB, in MiB
bigmib() { local k; k=$(big "$1"); echo "$((${k:-0} / 1024)) MiB"; }

for n in $SIZES; do
	unset V FAILS OK RUNS
	declare -A V FAILS OK RUNS
	LEFT_STOPPED=() DIED=
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	start_target_nowait "$BIN" -n "$n"
	PID=$TARGET_PID
	deadline=$((SECONDS + 900))
	until grep -qs '^ready' "$TARGET_OUT"; do
		proc_alive "$PID" && ((SECONDS < deadline)) ||
			{ say "million -n $n: not ready: $(head -c 300 "$TARGET_ERR")"; kill_target "$PID"; continue 2; }
		tl_sleep 0.5
	done
	ADDR=$(sed -n 's/^http //p' "$TARGET_OUT")
	total=$(sed -n 's/^ready //p' "$TARGET_OUT")
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")
	say "$n: target pid $PID, $total goroutines, RSS $((rss0 / 1024)) MiB; load $LOAD0"

	# the first file for diff, untimed
	run warm "$THREADLEAK" snapshot -q -o "$TMP/a.snap" "$PID"
	prev=$TMP/a.snap
	for ((r = 1; r <= REPEAT; r++)); do
		if ! proc_alive "$PID"; then
			say "$n: the target died before round $r: $(head -c 300 "$TARGET_ERR")"
			DIED="died before round $r"
			break
		fi
		say "$n: round $r of $REPEAT"
		if run snap "$THREADLEAK" snapshot "$PID"; then
			add snap.ms "$R_MS"; add snap.rss "$R_RSS"; add snap.cpu "$R_CPU"; add snap.gap "$R_GAP"
			add snap.bytes "$(stat -c %s "$TMP/snap.out")"
			st=$(stopped_count "$TMP/snap.out")
			add snap.stopped "${st:--1}"
		fi
		if dump pp1 "/dump?debug=1"; then
			for k in ms cpu_ms bytes goroutines pauses pause_max_ms pause_total_ms gap_ms; do
				add "pp1.$k" "$(field "$D_LINE" "$k")"
			done
		fi
		if run threads "$THREADLEAK" snapshot --threads "$PID"; then
			add threads.ms "$R_MS"; add threads.rss "$R_RSS"; add threads.cpu "$R_CPU"; add threads.gap "$R_GAP"
			add threads.bytes "$(stat -c %s "$TMP/threads.out")"
			st=$(stopped_count "$TMP/threads.out")
			add threads.stopped "${st:--1}"
		fi
		for d in pp2:/dump?debug=2 stack:/stack; do
			if dump "${d%%:*}" "${d#*:}"; then
				for k in ms cpu_ms bytes goroutines pauses pause_max_ms pause_total_ms gap_ms; do
					add "${d%%:*}.$k" "$(field "$D_LINE" "$k")"
				done
			fi
		done
		# the files alternate: this round's, and the one before for diff
		cur=$TMP/a.snap
		[ "$prev" = "$cur" ] && cur=$TMP/b.snap
		rm -f "$cur"
		if run file "$THREADLEAK" snapshot -q -o "$cur" "$PID"; then
			add file.ms "$R_MS"; add file.rss "$R_RSS"; add file.cpu "$R_CPU"; add file.gap "$R_GAP"
			add file.bytes "$(stat -c %s "$cur")"
			# the file's header: threadleak's own account of its stops
			h=$(head -c 4096 "$cur" | tr -d ' ')
			add file.stop_total "$(grep -o '"stop_ms_total":[0-9.e+-]*' <<<"$h" | cut -d: -f2 | head -n 1)"
			add file.stop_max "$(grep -o '"stop_ms_max":[0-9.e+-]*' <<<"$h" | cut -d: -f2 | head -n 1)"
		fi
		if [ -s "$cur" ]; then
			if [ -s "$prev" ] && run diff "$THREADLEAK" diff "$prev" "$cur"; then
				add diff.ms "$R_MS"; add diff.rss "$R_RSS"; add diff.cpu "$R_CPU"
			fi
			rm -f "$TMP/export.pb.gz"
			if run export "$THREADLEAK" export -f pprof -o "$TMP/export.pb.gz" "$cur"; then
				add export.ms "$R_MS"; add export.rss "$R_RSS"; add export.cpu "$R_CPU"
				add export.bytes "$(stat -c %s "$TMP/export.pb.gz" 2>/dev/null || echo 0)"
			fi
			prev=$cur
		fi
		if run top "$THREADLEAK" top -b -n 2 "$PID"; then
			add top.ms "$R_MS"; add top.rss "$R_RSS"; add top.cpu "$R_CPU"; add top.gap "$R_GAP"
		fi
		if [ -n "$DLV" ] && ((r <= DLV_REPEAT)); then
			for d in dlv:goroutines "dlvg:goroutines -group userloc"; do
				name=${d%%:*}
				printf '%s\nquit\nn\n' "${d#*:}" >"$TMP/$name.in"
				# (stdin is the script, not /dev/null)
				gap >/dev/null
				t0=$(now_ms)
				/usr/bin/time -f '%M %U %S' -o "$TMP/time" timeout -k 10 "$LIMIT" \
					"$DLV" attach "$PID" --allow-non-terminal-interactive=true \
					<"$TMP/$name.in" >"$TMP/$name.out" 2>"$TMP/$name.err"
				rc=$?
				t1=$(now_ms)
				g=$(gap)
				RUNS[$name]=$((${RUNS[$name]:-0} + 1))
				unstop "$name"
				listed=$(grep -c '^[[:space:]*]*Goroutine [0-9]* - ' "$TMP/$name.out")
				if ((rc != 0)) || ((listed == 0)); then
					why=$(grep -h -m1 -i 'error\|could not\|fail' "$TMP/$name.out" "$TMP/$name.err" | sed "s|$TMP/||g" | cut -c1-160)
					if ((rc == 124 || (rc == 137 && t1 - t0 >= LIMIT * 1000))); then
						why="over ${LIMIT}s${why:+: $why}"
					elif ((rc > 128 && rc < 160)); then
						why="killed by SIG$(kill -l $((rc - 128)))${why:+: $why}"
					fi
					FAILS[$name]="exit $rc, ${listed} listed${why:+: $why}"
					say "$name: ${FAILS[$name]}"
					continue
				fi
				OK[$name]=$((${OK[$name]:-0} + 1))
				add "$name.ms" $((t1 - t0)); add "$name.gap" "$g"
				read -r rss u s < <(tail -n 1 "$TMP/time")
				add "$name.rss" "$rss"
				add "$name.cpu" "$(awk -v u="${u:-0}" -v s="${s:-0}" 'BEGIN { printf "%.2f", u + s }')"
				add "$name.listed" "$listed"
				add "$name.groups" "$(grep -c '^[[:space:]]*Total: ' "$TMP/$name.out")"
			done
		fi
	done
	rss1=$(awk '/^VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$PID/status" 2>/dev/null)
	kill_target "$PID"
	rm -f "$TMP"/[ab].snap "$TMP/export.pb.gz" "$TMP"/*.out
	LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

	# row NAME COMMAND WALL CPU RSS OUTPUT STOPPED [GAP]: one line of the
	# table (GAP: the tick gap, by default NAME's median), or the failure
	# where no run of NAME succeeded
	row()
	{
		local runs="${OK[$1]:-0}/${RUNS[$1]:-0}" f=${FAILS[$1]:-}
		[ -n "$f" ] && runs="$runs (${f//|/\\|})"
		if ((${OK[$1]:-0} == 0)); then
			ROWS+=("| $total | $2 | - | - | - | - | - | - | $runs |")
		else
			ROWS+=("| $total | $2 | $3 | $4 | $5 | $6 | $7 | ${8:-$(med "$1.gap") ms} | $runs |")
		fi
	}
	# dumprow NAME COMMAND: a row of the program's own dumps
	dumprow()
	{
		local out
		out="$(size "$(med "$1.bytes")"), $(med "$1.goroutines") goroutines listed"
		(($(med "$1.goroutines") < total - 20)) && out="$out: TRUNCATED"
		row "$1" "$2" "$(med "$1.ms") ms (in the program)" "$(awk -v m="$(med "$1.cpu_ms")" 'BEGIN { printf "%.2f", m / 1000 }') s" "(in the target)" "$out" \
			"$(med "$1.pauses") stop$( (($(med "$1.pauses") == 1)) || echo s) of the world, longest $(med "$1.pause_max_ms") ms, $(med "$1.pause_total_ms") ms in all" \
			"$(med "$1.gap_ms") ms"
	}
	tlstop() { local s; s=$(med "$1.stopped"); [ "$s" = 0 ] && echo "no thread stopped" || echo "$s threads stopped briefly"; }
	row snap "\`threadleak snapshot PID\`" "$(med snap.ms) ms" "$(med snap.cpu) s" "$(bigmib snap.rss)" \
		"$(size "$(med snap.bytes)") of text" "$(tlstop snap)"
	dumprow pp1 "pprof \`debug=1\` (grouped)"
	row threads "\`threadleak snapshot --threads PID\`" "$(med threads.ms) ms" "$(med threads.cpu) s" "$(bigmib threads.rss)" \
		"$(size "$(med threads.bytes)") of text" "$(tlstop threads)"
	dumprow pp2 "pprof \`debug=2\` (every goroutine)"
	dumprow stack "\`runtime.Stack(buf, true)\`, buffer big enough"
	row file "\`threadleak snapshot -q -o FILE PID\`" "$(med file.ms) ms" "$(med file.cpu) s" "$(bigmib file.rss)" \
		"$(size "$(med file.bytes)") file" "stop_ms_total $(med file.stop_total), stop_ms_max $(med file.stop_max)"
	row diff "\`threadleak diff FILE1 FILE2\`" "$(med diff.ms) ms" "$(med diff.cpu) s" "$(bigmib diff.rss)" "-" "(reads files)" -
	row export "\`threadleak export -f pprof -o OUT FILE\`" "$(med export.ms) ms" "$(med export.cpu) s" "$(bigmib export.rss)" \
		"$(size "$(med export.bytes)") profile" "(reads a file)" -
	row top "\`threadleak top -b -n 2 PID\`" "$(med top.ms) ms (1 s between frames)" "$(med top.cpu) s" "$(bigmib top.rss)" \
		"-" "-"
	if [ -n "$DLV" ] && ((DLV_REPEAT > 0)); then
		row dlv "\`dlv attach PID\`, \`goroutines\`" "$(med dlv.ms) ms" "$(med dlv.cpu) s" "$(bigmib dlv.rss)" \
			"$(med dlv.listed) goroutines listed" "every thread, from attach to detach"
		row dlvg "\`dlv attach PID\`, \`goroutines -group userloc\`" "$(med dlvg.ms) ms" "$(med dlvg.cpu) s" "$(bigmib dlvg.rss)" \
			"$(med dlvg.groups) groups (10 goroutines shown of each)" "every thread, from attach to detach"
	fi
	INFO+=("- $total goroutines: target RSS $((rss0 / 1024)) MiB at ready, ${rss1:-gone} at the end; load average (1, 5, 15 min) before: $LOAD0; after: $LOAD1${LEFT_STOPPED:+; LEFT STOPPED after ${LEFT_STOPPED[*]}}${DIED:+; the target $DIED}")
	say "$n: done; load $LOAD1"
done

DLV_WHAT="Delve not run"
[ -n "$DLV" ] && ((DLV_REPEAT > 0)) &&
	DLV_WHAT="Delve $("$DLV" version 2>/dev/null | sed -n 's/^Version: //p') ($DLV_REPEAT run$( ((DLV_REPEAT == 1)) || echo s) of each)"
TABLE="| goroutines | command | wall (median) | CPU (median) | peak RSS | output | stopped, as the tool or runtime accounts for it | target's longest tick gap (median) | runs ok |
|---:|---|---:|---:|---:|---|---|---:|---|"
TABLE=$(table_rows "$TABLE" "${ROWS[@]}")
echo "$TABLE"
BLOCK="$START
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), threadleak $TL_WHAT, $GOV, $DLV_WHAT; \`bench/million.sh $SIZES\`, medians of $REPEAT run$( ((REPEAT == 1)) || echo s).

$(printf '%s\n' "${INFO[@]}")

$TABLE
$END"
put_block "$START" "$END" "$BLOCK" "## A million goroutines"
say "wrote $OUT"
