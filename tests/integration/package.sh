#!/bin/bash
# package: make install and the Debian package, built from the tree,
# installed and run.
#   - make install DESTDIR=D PREFIX=/opt/tl puts down exactly the binary,
#     the man page, share/threadleak/'s files, the unit (ExecStart
#     /opt/tl/bin/threadleak), /etc/default/threadleak-serve (not replaced
#     when there) and the completion; make uninstall removes all but that
#     file;
#   - `make deb` (dpkg-buildpackage -us -uc -b in a copy of the tree, into
#     this test's own directory: DEBDIR) builds threadleak_VERSION_amd64.deb,
#     VERSION the tree's (cmd/main.c), and leaves the tree as it was
#     (git status unchanged);
#   - lintian finds no error and no warning in it;
#   - dpkg -i installs it, and every file is where it should be: the
#     binary, the man page (`man -w threadleak` finds it), share/threadleak's
#     files each identical to the tree's, the unit in /lib/systemd/system
#     (ExecStart the installed binary), /etc/default/threadleak-serve as a
#     conffile, the bash completion; the unit is neither enabled nor
#     started; libmicrohttpd12 and libdebuginfod1 (dlopened, invisible to
#     shlibs) are in Depends or Recommends;
#   - the installed /usr/bin/threadleak says its version and snapshots
#     testdata/groups (its threads counted as the program says, its groups'
#     functions named), also as nobody with no capability but the unit's
#     AmbientCapabilities (what the unit gives serve suffices to capture);
#   - the installed serve, run with the example arguments of
#     /etc/default/threadleak-serve (its port 0, its regex the target's
#     name) as nobody with the unit's capabilities, serves the target's
#     thread count as the program says it;
#   - `systemd-analyze verify` passes on the installed unit;
#   - dpkg --purge removes every file, the conffile too.
# The package is purged at the exit whatever happens (at_exit).  A machine
# with threadleak installed (the package, or any file the package would
# put down) is left alone: the test skips, and says which file.  One
# package test at a time on a machine (a lock), dpkg's own lock waited for.
#
# It builds the tree, not the binary under test: it runs once per
# tests/run.sh (the package build compiles the tree: one build per make
# check), not again with the ASan build.
# tl: once
# tl: timeout 900
. "$(dirname "$0")/../lib.sh"

need_root "dpkg -i"
need_cmd dpkg-buildpackage dh lintian systemd-analyze man git setpriv flock jq curl promtool
need_testdata groups

cd "$TL_ROOT" || fail "cannot cd to $TL_ROOT"
version=$(sed -n 's/^#define THREADLEAK_VERSION "\(.*\)"/\1/p' cmd/main.c)
[ -n "$version" ] || fail "no THREADLEAK_VERSION in cmd/main.c"

# one package test at a time on this machine (another make check beside)
exec {lockfd}>"${TMPDIR:-/tmp}/threadleak-package-test.lock" || fail "cannot open the lock file"
flock -w 600 "$lockfd" || fail "another package test held the lock for 600 s"

# never replace a threadleak the machine has
if dpkg-query -W -f '${db:Status-Status}' threadleak 2>/dev/null | grep -qvx 'not-installed'; then
	skip "the package threadleak is installed here ($(dpkg-query -W -f '${Version} ${db:Status-Status}' threadleak)): not replaced"
fi

# ---- make install, make uninstall (PREFIX, DESTDIR) ----
root=$TL_TMP/root
make --no-print-directory install DESTDIR="$root" PREFIX=/opt/tl >"$TL_TMP/install.log" 2>&1 ||
	fail "make install: $(tail -n 3 "$TL_TMP/install.log" | tr '\n' ' ')"
want=(opt/tl/bin/threadleak opt/tl/share/man/man1/threadleak.1
	opt/tl/lib/systemd/system/threadleak-serve.service etc/default/threadleak-serve
	opt/tl/share/bash-completion/completions/threadleak)
while IFS= read -r f; do
	want+=("opt/tl/share/threadleak/$f")
