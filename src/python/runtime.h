/*
 * python/runtime: a CPython interpreter in a process, found by its own
 * symbols (never the program's name): the module whose .dynsym exports
 * `_PyRuntime` (the executable, or a libpython3.X.so an embedding program
 * maps), its version and the layouts of the structures threads.c walks.
 *
 * The version is Py_Version (3.11+), else the module's file name
 * ("libpython3.X", "python3.X"), else what its DWARF shows (3.10's
 * co_linetable; 3.8 and 3.9, read alike, are then both called 3.9: their
 * PY_VERSION string is no help, the linker merges it into the tail of
 * another, e.g. "/tmp/python-build.../Python-3.9.18").  The layout
 * comes, for 3.13+, from the _Py_DebugOffsets that begin _PyRuntime in
 * the target's memory (its cookie and version checked); for 3.8-3.12
 * from the interpreter's DWARF where it has some, else from the layouts
 * built in (layout-builtin.h: release builds, read by
 * scripts/python-layouts.sh from pyenv's DWARF).  Refused (-ENOTSUP,
 * `why` says why): a stripped 3.8-3.10 whose file name tells no version
 * (3.10's layout is not 3.8-3.9's, and nothing read tells them apart), a
 * stripped debug build (it exports _Py_NegativeRefcount: the built-in
 * layouts are of release builds).  The object layout thread names need
 * (rt->o) is found alongside (layout-objects.h); what is missing there
 * fails nothing but the names.  3.8-3.10 keep no native thread id:
 * it is read from glibc's thread descriptor, at the offset libc's
 * exported _thread_db_pthread_tid gives (another C library: tid 0 for
 * now).
 */
#ifndef THREADLEAK_PYTHON_RUNTIME_H
#define THREADLEAK_PYTHON_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "stacks/symbols.h"
#include "target/memory.h"

/* Offsets in bytes; -1 where the release has no such member. */
struct py_layout {
	int64_t rt_interp_head;		/* _PyRuntime.interpreters.head */
	int64_t is_next;		/* PyInterpreterState.next */
	int64_t is_threads_head;	/* .threads.head */
	int64_t ts_next;		/* PyThreadState.next */
	int64_t ts_native_tid;		/* .native_thread_id (3.11+) */
	int64_t ts_thread_id;		/* .thread_id, the pthread_t (3.8-3.10) */
	int64_t ts_frame;		/* .frame (<3.11), .cframe, .current_frame (3.13) */
	int64_t cf_current;		/* _PyCFrame.current_frame (3.11-3.12) */
	int64_t fr_previous;		/* f_back or previous */
	int64_t fr_code;		/* f_code or f_executable */
	int64_t fr_instr;		/* f_lasti, prev_instr or instr_ptr */
	int64_t fr_owner;		/* owner (3.11+) */
	int64_t fr_is_entry;		/* is_entry (3.11 only) */
	int64_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno;
	int64_t co_code;		/* co_code_adaptive (3.11+) */
	int64_t str_state;		/* PyASCIIObject.state */
	int64_t str_ascii_size;		/* sizeof(PyASCIIObject): ASCII data follows */
};

enum py_layout_source {
	PY_LAYOUT_DEBUG_OFFSETS = 1,	/* 3.13+: _Py_DebugOffsets */
	PY_LAYOUT_DWARF,		/* the interpreter's DWARF */
	PY_LAYOUT_BUILTIN,		/* layout-builtin.c */
};

/*
 * The object model, for reading a thread's `threading` name (names.c):
 * where sys.modules hangs, how dicts, instance attributes and ints are
 * laid out.  Offsets in bytes, -1 where the release has no such member
 * (or nothing told it: names are then left empty).  layout-objects.c
 * fills it: built-in per-release values, then the interpreter's DWARF,
 * then 3.13's _Py_DebugOffsets, each overriding the one before.
 */
struct py_obj_layout {
	int64_t is_modules;		/* interp->modules, imports.modules (3.12+) */
	int64_t tp_basicsize, tp_flags, tp_dictoffset;	/* PyTypeObject */
	int64_t ht_cached_keys;		/* PyHeapTypeObject */
	int64_t md_dict;		/* PyModuleObject */
	int64_t ma_keys, ma_values;	/* PyDictObject */
	int64_t dk_size;		/* dk_size (3.8-3.10), dk_log2_size (3.11+) */
	int64_t dk_log2_index_bytes, dk_kind;	/* 3.11+ */
	int64_t dk_nentries, dk_indices;
	int64_t dv_values;		/* PyDictValues.values (3.11+) */
	int64_t long_size;		/* PyLongObject: ob_size, lv_tag (3.12+) */
	int64_t long_digit;		/* ob_digit */
};

#define PY_DEBUG_WORDS 71	/* _Py_DebugOffsets of 3.13.0 up to unicode_object */

struct py_runtime {
	uint64_t runtime;		/* _PyRuntime's address */
	char module[1024];		/* the file it is in, as its frames
					   name it (the executable or a
					   libpython); cut when longer */
	int major, minor;
	uint32_t version_hex;		/* Py_Version, 0 before 3.11 */
	bool minor_inferred;		/* from the DWARF: 10, or 9 for 3.8-3.9 */
	/* Before 3.11 a thread state holds only its pthread_t: the native
	 * id is read from glibc's struct pthread, at the offset libc's
	 * _thread_db_pthread_tid descriptor gives (-1: unknown). */
	int64_t pthread_tid;
	enum py_layout_source source;	/* where l came from */
	const char *why;	/* after -ENOTSUP: a sentence saying why */
	struct py_layout l;
	struct py_obj_layout o;
	/* 3.13+: the _Py_DebugOffsets at the start of _PyRuntime, as words
	 * (read once, checked: cookie and version); ndebug 0 before 3.13 */
	uint64_t debug[PY_DEBUG_WORDS];
	int ndebug;
};

/* Where _Py_DebugOffsets keeps one member, as words: the offset's word,
 * the word with its structure's size it must be below (-1: none), and
 * where it goes in the struct being filled. */
struct py_debug_field {
	int word, size;
	size_t member;
};

/* Each offset of map that rt->debug has and that passes its checks into
 * out (an int64_t at each member); one that fails is set to -1 when
 * invalid_unknown, else left as it was. */
void py_debug_offsets_apply(const struct py_runtime *rt, const struct py_debug_field *map,
			    size_t n, void *out, bool invalid_unknown);

/*
 * Finds the interpreter among sym's modules and its layout, reading the
 * target through mem.  0; -ENOENT when no module exports _PyRuntime;
 * -ENOTSUP for an interpreter it does not read (rt->why says which and
 * why); -EPROTO when 3.13's debug offsets fail their checks.
 */
int py_runtime_find(struct symbolizer *sym, struct memory *mem, struct py_runtime *rt);

#endif
