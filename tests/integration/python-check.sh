#!/bin/bash
# python-check: `threadleak check` on a Python program that leaks a thread
# blocked in queue.get (testdata/python/leaks.py), on every CPython
# 3.8-3.13 this machine has:
#   - exit: it leaves by os._exit, the interpreter still lists the thread:
#     the leak is reported (exit 1) with its threading name and Python
#     frames, leaky_worker at leaks.py, waiting in queue.get;
#   - daemon: the interpreter deletes the daemon's state as it finalizes:
#     the leak is reported with its C frames and a line saying why;
#   - in both, "created by" has the creator's Python frames, read while
#     it waited in clone3: start_worker at leaks.py, below Thread.start;
#   - hang: a thread that is not a daemon keeps the interpreter waiting
#     at its exit for ever: --timeout reports both threads with their
#     Python frames, the main one joining threads at exit.
. "$(dirname "$0")/../lib.sh"

need_threadleak
LEAKS=$TL_ROOT/testdata/python/leaks.py

# created_by LABEL OUT: the "created by" section names start_worker at
# leaks.py, called from <module>, below Thread.start in threading.py
created_by()
{
	local label=$1 out=$2 cb
	cb=$(sed -n '/^  created by:$/,/^$/p' "$out.err")
	grep -Eq '^    (Thread\.)?start +threading\.py:[0-9]+' <<<"$cb" &&
		grep -Eq '^    start_worker +leaks\.py:[0-9]+' <<<"$cb" &&
		grep -Eq '^    <module> +leaks\.py:[0-9]+' <<<"$cb" ||
		error "$label: \"created by\" has not the creator's Python frames (Thread.start, start_worker, <module>): $(grep -E -A1 '^    (thread_PyThread_start|PyThread_start)' <<<"$cb" | tail -1 | tr -s ' ')"
}

# one LABEL PYTHON
one()
{
	local label=$1 py=$2 out
	out=$TL_TMP/$label-exit
	run_tl "$out" check -- "$py" "$LEAKS" exit
	((TL_RC == 1)) || error "$label exit: $(describe_rc $TL_RC), expected 1 (a leak): $(first_line "$out.err")"
	grep -Eq '^1 thread  queue\.get \(futex\)' "$out.err" &&
		grep -Eq '^  threads: leaky  \[[0-9]+\]' "$out.err" &&
		grep -Eq '^    leaky_worker +leaks\.py:[0-9]+' "$out.err" ||
		error "$label exit: the leak is not reported in queue.get, named leaky, with leaky_worker: $(grep -m3 -E '^1 thread|leaky' "$out.err" | tr '\n' '|')"
	created_by "$label exit" "$out"

	out=$TL_TMP/$label-daemon
	run_tl "$out" check -- "$py" "$LEAKS" daemon
	((TL_RC == 1)) || error "$label daemon: $(describe_rc $TL_RC), expected 1 (a leak): $(first_line "$out.err")"
	grep -q "^Python frames not read: 1 thread in the eval loop that the interpreter no longer lists (it deletes daemon threads' states as it exits)" "$out.err" &&
		grep -Eq '^    _PyEval_EvalFrameDefault ' "$out.err" ||
		error "$label daemon: no line saying why the Python frames are gone, or no C frames: $(grep -m2 -E 'Python|_PyEval' "$out.err" | tr '\n' '|')"
	created_by "$label daemon" "$out"

	out=$TL_TMP/$label-hang
	run_tl "$out" check --timeout 2 -- "$py" "$LEAKS" hang
	((TL_RC == 1)) || error "$label hang: $(describe_rc $TL_RC), expected 1 (still running at the deadline)"
	grep -q '^threadleak: the command still ran at its deadline (--timeout 2): 1 process, 2 threads alive' "$out.err" &&
		grep -Eq '^1 thread  queue\.get \(futex\)' "$out.err" &&
		grep -Eq '^    leaky_worker +leaks\.py:[0-9]+' "$out.err" &&
		grep -Eq '^1 thread  Thread\.join \(at exit\) \(futex\)' "$out.err" &&
		grep -Eq '^    _shutdown +threading\.py:[0-9]+' "$out.err" ||
		error "$label hang: $(describe_rc $TL_RC): not both threads with their Python frames: $(grep -m4 -E 'deadline|^1 thread|leaky|_shutdown' "$out.err" | tr '\n' '|')"
}

pyenv=${PYENV_ROOT:-$HOME/.pyenv}/versions
tested=()
for dir in "$pyenv"/3.*; do
	v=${dir##*/}
	minor=$(cut -d. -f1-2 <<<"$v")
	case $minor in 3.[0-7]) continue ;; esac
	[ -x "$dir/bin/python$minor" ] || continue
	one "$v" "$dir/bin/python$minor"
	tested+=("$v")
done
((${#tested[@]})) || skip "no CPython 3.8+ under pyenv here"
note "checked: ${tested[*]}"
finish