done < <(cd share/threadleak && find . -type f | sed 's|^\./||')
got=$(cd "$root" && find . -type f | sed 's|^\./||' | sort)
[ "$got" = "$(printf '%s\n' "${want[@]}" | sort)" ] ||
	error "make install DESTDIR PREFIX=/opt/tl installed [$(echo $got)], expected [$(printf '%s\n' "${want[@]}" | sort | tr '\n' ' ')]"
grep -qx 'ExecStart=/opt/tl/bin/threadleak serve $THREADLEAK_SERVE_ARGS' "$root/opt/tl/lib/systemd/system/threadleak-serve.service" ||
	error "make install PREFIX=/opt/tl: the unit's $(grep '^ExecStart=' "$root/opt/tl/lib/systemd/system/threadleak-serve.service")"
echo 'THREADLEAK_SERVE_ARGS=mine' >"$root/etc/default/threadleak-serve"
make --no-print-directory install DESTDIR="$root" PREFIX=/opt/tl >"$TL_TMP/install.log" 2>&1 ||
	fail "make install again: $(tail -n 3 "$TL_TMP/install.log" | tr '\n' ' ')"
[ "$(cat "$root/etc/default/threadleak-serve")" = THREADLEAK_SERVE_ARGS=mine ] ||
	error "make install replaced an existing /etc/default/threadleak-serve"
make --no-print-directory uninstall DESTDIR="$root" PREFIX=/opt/tl >"$TL_TMP/install.log" 2>&1 ||
	fail "make uninstall: $(tail -n 3 "$TL_TMP/install.log" | tr '\n' ' ')"
got=$(cd "$root" && find . -type f | sed 's|^\./||')
[ "$got" = etc/default/threadleak-serve ] ||
	error "after make uninstall: [$(echo $got)] left, expected etc/default/threadleak-serve alone"

# ---- build ----
status_before=$(git status --porcelain 2>&1)
debdir=$TL_TMP/deb
if ! make --no-print-directory deb DEBDIR="$debdir" >"$TL_TMP/deb.log" 2>&1; then
	fail "make deb failed: $(grep -m3 -iE 'error|fail' "$TL_TMP/deb.log" | tr '\n' ' ') (last: $(tail -n 3 "$TL_TMP/deb.log" | tr '\n' ' '))"
fi
deb=$debdir/threadleak_${version}_amd64.deb
[ -f "$deb" ] || fail "make deb made no $deb: $(ls "$debdir" | tr '\n' ' ')"
status_after=$(git status --porcelain 2>&1)
[ "$status_before" = "$status_after" ] ||
	error "make deb changed the tree: git status was [$status_before], is [$status_after]"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
	error "the package's version is $(dpkg-deb -f "$deb" Version), the tree's $version"

# ---- lintian: no error, no warning ----
lintian --fail-on error,warning "$deb" >"$TL_TMP/lintian.out" 2>"$TL_TMP/lintian.err"
lrc=$?
if grep -qE '^[EW]: ' "$TL_TMP/lintian.out" || ((lrc != 0)); then
	error "lintian (exit $lrc): $(grep -E '^[EW]: ' "$TL_TMP/lintian.out" | head -5 | tr '\n' ' ')$(head -c 300 "$TL_TMP/lintian.err")"
fi

# ---- install ----
# files the package puts down (not its directories), each absent now
mapfile -t files < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./|/|; /\/$/d; p')
at_least "${#files[@]}" 8 "files in the package"
for f in "${files[@]}"; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	skip "$f is already on this machine (not from the package): not replaced"
done

# dpkg_wait ARGS: dpkg, waiting (600 s at most) while another dpkg or
# apt holds its lock
dpkg_wait()
{
	local deadline=$((SECONDS + 600))
	while :; do
		dpkg "$@" >"$TL_TMP/dpkg.out" 2>&1 && return 0
		grep -qi 'lock' "$TL_TMP/dpkg.out" && ((SECONDS < deadline)) || return 1
		tl_sleep 0.5
	done
}
# purged at the exit however the test ends, if it is still installed
at_exit 'dpkg-query -W -f "\${db:Status-Status}" threadleak 2>/dev/null | grep -qvx not-installed &&
	for i in $(seq 600); do dpkg --purge threadleak >/dev/null 2>&1 && break; sleep 0.5; done'
