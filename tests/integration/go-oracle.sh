#!/bin/bash
# go-oracle: the Go test program and the oracle that later tests compare
# threadleak's goroutine reader with, checked against each other now.  For
# every Go toolchain here (Debian's 1.19, /usr/local/go's newest, ...),
# testdata/go/leaky is built three ways (plain, -ldflags=-w,
# -ldflags='-s -w'), run with -n 3 -requests 5, asked for its own goroutine
# profile (SIGUSR1: debug=1 and debug=2), and tests/go-oracle.py must read
# both dumps and find in them:
#   - each leak kind in its own function, 3 goroutines each, with the
#     runtime's wait reason for that kind and Go version (1.19 says
#     "semacquire" where newer ones say "sync.Mutex.Lock" and
#     "sync.WaitGroup.Wait"), created by main.main ("in goroutine 1" from
#     Go 1.21);
#   - the HTTP handler's leak: 5 requestWorkers in chan send, created by
#     main.handleLeak, with the pprof labels {"handler":"leak", "route":"/leak"};
#   - the goroutines that are not leaks: pauseWatcher, the HTTP server's
#     accept loop, the os/signal loop (status syscall);
#   - the same stacks in both formats (the debug=2 goroutines grouped by
#     stack are the debug=1 groups), the same totals, and the same debug=1
#     form for the three builds (stripping does not change what the
#     program says of itself);
#   - the runtime's own dump (SIGQUIT with GOTRACEBACK=system, the process
#     stopped since the debug=2 dump), which shows the runtime's
#     goroutines and frames that pprof hides: read as debug=2 shows it
#     (go-oracle.py system-as-debug2), the goroutines debug=2 shows are
#     the same; the others (forcegc, sweep, scavenge, finalizers at
#     least) start in the runtime, as Go's isSystemGoroutine says; every
#     stack ends in runtime.goexit.  go-snapshot compares threadleak with
#     this dump.
# threadleak itself is not run here: it runs once, whatever binaries
# the run tests.
# tl: once
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../go-lib.sh"

need_cmd python3
t0=$(tl_now_us)
gos=()
while IFS= read -r g; do
	gos+=("$g")
