#!/bin/sh
# make demo: start the bundled leaky demo server, take a grouped snapshot of
# it with threadleak, print it, and stop the demo (by its pid).
set -u
out=$(mktemp)
testdata/demo >"$out" 2>&1 &
demo=$!
trap 'kill -9 $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f "$out"' EXIT INT TERM
i=0
until grep -q '^ready' "$out"; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $demo 2>/dev/null; then
		echo "threadleak: the demo did not start; its output:" >&2
		cat "$out" >&2
		exit 2
	fi
	sleep 0.1
done
echo "\$ threadleak snapshot $demo    # the demo leaks a worker thread every 100 ms"
echo
./threadleak snapshot "$demo"
rc=$?
echo "(demo stopped; 'man ./man/threadleak.1' for more)"
exit $rc