# A container's dpkg may leave man pages out (path-exclude): taken in here.
dpkg_wait --path-include='/usr/share/man/man1/threadleak*' --path-include='/usr/share/doc/threadleak/*' \
	-i "$deb" || fail "dpkg -i $deb: $(head -c 400 "$TL_TMP/dpkg.out")"

tl=/usr/bin/threadleak
for f in "${files[@]}"; do
	[ -e "$f" ] || error "$f is in the package but not on disk after dpkg -i"
done
for f in /usr/bin/threadleak /usr/share/man/man1/threadleak.1.gz \
	/lib/systemd/system/threadleak-serve.service /etc/default/threadleak-serve \
	/usr/share/bash-completion/completions/threadleak /usr/share/doc/threadleak/copyright; do
	[ -f "$f" ] || error "$f missing after dpkg -i"
done
[ -x $tl ] || fail "$tl is not executable after dpkg -i"
n=0
while IFS= read -r f; do
	n=$((n + 1))
	cmp -s "share/threadleak/$f" "/usr/share/threadleak/$f" ||
		error "/usr/share/threadleak/$f is not the tree's share/threadleak/$f"
done < <(cd share/threadleak && find . -type f | sed 's|^\./||')
at_least "$n" 1 "files of share/threadleak"
# the alerting rules, where an operator finds them, pass promtool there
rules=/usr/share/threadleak/prometheus
[ -f $rules/threadleak.rules.yml ] || error "$rules/threadleak.rules.yml missing after dpkg -i"
(cd $rules && promtool check rules threadleak.rules.yml && promtool test rules threadleak.rules.test.yml) \
	>"$TL_TMP/promtool.out" 2>&1 || error "promtool on the installed rules: $(head -c 300 "$TL_TMP/promtool.out")"
cmp -s share/bash-completion/completions/threadleak /usr/share/bash-completion/completions/threadleak ||
	error "the installed completion is not the tree's"
cmp -s share/systemd/threadleak-serve.default /etc/default/threadleak-serve ||
	error "/etc/default/threadleak-serve is not the tree's share/systemd/threadleak-serve.default"
dpkg-query -W -f '${Conffiles}\n' threadleak | grep -q '^ /etc/default/threadleak-serve ' ||
	error "/etc/default/threadleak-serve is not a conffile: [$(dpkg-query -W -f '${Conffiles}' threadleak)]"
deps=$(dpkg-query -W -f '${Depends}, ${Recommends}' threadleak)
for lib in libmicrohttpd12 libdebuginfod1; do
	[[ ", $deps," == *", $lib"[\ ,]* ]] || error "$lib in neither Depends nor Recommends: $deps"
done

# ---- run it ----
out=$($tl --version 2>&1)
[ "$out" = "threadleak $version" ] || error "$tl --version: '$out', expected 'threadleak $version'"
manpath=$(man -w threadleak 2>&1)
[ "$manpath" = /usr/share/man/man1/threadleak.1.gz ] ||
	error "man -w threadleak: '$manpath', expected /usr/share/man/man1/threadleak.1.gz"

