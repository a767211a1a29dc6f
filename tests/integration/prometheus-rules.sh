#!/bin/bash
# prometheus-rules: the alerting rules shipped (share/threadleak/prometheus/
# threadleak.rules.yml) pass Prometheus's own checks: `promtool check
# rules` (syntax, PromQL, templates) and `promtool test rules` on
# threadleak.rules.test.yml, which feeds each alert series that must fire
# it (a leak of goroutines, of threads, of one group; a capture failing;
# serve stuck; serve down) and series that must not (a spike that falls
# back, a steady high count, a pool that fills up and stays, one that takes
# an hour to fill, a process younger than an hour, the "other" group, a
# capture that failed once).  The tests can fail: a copy of the rules
# without the rise over the whole hour fails them.  A real prometheus
# loading the rules beside a scrape of serve: tests/integration/prometheus-scrape.sh.
# tl: once
. "$(dirname "$0")/../lib.sh"

need_cmd promtool
dir=$TL_ROOT/share/threadleak/prometheus
promtool check rules "$dir/threadleak.rules.yml" >"$TL_TMP/check" 2>&1 ||
	error "promtool check rules: $(tr '\n' ' ' <"$TL_TMP/check" | head -c 400)"
grep -q 'SUCCESS: 6 rules found' "$TL_TMP/check" || error "not the 6 rules: $(tr '\n' ' ' <"$TL_TMP/check")"
(cd "$dir" && promtool test rules threadleak.rules.test.yml) >"$TL_TMP/test" 2>&1 ||
	error "promtool test rules: $(head -c 600 "$TL_TMP/test" | tr '\n' ' ')"

# the tests can say no: the goroutine rule without its rise over the hour
cp "$dir/threadleak.rules.test.yml" "$TL_TMP/"
sed 's/min_over_time(deriv(threadleak_goroutines\[15m\])\[1h:5m\]) > 0/threadleak_goroutines > 0/' \
	"$dir/threadleak.rules.yml" >"$TL_TMP/threadleak.rules.yml"
cmp -s "$dir/threadleak.rules.yml" "$TL_TMP/threadleak.rules.yml" && fail "the broken copy is no different"
(cd "$TL_TMP" && promtool test rules threadleak.rules.test.yml) >"$TL_TMP/broken" 2>&1 &&
	error "promtool test rules passes rules that fire on a pool that fills up: the tests prove nothing"
finish
