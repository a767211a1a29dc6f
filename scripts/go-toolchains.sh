#!/bin/bash
# scripts/go-toolchains.sh: fetches the Go toolchains that the tests build
# with (tests/go-lib.sh: GO_RELEASES, one release of each Go minor version
# threadleak reads, and GO_OLD_RELEASES) when they are missing: from the
# Go module proxy (GOPROXY, https://proxy.golang.org by default), checked
# against the checksum database, into TL_GO_CACHE
# (~/.cache/threadleak-tests/go).  A Go here of the same minor version
# stands for a release (Debian's 1.19).  `scripts/deps.sh test` (make
# check) runs it.  Exits 1 with what failed and why.
set -u
TL_ROOT=$(cd "$(dirname "$0")/.." && pwd)
TL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/threadleak-go-toolchains.XXXXXX") || exit 1
. "$TL_ROOT/tests/go-lib.sh"

go_fetch_releases
rc=$?
rm -rf "$TL_TMP"
if ((rc != 0)); then
	{
		echo "threadleak: cannot fetch the Go toolchains the tests build with from the Go module proxy (GOPROXY=${GOPROXY:-https://proxy.golang.org}):"
		sed 's/^/  /' <<<"$LEAKY_ERROR"
		echo "threadleak: they are fetched once, into $TL_GO_CACHE; run make check again with network access (or scripts/go-toolchains.sh alone)"
	} >&2
	exit 1
fi
exit 0
