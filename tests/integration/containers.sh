#!/bin/bash
# containers: where a process runs, as its cgroup path says, in snapshot,
# serve and --match; its pid in its own PID namespace.
#   - cgroups of each runtime's shape are made under the cgroup v2
#     hierarchy (in a directory of the test's own): docker's (systemd
#     driver), containerd's in a Kubernetes pod's slice, CRI-O's under
#     the kubelet's cgroupfs tree, podman's (its "container" leaf), a
#     bare container id under /kubepods/, podman's conmon (a unit, not a
#     container) and a systemd service; a target is moved into each
#     (cgroup.procs).  The snapshot JSON and the text header name the
#     runtime, id (short in the text), pod UID and unit the path says,
#     and the JSON's cgroup is /proc/PID/cgroup's path; top's header
#     and diff's sides say it too;
#   - serve's index page says where each runs, as the header does;
#   - serve's series of each carry the labels container_runtime,
#     container_id (12 digits), pod_uid, unit, and none that is not
#     known; promtool parses the exposition;
#   - serve --match container=ID (short and full), container=RUNTIME,
#     pod=UID, unit=NAME, cgroup=PATH, and comm= with container= (both
#     must match) watch exactly the processes of those cgroups; a key
#     given twice is a usage error;
#   - a target started in its own PID namespace (unshare --pid --fork
#     --mount-proc) is pid 1 there, as it prints: the snapshot says both,
#     the host's pid and "1 in its namespace".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../serve-lib.sh"

need_root "making cgroups and PID namespaces"
need_cmd curl python3 promtool unshare
need_threadleak
need_testdata nothreads
SCRAPE_WHERE=1	# scrape keeps the labels

V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$V2" ] || skip "no cgroup v2 hierarchy mounted"
orig=$(sed -n 's/^0:://p' /proc/self/cgroup)
ORIG=$V2${orig%/}
[ -w "$ORIG/cgroup.procs" ] || fail "cannot write $ORIG/cgroup.procs"
BASE=$V2/threadleak-test.$$
mkdir "$BASE" || fail "cannot make a cgroup in $V2"
# Undone at the exit, before the targets are killed: each moved back
# where the test runs, then the cgroups removed, deepest first.
at_exit "for f in \$(find '$BASE' -name cgroup.procs); do
		while read -r p; do echo \"\$p\" >'$ORIG/cgroup.procs'; done <\"\$f\"
	done 2>/dev/null
	find '$BASE' -depth -type d -exec rmdir {} + 2>/dev/null"

hex64() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

ID_DOCKER=$(hex64) ID_CTRD=$(hex64) ID_CRIO=$(hex64) ID_PODMAN=$(hex64) ID_KUBE=$(hex64)
POD_CTRD=$(uuid) POD_CRIO=$(uuid) POD_KUBE=$(uuid)
UNIT=threadleak-test-$$.service

# name -> cgroup (under $BASE), runtime, id, pod, unit
declare -A CG RT ID POD UN PID
add_shape()
{
	CG[$1]=$2 RT[$1]=$3 ID[$1]=$4 POD[$1]=$5 UN[$1]=$6
}
add_shape docker "/system.slice/docker-$ID_DOCKER.scope" docker "$ID_DOCKER" "" ""
add_shape containerd "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_CTRD//-/_}.slice/cri-containerd-$ID_CTRD.scope" \
	containerd "$ID_CTRD" "$POD_CTRD" ""
add_shape crio "/kubepods/besteffort/pod$POD_CRIO/crio-$ID_CRIO" cri-o "$ID_CRIO" "$POD_CRIO" ""
add_shape podman "/machine.slice/libpod-$ID_PODMAN.scope/container" podman "$ID_PODMAN" "" ""
add_shape kube "/kubepods/pod$POD_KUBE/$ID_KUBE" kubernetes "$ID_KUBE" "$POD_KUBE" ""
add_shape conmon "/machine.slice/libpod-conmon-$ID_PODMAN.scope" "" "" "" "libpod-conmon-$ID_PODMAN.scope"
add_shape unit "/system.slice/$UNIT" "" "" "" "$UNIT"
SHAPES=(docker containerd crio podman kube conmon unit)