start_target "$TESTDATA/groups"
gpid=$TARGET_PID
want_threads=$(sed -n 's/^threads //p' "$TARGET_OUT" | head -n 1)
# snapshot_ok LABEL CMD...: CMD's snapshot --json of the target counts the
# threads the program says it has and names every group's function
snapshot_ok()
{
	local label=$1 rc g
	shift
	timeout "$TL_SNAP_TIMEOUT" "$@" snapshot --json "$gpid" >"$TL_TMP/snap.json" 2>"$TL_TMP/snap.err"
	rc=$?
	assert_not_stopped "$gpid" "$label"
	if ((rc != 0)); then
		error "$label: snapshot exit $rc: $(head -c 300 "$TL_TMP/snap.err")"
		return
	fi
	n=$(jq '.threads | length' "$TL_TMP/snap.json")
	[ "$n" = "$want_threads" ] || error "$label: $n threads, the program says $want_threads"
	for g in alpha beta gamma delta zeta; do
		jq -e --arg f "grp_$g" '[.threads[].frames[]?.function] | index($f)' "$TL_TMP/snap.json" >/dev/null ||
			error "$label: no frame in grp_$g"
	done
}
snapshot_ok "$tl" $tl
# as the unit runs it: nobody, the unit's capabilities and no other
caps=$(sed -n 's/^AmbientCapabilities=//p' /lib/systemd/system/threadleak-serve.service |
	tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g')
[ -n "$caps" ] || error "no AmbientCapabilities in the installed unit"
snapshot_ok "$tl as nobody with +$caps" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all,+"$caps" --ambient-caps=-all,+"$caps" --bounding-set=-all,+"$caps" \
	--no-new-privs $tl

# serve as the unit runs it: the arguments of the example in
# /etc/default/threadleak-serve (its port 0, its regex this target's
# name), as nobody with the unit's capabilities and no_new_privs
args=$(sed -n 's/^#THREADLEAK_SERVE_ARGS="\(.*\)"$/\1/p' /etc/default/threadleak-serve)
[[ $args == *"--listen 127.0.0.1:9464 "*"--match "* ]] ||
	error "/etc/default/threadleak-serve: no example with --listen 127.0.0.1:9464 and --match: [$args]"
args=${args/127.0.0.1:9464/127.0.0.1:0}
args=$(sed -E 's/--match [^ ]+/--match ^groups$/' <<<"$args")
printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+%s --ambient-caps=-all,+%s --bounding-set=-all,+%s --no-new-privs %s "$@"\n' \
	"$caps" "$caps" "$caps" "$tl" >"$TL_TMP/as-unit"
chmod 755 "$TL_TMP/as-unit"
SERVE_ENV=()
THREADLEAK=$TL_TMP/as-unit
. "$TL_ROOT/tests/serve-lib.sh"
# (split at blanks as systemd splits $THREADLEAK_SERVE_ARGS)
# shellcheck disable=SC2086
start_serve $args --interval 600
if scrape "$TL_TMP/metrics"; then
	grep -qx "threadleak_threads{pid=\"$gpid\",comm=\"groups\"} $want_threads" "$TL_TMP/metrics" ||
		error "serve as the unit runs it ($args): $(grep "pid=\"$gpid\"" "$TL_TMP/metrics" | head -3 | tr '\n' ' '), the program says $want_threads threads"
fi
grep -q 'serve has no' "$SERVE_ERR" && error "serve as the unit runs it says: $(grep 'serve has no' "$SERVE_ERR")"
kill_target "$SERVE_PID"

# ---- the unit ----
unit=/lib/systemd/system/threadleak-serve.service
grep -qx 'ExecStart=/usr/bin/threadleak serve $THREADLEAK_SERVE_ARGS' $unit ||
	error "the unit's ExecStart: $(grep '^ExecStart=' $unit)"
systemd-analyze verify $unit >"$TL_TMP/verify.out" 2>&1 ||
	error "systemd-analyze verify $unit: $(head -c 400 "$TL_TMP/verify.out")"
[ -s "$TL_TMP/verify.out" ] && error "systemd-analyze verify $unit said: $(head -c 400 "$TL_TMP/verify.out")"
wants=$(find /etc/systemd/system -name 'threadleak-serve*' 2>/dev/null)
[ -z "$wants" ] || error "the unit was enabled by the install: $wants"

# ---- purge ----
kill_target "$gpid"
dpkg_wait --purge threadleak || fail "dpkg --purge threadleak: $(head -c 400 "$TL_TMP/dpkg.out")"
for f in "${files[@]}"; do
	[ -e "$f" ] && error "$f still there after dpkg --purge"
done
finish
