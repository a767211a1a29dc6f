/*
 * python/layout-dwarf: offsets of CPython's structure members as the
 * interpreter's own DWARF gives them (3.8-3.12 have no _Py_DebugOffsets;
 * pyenv's builds and Debian's -dbg packages keep DWARF).
 *
 * The caller names each field by its type (a struct tag or a typedef)
 * and a member path ("interpreters.head"); only the top-level entries of
 * each compile unit are looked at, and the walk ends once every type
 * named was found.  A member the type lacks is left at -1.
 */
#ifndef THREADLEAK_PYTHON_LAYOUT_DWARF_H
#define THREADLEAK_PYTHON_LAYOUT_DWARF_H

#include <elfutils/libdw.h>
#include <stdint.h>

struct py_dwarf_field {
	const char *type;	/* "struct _ts", a typedef's name, NULL: none */
	const char *path;	/* dotted members; NULL: the type's size */
	int64_t *out;		/* set to the offset, or left at -1 */
};

/* 0 when every type named was found; -ENOENT otherwise (fields of the
 * types found are set all the same). */
int py_layout_from_dwarf(Dwarf *dw, const struct py_dwarf_field *f, int n);

#endif