for s in "${SHAPES[@]}"; do
	mkdir -p "$BASE${CG[$s]}" || fail "cannot make the cgroup $BASE${CG[$s]}"
	start_target "$TESTDATA/nothreads"
	PID[$s]=$TARGET_PID
	echo "$TARGET_PID" >"$BASE${CG[$s]}/cgroup.procs" ||
		fail "cannot move $TARGET_PID into $BASE${CG[$s]}"
	want="0::/threadleak-test.$$${CG[$s]}"
	grep -qx "$want" /proc/"$TARGET_PID"/cgroup ||
		fail "$s: /proc/$TARGET_PID/cgroup does not say $want: $(tr '\n' '|' </proc/"$TARGET_PID"/cgroup)"
done

# ---- snapshot: JSON and header ----
for s in "${SHAPES[@]}"; do
	p=${PID[$s]}
	"$THREADLEAK" snapshot --json "$p" >"$TL_TMP/$s.json" 2>"$TL_TMP/$s.err" ||
		{ error "$s: snapshot --json $p: $(first_line "$TL_TMP/$s.err")"; continue; }
	got=$(python3 - "$TL_TMP/$s.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = d.get("container") or {}
print("|".join([d.get("cgroup", "-"), c.get("runtime", ""), c.get("id", ""),
                d.get("pod_uid", ""), d.get("unit", ""), str(d.get("nspid"))]))
EOF
)
	want="/threadleak-test.$$${CG[$s]}|${RT[$s]}|${ID[$s]}|${POD[$s]}|${UN[$s]}|$p"
	[ "$got" = "$want" ] || error "$s: the snapshot says '$got', the cgroup '$want'"
	"$THREADLEAK" snapshot "$p" >"$TL_TMP/$s.txt" 2>&1
	head=$(head -1 "$TL_TMP/$s.txt")
	if [ -n "${RT[$s]}" ]; then
		where="${RT[$s]} ${ID[$s]:0:12}${POD[$s]:+, pod ${POD[$s]}}"
	else
		where=${UN[$s]}
	fi
	[ "$head" = "nothreads (pid $p) in $where: 1 thread — 1 signal" ] ||
		error "$s: the header is '$head', not in $where"
done
# top's header
"$THREADLEAK" top -b -n 1 "${PID[containerd]}" >"$TL_TMP/top" 2>&1
want="threadleak top: pid ${PID[containerd]} (nothreads in containerd ${ID_CTRD:0:12}, pod $POD_CTRD), "
[[ $(head -1 "$TL_TMP/top") == "$want"* ]] || error "top's header is '$(head -1 "$TL_TMP/top")', not '$want...'"
# a file saved and read back says the same (diff's sides when they differ)
"$THREADLEAK" snapshot -o "$TL_TMP/d.snap" "${PID[docker]}" >/dev/null 2>&1
"$THREADLEAK" snapshot -o "$TL_TMP/u.snap" "${PID[unit]}" >/dev/null 2>&1
"$THREADLEAK" diff "$TL_TMP/d.snap" "$TL_TMP/u.snap" >"$TL_TMP/diff" 2>&1
grep -q "^before: .*(nothreads, pid ${PID[docker]}, in docker ${ID_DOCKER:0:12}, 1 thread)$" "$TL_TMP/diff" &&
	grep -q "^after: .*(nothreads, pid ${PID[unit]}, in $UNIT, 1 thread)$" "$TL_TMP/diff" ||
	error "diff does not say where each runs: $(head -2 "$TL_TMP/diff" | tr '\n' '|')"

# ---- serve: labels ----
args=()
for s in "${SHAPES[@]}"; do args+=("${PID[$s]}"); done
start_serve --listen 127.0.0.1:0 --interval 600 "${args[@]}"
m=$TL_TMP/metrics
scrape "$m" || fail "no metrics"
for s in "${SHAPES[@]}"; do
	labels="pid=\"${PID[$s]}\",comm=\"nothreads\""
	[ -n "${RT[$s]}" ] && labels+=",container_runtime=\"${RT[$s]}\",container_id=\"${ID[$s]:0:12}\""
	[ -n "${POD[$s]}" ] && labels+=",pod_uid=\"${POD[$s]}\""
	[ -n "${UN[$s]}" ] && labels+=",unit=\"${UN[$s]}\""
	grep -qxF "threadleak_threads{$labels} 1" "$m" ||
		error "$s: no series threadleak_threads{$labels} 1: $(grep "pid=\"${PID[$s]}\"" "$m" | head -1)"
	n=$(grep -c "^threadleak_[a-z_]*{$labels[,}]" "$m")
	((n == $(grep -c "pid=\"${PID[$s]}\"" "$m"))) ||
		error "$s: not every series of pid ${PID[$s]} has the labels {$labels}"
