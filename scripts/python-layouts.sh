#!/bin/bash
# Writes the built-in layouts of src/python/layout-builtin.c (CPython
# 3.8-3.12 release builds, x86_64) from the DWARF of the libpython of
# each Python under pyenv, as gdb reads it: the offset of each member
# src/python/runtime.c reads from DWARF (layout_from_dwarf, the same
# names per release), -1 where the release has none.  gdb is a second
# reader beside threadleak's own (layout-dwarf.c): tests/unit/test_python
# checks that the table equals what threadleak reads from the same DWARF.
#
# Usage: scripts/python-layouts.sh [VERSION...]   (default: every
# 3.8-3.12 under ~/.pyenv/versions); the block between the BEGIN and END
# lines of layout-builtin.c is replaced.
set -e
cd "$(dirname "$0")/.."
out=src/python/layout-builtin.c
pyenv=${PYENV_ROOT:-$HOME/.pyenv}/versions
[ $# -gt 0 ] || set -- $(ls "$pyenv" | grep -E '^3\.(8|9|10|11|12)\.[0-9]+$' | sort -t. -k2,2n -k3,3n)

# offset NAME TYPE PATH: a gdb command printing "NAME offset", nothing
# when TYPE has no member PATH (gdb's error goes to stderr, and gdb goes
# on with the next -ex)
offset()
{
	cmds+=(-ex "printf \"$1 %ld\\n\", (long)&((($2 *)0)->$3)")
}

layout()
{
	v=$1
	minor=$(echo "$v" | cut -d. -f2)
	lib=$pyenv/$v/lib/libpython3.$minor.so.1.0
	[ -r "$lib" ] || { echo "python-layouts: no $lib" >&2; exit 1; }
	if [ "$minor" -lt 11 ]; then
		frame="struct _frame" prev=f_back instr=f_lasti tsframe=frame
	else
		frame="struct _PyInterpreterFrame" prev=previous instr=prev_instr tsframe=cframe
	fi
	lnotab=co_linetable
	[ "$minor" -ge 10 ] || lnotab=co_lnotab
	cmds=()
	offset rt_interp_head 'struct pyruntimestate' interpreters.head
	offset is_next 'struct _is' next
	offset is_threads_head 'struct _is' threads.head
	offset tstate_head 'struct _is' tstate_head
	offset ts_next 'struct _ts' next
	offset ts_native_tid 'struct _ts' native_thread_id
	offset ts_thread_id 'struct _ts' thread_id
	offset ts_frame 'struct _ts' $tsframe
	[ "$minor" -lt 11 ] || offset cf_current 'struct _PyCFrame' current_frame
	offset fr_previous "$frame" $prev
	offset fr_code "$frame" f_code
	offset fr_instr "$frame" $instr
	offset fr_owner "$frame" owner
	offset fr_is_entry "$frame" is_entry
	offset co_filename PyCodeObject co_filename
	offset co_name PyCodeObject co_name
	offset co_qualname PyCodeObject co_qualname
	offset co_linetable PyCodeObject $lnotab
	offset co_firstlineno PyCodeObject co_firstlineno
	offset co_code PyCodeObject co_code_adaptive
	offset str_state PyASCIIObject state
	cmds+=(-ex 'printf "str_ascii_size %ld\n", (long)sizeof(PyASCIIObject)')
	vals=$(gdb -nx -batch "${cmds[@]}" "$lib" 2>/dev/null)
	get() { echo "$vals" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print -1 }'; }
	ths=$(get is_threads_head)
	[ "$ths" != -1 ] || ths=$(get tstate_head)
	if [ "$minor" -ge 11 ]; then
		range=$(printf '0x03%02x0000, 0x03%02x0000' "$minor" $((minor + 1)))
	else
		range="0, 0"
	fi
	printf '\t{ %d, %s, "%s", {\n' "$minor" "$range" "$v"
	for f in rt_interp_head is_next; do
		printf '\t\t.%s = %s,\n' $f "$(get $f)"
	done
	printf '\t\t.is_threads_head = %s,\n' "$ths"
	for f in ts_next ts_native_tid ts_thread_id ts_frame cf_current \
		 fr_previous fr_code fr_instr fr_owner fr_is_entry co_filename \
		 co_name co_qualname co_linetable co_firstlineno co_code \
		 str_state str_ascii_size; do
		printf '\t\t.%s = %s,\n' $f "$(get $f)"
	done
	printf '\t} },\n'
}

block=$(mktemp)
for v in "$@"; do
	layout "$v" >>"$block"
done
awk -v block="$block" '
	/BEGIN scripts\/python-layouts.sh/ { print; while ((getline l < block) > 0) print l; skip = 1; next }
	/END scripts\/python-layouts.sh/ { skip = 0 }
	!skip { print }' "$out" >"$out.new"
mv "$out.new" "$out"
rm -f "$block"
