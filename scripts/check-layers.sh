#!/bin/bash
# check-layers: src/'s folders stand in the layers src/README.md lists
# (a numbered line "N. `FOLDER/`" each, from the ground up); a file in one
# may include only its own folder's headers and those of the folders
# listed above it.  Prints each include that runs up, or names a folder
# or file the list does not place, and exits 1; quiet and 0 otherwise.
# Usage: scripts/check-layers.sh [SRC_DIR]
set -u
src=${1:-src}
mapfile -t order < <(sed -n 's/^[0-9][0-9]*\. `\([a-z0-9_-]*\)\/`.*/\1/p' "$src/README.md")
[ ${#order[@]} -gt 0 ] || { echo "check-layers: no layer list in $src/README.md" >&2; exit 1; }
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
bad=0
for f in "$src"/*; do
	name=${f##*/}
	[ "$name" = README.md ] && continue
	if [ ! -d "$f" ]; then
		echo "check-layers: $f: a file outside every folder" >&2
		bad=1
	elif [ -z "${rank[$name]+x}" ]; then
		echo "check-layers: $f/: a folder $src/README.md does not list" >&2
		bad=1
	fi
done
for f in "$src"/*/*.[ch]; do
	dir=${f#"$src"/}
	dir=${dir%%/*}
	[ -n "${rank[$dir]+x}" ] || continue
	while IFS=: read -r line inc; do
		to=${inc%%/*}
		if [ "$to" = "$inc" ]; then
			# bare: a generated header (build/gen), never one of src/
			if compgen -G "$src/*/$inc" >/dev/null; then
				echo "check-layers: $f:$line: \"$inc\" without its folder (\"FOLDER/$inc\")" >&2
				bad=1
			fi
		elif [ -z "${rank[$to]+x}" ]; then
			echo "check-layers: $f:$line: \"$inc\" is in no folder $src/README.md lists" >&2
			bad=1
		elif ((rank[$to] > rank[$dir])); then
			echo "check-layers: $f:$line: $dir/ includes \"$inc\", from $to/, a layer above it" >&2
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		 sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done
exit $bad
