# tests/serve-lib.sh: helpers for the tests of `threadleak serve` (bash),
# on top of tests/lib.sh:
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../serve-lib.sh"
#
#	start_serve --listen 127.0.0.1:0 --interval 600 "$PID"
#	scrape "$TL_TMP/m" || ...     # /metrics once serve has published
#	serve_exit 60 "WHAT"          # SERVE_RC: its exit status
#	start_prometheus [RULES]      # a real prometheus scraping SERVE_ADDR

# start_serve ARG...: threadleak serve ARG... in the background (under env
# with SERVE_ENV's assignments); sets SERVE_PID, SERVE_ERR and SERVE_ADDR
# (from its "serving" line).
SERVE_ENV=()
start_serve()
{
	local deadline=$((SECONDS + 60))
	start_target_nowait env "${SERVE_ENV[@]}" "$THREADLEAK" serve "$@"
	SERVE_PID=$TARGET_PID SERVE_ERR=$TARGET_ERR SERVE_ADDR=
	until [ -n "$SERVE_ADDR" ]; do
		SERVE_ADDR=$(sed -n 's|^threadleak: serving http://\(.*\)/metrics$|\1|p' "$SERVE_ERR" 2>/dev/null)
		[ -n "$SERVE_ADDR" ] && break
		proc_alive "$SERVE_PID" || fail "serve $* exited: $(first_line "$SERVE_ERR")"
		((SECONDS < deadline)) || fail "serve $* said nothing in 60 s"
		tl_sleep 0.05
	done
}

# scrape FILE [URL]: GET /metrics into FILE, waiting (60 s) for the first
# refresh; false (and an error) if it never answers 200.  The labels of
# where a process runs (a test's targets run where the test runs: in a
# session's scope, a CI service, a container) are taken out of the
# series, so that the tests' series are the same anywhere, unless
# SCRAPE_WHERE=1 (containers.sh).
scrape()
{
	local deadline=$((SECONDS + 60)) code url=${2:-http://$SERVE_ADDR/metrics}
	while :; do
		code=$(curl -gs -o "$1" -w '%{http_code}' "$url")
		if [ "$code" = 200 ] && [ "${SCRAPE_WHERE:-}" != 1 ] && [[ $url == */metrics ]]; then
			sed -i -E 's/,(container_runtime|container_id|pod_uid|unit)="[^"]*"//g' "$1"
		fi
		[ "$code" = 200 ] && return 0
		((SECONDS < deadline)) || { error "GET $url: HTTP $code"; return 1; }
		tl_sleep 0.1
	done
}

# serve_exit SECONDS WHAT: wait for serve to exit; sets SERVE_RC.  Still
# there after SECONDS, it hangs: the test fails now (every later wait
# would hang too).
serve_exit()
{
	local deadline=$((SECONDS + $1))
	while proc_alive "$SERVE_PID" && ((SECONDS < deadline)); do
		tl_sleep 0.05
	done
	if proc_alive "$SERVE_PID"; then
		kill_target "$SERVE_PID"
		fail "$2: serve still runs $1 s later"
	fi
	unregister_pid "$SERVE_PID"
	wait "$SERVE_PID"
	SERVE_RC=$?
	return 0
}

# start_prometheus [RULES]: Debian's prometheus on a free loopback port,
# scraping serve (SERVE_ADDR) and evaluating every second (RULES, a rules
# file, loaded when given), with its data in $TL_TMP/prom; waits (60 s)
# until it is ready.  Sets PROM (HOST:PORT), PROM_PID and PROM_ERR; it is
# killed at the exit like any target.
start_prometheus()
{
	local dir=$TL_TMP/prom deadline=$((SECONDS + 60)) port
	mkdir -p "$dir/data"
	{
		printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
		[ -z "${1:-}" ] || printf 'rule_files:\n  - %s\n' "$1"
		printf 'scrape_configs:\n  - job_name: threadleak\n    static_configs:\n'
		printf "      - targets: ['%s']\n" "$SERVE_ADDR"
	} >"$dir/prometheus.yml"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PROM=127.0.0.1:$port
	start_target_nowait prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="$PROM" --log.level=warn
	PROM_PID=$TARGET_PID PROM_ERR=$TARGET_ERR
	until curl -sf "http://$PROM/-/ready" >/dev/null; do
		proc_alive "$PROM_PID" || fail "prometheus exited: $(tail -c 300 "$PROM_ERR")"
		((SECONDS < deadline)) || fail "prometheus not ready after 60 s"
		tl_sleep 0.2
	done
}