done < <(go_toolchains)
((${#gos[@]})) || skip "no Go toolchain here: make check installs golang-go (scripts/deps.sh)"

N=3 K=5
LABELS='{"handler":"leak", "route":"/leak"}'

# the oracle's lines (FILE) whose FRAMES (column COL) have a frame in FUNC
rows_with()	# rows_with COL FUNC FILE
{
	awk -F'\t' -v col="$1" -v f="$2" 'index(";" $col ";", ";" f " ")' "$3"
}

for go in "${gos[@]}"; do
	v=$(go_version "$go")
	m=$(go_minor "$v")
	# Seen: 1.19.8 "semacquire" for both, 1.26.8 "sync.Mutex.Lock" and
	# "sync.WaitGroup.Wait".  Where they changed (1.20, 1.25) is read
	# from the runtime's history, not measured: no such Go here.
	mutex=sync.Mutex.Lock wg=sync.WaitGroup.Wait
	((m < 20)) && mutex=semacquire
	((m < 25)) && wg=semacquire
	# FUNCTION|COUNT|STATUS|WAIT REASON|CREATOR|LABELS (STATUS * : any,
	# for pauseWatcher, which wakes every 10 ms)
	table=(
		"main.leakChanSend|$N|waiting|chan send|main.main|"
		"main.leakChanRecv|$N|waiting|chan receive|main.main|"
		"main.leakNilChanRecv|$N|waiting|chan receive (nil chan)|main.main|"
		"main.leakRange|$N|waiting|chan receive|main.main|"
		"main.leakMutex|$N|waiting|$mutex|main.main|"
		"main.leakSharedMutex|$N|waiting|$mutex|main.main|"
		"main.leakWaitGroup|$N|waiting|$wg|main.main|"
		"main.leakSelectNoCases|$N|waiting|select (no cases)|main.main|"
		"main.leakSelect|$N|waiting|select|main.main|"
		"main.leakSleep|$N|waiting|sleep|main.main|"
		"main.leakTCPRead|$N|waiting|IO wait|main.main|"
		"main.leakPipeRead|$N|waiting|IO wait|main.main|"
		"main.requestWorker|$K|waiting|chan send|main.handleLeak|$LABELS"
		"main.pauseWatcher|1|*||main.main|"
		"net/http.(*Server).Serve|1|waiting|IO wait|main.main|"
		"os/signal.loop|1|syscall||os/signal.Notify.func1.1|"
	)
	first_o1=
	for variant in plain nodwarf stripped; do
		what="$v $variant"
		bin=$TL_TMP/leaky-$v-$variant
		build_leaky "$go" $variant "$bin" || { error "$LEAKY_ERROR"; continue; }
		start_leaky "$bin" -n $N -requests $K
		pid=$LEAKY_PID
		if ! dump_leaky "$pid"; then
			error "$what: $LEAKY_ERROR"
			kill_target "$pid"
			continue
		fi
		o1=$TL_TMP/oracle-$v-$variant.1
		o2=$TL_TMP/oracle-$v-$variant.2
		go_oracle debug1 "$LEAKY_DUMP1" >"$o1" 2>"$o1.err" ||
			error "$what: go-oracle debug1: $(first_line "$o1.err")"
		go_oracle debug2 "$LEAKY_DUMP2" >"$o2" 2>"$o2.err" ||
			error "$what: go-oracle debug2: $(first_line "$o2.err")"

		# what the program says it leaked, against the table
		declare -A said=()
		while read -r f c; do
			said[$f]=$c
		done < <(leaky_expect "$pid")

		# the runtime's own dump (GOTRACEBACK=system, at SIGQUIT),
		# with the process stopped since the debug=2 dump: read as
		# debug=2 shows it, the goroutines pprof shows are the same
		# (but main and pauseWatcher, which ran in between); the others
		# are the runtime's own, started in the runtime (Go's
		# isSystemGoroutine); every stack ends in runtime.goexit
		os=$TL_TMP/oracle-$v-$variant.s
		if stop_leaky "$pid" && system_dump "$pid"; then
			go_oracle system "$SYSTEM_DUMP" >"$os" 2>"$os.err" ||
				error "$what: go-oracle system: $(first_line "$os.err")"
			go_oracle system-as-debug2 "$SYSTEM_DUMP" >"$os.2" 2>"$os.err" ||
				error "$what: go-oracle system-as-debug2: $(first_line "$os.err")"
			# (ids of o2 joined with os.2; column 1 is the id)
			awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($1 in want)' "$o2" "$os.2" |
				grep -Ev $'^1\t|main\\.pauseWatcher ' | cut -f1-7 >"$os.users"
			grep -Ev $'^1\t|main\\.pauseWatcher ' "$o2" | cut -f1-7 >"$o2.users"
			cmp -s "$os.users" "$o2.users" ||
				error "$what: the runtime's dump read as debug=2 differs from debug=2: $(diff "$os.users" "$o2.users" | head -6 | cut -c 1-300 | tr '\n' '|')"
			at_least "$(grep -c . "$o2.users")" $((12 * N + K + 2)) "$what: goroutines of the runtime's dump checked against debug=2"
			awk -F'\t' 'NR == FNR { user[$1] = 1; next } !($1 in user)' "$o2" "$os" >"$os.system"
			ns=0
			while IFS=$'\037' read -r id st wr min frames cb ig flags l; do
				[ -n "$id" ] || continue
				ns=$((ns + 1))
				# the function the goroutine started in: the
				# outermost frame under runtime.goexit
				start=${frames%;runtime.goexit *}
				start=${start##*;}
				case $frames in
				runtime.gopark\ *\;*";runtime.goexit "*) ;;
				*) error "$what: system goroutine $id: not parked, or no runtime.goexit: ${frames:0:300}" ;;
				esac
				case $start in
				runtime.*) ;;
				*) error "$what: goroutine $id, not in debug=2, started in $start, not in the runtime: ${frames:0:300}" ;;
				esac
			done <<<"$(tr '\t' '\037' <"$os.system")"
			at_least "$ns" 4 "$what: the runtime's own goroutines"
			for f in runtime.forcegchelper runtime.bgsweep runtime.bgscavenge; do
				grep -q $'\t'"\\(.*;\\)\\?${f//./\\.} " "$os.system" ||
					error "$what: no $f goroutine in the runtime's dump: $(cut -f1,5 "$os.system" | head -c 400)"
			done
			grep -Eq $'\t(.*;)?runtime\\.(runfinq|runFinalizers) ' "$os.system" ||
				error "$what: no finalizer goroutine in the runtime's dump"
			bad=$(awk -F'\t' '$5 !~ /;runtime\.goexit asm_amd64\.s:[0-9]+$/ { print $1 }' "$os" | tr '\n' ' ')
			[ -z "$bad" ] || error "$what: goroutines whose stack does not end in runtime.goexit: $bad"
		else
			error "$what: $LEAKY_ERROR"
			kill_target "$pid"
		fi

		for e in "${table[@]}"; do
			IFS='|' read -r func count status reason creator labels <<<"$e"
			case $func in main.leak* | main.requestWorker)
				[ "${said[$func]:-}" = "$count" ] ||
					error "$what: the program says 'expect $func ${said[$func]:-(nothing)}', the test $count" ;;
			esac

			# debug=1: one group, COUNT goroutines, the labels
			g=$(rows_with 2 "$func" "$o1")
			if [ -z "$g" ] || (($(wc -l <<<"$g") != 1)); then
				error "$what: debug=1: $(wc -l <<<"$g" | tr -d ' ') groups in $func, expected 1${g:+: $(head -c 300 <<<"$g")}"
			else
				IFS=$'\037' read -r c frames l <<<"${g//$'\t'/$'\037'}"
				[ "$c" = "$count" ] || error "$what: debug=1: $c goroutines in $func, expected $count"
				[ "$l" = "$labels" ] || error "$what: debug=1: $func: labels '$l', expected '$labels'"
				# the oracle drops the runtime's frames: the stack
				# starts in Go code outside the runtime
				case $frames in runtime.*) error "$what: debug=1: $func starts in the runtime: ${frames:0:200}" ;; esac
			fi

			# debug=2: COUNT goroutines, each with the status, wait
			# reason, creator and parent
			rows=$(rows_with 5 "$func" "$o2")
			n=0
			[ -n "$rows" ] && n=$(wc -l <<<"$rows")
			((n == count)) || error "$what: debug=2: $n goroutines in $func, expected $count"
			# (a tab is white space to read: empty columns would vanish)
			while IFS=$'\037' read -r id st wr min frames cb ig flags l; do
				[ -n "$id" ] || continue
				[ "$status" = "*" ] || [ "$st|$wr" = "$status|$reason" ] ||
					error "$what: debug=2: goroutine $id in $func: status '$st' reason '$wr', expected '$status' '$reason'"
				[ -z "$min" ] || error "$what: debug=2: goroutine $id waits for $min minutes already"
				case $cb in "created by $creator "*:[0-9]*) ;;
				*) error "$what: debug=2: goroutine $id in $func: '$cb', expected created by $creator" ;;
				esac
				if ((m < 21)); then
					[ -z "$ig" ] || error "$what: debug=2: goroutine $id: '$ig' before Go 1.21"
				elif [ "$creator" = main.main ]; then
					[ "$ig" = "in goroutine 1" ] || error "$what: debug=2: goroutine $id in $func: '$ig', expected 'in goroutine 1'"
				else
					case $ig in "in goroutine "[0-9]*) ;;
					*) error "$what: debug=2: goroutine $id in $func: '$ig', expected 'in goroutine N'" ;;
					esac
				fi
			done <<<"${rows//$'\t'/$'\037'}"
		done

		# an inlined frame is a frame: sendValue inside leakChanSend
		grep -q $'\tmain\.sendValue main\.go:[0-9]*;main\.leakChanSend main\.go:' "$o1" ||
			error "$what: debug=1: no inlined main.sendValue frame over main.leakChanSend"
		grep -q $'\tmain\.sendValue main\.go:[0-9]*;main\.leakChanSend main\.go:' "$o2" ||
			error "$what: debug=2: no inlined main.sendValue frame over main.leakChanSend"

		# The two formats agree: the debug=2 goroutines grouped by stack
		# are the debug=1 groups (labels aside), but for the goroutine
		# that wrote the dumps, which was in a different call each time,
		# and pauseWatcher, which may have run in between.
		awk -F'\t' '!index($2, "internal/dump.Write ") && !index($2, "main.pauseWatcher ") { n[$2] += $1 }
			END { for (s in n) print n[s] "\t" s }' "$o1" | sort >"$o1.stacks"
		awk -F'\t' '!index($5, "internal/dump.Write ") && !index($5, "main.pauseWatcher ") { n[$5]++ }
			END { for (s in n) print n[s] "\t" s }' "$o2" | sort >"$o2.stacks"
		cmp -s "$o1.stacks" "$o2.stacks" ||
			error "$what: the debug=1 groups and the debug=2 goroutines differ: $(diff "$o1.stacks" "$o2.stacks" | head -c 600)"
		t1=$(sed -n '1s/^goroutine profile: total \([0-9]*\)$/\1/p' "$LEAKY_DUMP1")
		t2=$(wc -l <"$o2")
		want=$((12 * N + K + 4))
		[ "$t1" = "$want" ] && [ "$t2" = "$want" ] ||
			error "$what: $t1 goroutines at debug=1, $t2 at debug=2, expected $want"

		# stripping changes nothing the program says of itself
		grep -v 'main\.pauseWatcher ' "$o1" >"$o1.cmp"
		if [ -z "$first_o1" ]; then
			first_o1=$o1.cmp
		elif ! cmp -s "$first_o1" "$o1.cmp"; then
			error "$what: debug=1 differs from the plain build's: $(diff "$first_o1" "$o1.cmp" | head -c 400)"
		fi
	done
	note "$v: $(grep -c . "$o1") debug=1 groups, $(grep -c . "$o2") goroutines"
done
note "took $(seconds_since "$t0" 0)s"
finish