done
# the index page says where each runs, as the header does
curl -gs -o "$TL_TMP/index" "http://$SERVE_ADDR/"
for s in "${SHAPES[@]}"; do
	if [ -n "${RT[$s]}" ]; then
		where="${RT[$s]} ${ID[$s]:0:12}${POD[$s]:+, pod ${POD[$s]}}"
	elif [ -n "${POD[$s]}" ]; then
		where="pod ${POD[$s]}"
	else
		where=${UN[$s]}
	fi
	grep -qF "<tr><td>${PID[$s]}</td><td>nothreads</td><td>$where</td>" "$TL_TMP/index" ||
		error "$s: the index does not say it runs in $where: $(grep -o "<tr><td>${PID[$s]}</td>[^/]*</td><td>[^<]*" "$TL_TMP/index")"
done
promtool check metrics <"$m" >"$TL_TMP/promtool" 2>&1
rc=$?
((rc == 0)) || { ((rc == 3)) && ! grep -qv '"_count" suffix' "$TL_TMP/promtool"; } ||
	error "promtool check metrics: exit $rc: $(head -c 300 "$TL_TMP/promtool")"
kill_target "$SERVE_PID"

# ---- serve --match by where ----
# expect_match PIDS ARG...: serve --match ARG... watches PIDS (sorted, a
# space after each), as its first refresh's series say.  (Not in $(...):
# serve is killed as a child of this shell.)
expect_match()
{
	local want=$1 got
	shift
	start_serve --listen 127.0.0.1:0 --interval 600 "$@"
	scrape "$TL_TMP/mm" || return
	kill_target "$SERVE_PID"
	got=$(sed -n 's/^threadleak_up{pid="\([0-9]*\)".*/\1/p' "$TL_TMP/mm" | sort -n | tr '\n' ' ')
	[ "$got" = "$want" ] || error "serve $*: watches '$got', not '$want'"
}
expect_match "${PID[docker]} " --match "container=${ID_DOCKER:0:12}"
expect_match "${PID[containerd]} " --match "container=^$ID_CTRD\$"
expect_match "${PID[crio]} " --match "container=^cri-o\$"
expect_match "$(printf '%s\n' "${PID[crio]}" "${PID[kube]}" | sort -n | tr '\n' ' ')" \
	--match "pod=^($POD_CRIO|$POD_KUBE)\$"
expect_match "${PID[unit]} " --match "unit=^$UNIT\$"
expect_match "${PID[conmon]} " --match "unit=^libpod-conmon-"
expect_match "${PID[podman]} " --match "cgroup=/libpod-$ID_PODMAN.scope/container\$"
expect_match "${PID[podman]} " --match comm=nothreads --match container=podman
expect_match "" --match comm=nomatch --match container=podman
"$THREADLEAK" serve --listen 127.0.0.1:0 --match unit=a --match unit=b >/dev/null 2>"$TL_TMP/twice"
rc=$?
((rc == 64)) && grep -qx 'threadleak: give --match unit= once (REGEX can say a|b)' "$TL_TMP/twice" ||
	error "--match unit= twice: exit $rc, '$(first_line "$TL_TMP/twice")'"

# ---- its own PID namespace ----
start_target unshare --pid --fork --mount-proc --kill-child "$TESTDATA/nothreads"
own=$(awk '/^expect /{print $2}' "$TARGET_OUT")
inner=$(cat /proc/"$TARGET_PID"/task/*/children 2>/dev/null | awk '{print $1}')
[ "$own" = 1 ] || error "nothreads in its own namespace printed pid '$own', not 1"
[ -n "$inner" ] || fail "unshare $TARGET_PID has no child"
"$THREADLEAK" snapshot "$inner" >"$TL_TMP/ns.txt" 2>&1
head=$(head -1 "$TL_TMP/ns.txt")
case $head in
"nothreads (pid $inner, $own in its namespace)"*": 1 thread — 1 signal") ;;
*) error "in its own namespace: the header is '$head'" ;;
esac
"$THREADLEAK" snapshot --json "$inner" >"$TL_TMP/ns.json" 2>&1
grep -q "^ \"nspid\": $own,$" "$TL_TMP/ns.json" || error "the JSON says no nspid $own: $(grep nspid "$TL_TMP/ns.json")"
# every target read above is left running, none stopped
for s in "${SHAPES[@]}"; do
	assert_not_stopped "${PID[$s]}" "$s"
done
assert_not_stopped "$inner" "the process in its own PID namespace"
finish
