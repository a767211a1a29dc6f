/*
 * python/layout-builtin: the layouts of CPython 3.8-3.12 release builds
 * (x86_64, the default configuration: no Py_DEBUG, no Py_TRACE_REFS),
 * built in, for interpreters without DWARF (distributions strip theirs:
 * Debian's /usr/bin/python3.11, its DWARF only with python3.11-dbg).
 *
 * The numbers are written by scripts/python-layouts.sh from the DWARF of
 * pyenv's builds (3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1), never typed;
 * tests/unit/test_python checks them against threadleak's own DWARF
 * reader (and Debian's 3.11.2's DWARF, from python3.11-dbg: equal to
 * 3.11.7's), and reads stripped copies and Debian's 3.11.2 with them.
 * Before 3.11 nothing in the interpreter says its patch release, so one
 * layout stands for a whole minor release; from 3.11 on an entry holds a
 * range of Py_Version, so that a patch release that moved a member can
 * get an entry of its own.  runtime.c uses them only for an x86_64
 * module without DWARF that exports no _Py_NegativeRefcount (not a
 * debug build).
 */
#ifndef THREADLEAK_PYTHON_LAYOUT_BUILTIN_H
#define THREADLEAK_PYTHON_LAYOUT_BUILTIN_H

#include <stdint.h>

#include "python/runtime.h"

/* The layout of release 3.minor (version_hex: its Py_Version, 0 before
 * 3.11) into *l, and the release its numbers were read from into
 * *measured (unless NULL).  0, or -ENOTSUP when none is built in. */
int py_layout_builtin(int minor, uint32_t version_hex, struct py_layout *l,
		      const char **measured);

#endif
