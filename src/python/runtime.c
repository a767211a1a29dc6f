/*
 * python/runtime: the interpreter, its version and layout; see runtime.h.
 *
 * The debug offsets are read from the target (what the running
 * interpreter says), each checked to fall inside the structure size it
 * gives, so that a corrupt table cannot send threads.c anywhere but to
 * reads memory.h bounds anyway.  A 3.8-3.12 is read with its DWARF when
 * it has any (what this build says), with the built-in layout of its
 * release only when it has none; a layout either way is checked whole.
 */
#include "python/runtime.h"
#include "python/layout-builtin.h"
#include "python/layout-dwarf.h"
#include "python/layout-objects.h"
#include "stacks/modsym.h"

#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OFFSET 65536

struct found {
	const char *symbol;
	Dwfl_Module *mod;
	uint64_t addr;
};

static int find_symbol(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	struct found *f = arg;
	uint64_t a = modsym_exported(mod, f->symbol);

	(void)userdata;
	(void)name;
	(void)start;
	if (!a)
		return DWARF_CB_OK;
	f->mod = mod;
	f->addr = a;
	return DWARF_CB_ABORT;
}

/* The offset of tid in glibc's struct pthread, from the descriptor
 * libthread_db reads ({ bits, count, offset }), or -1. */
static int64_t pthread_tid_offset(struct symbolizer *sym, struct memory *mem)
{
	struct found f = { "_thread_db_pthread_tid", NULL, 0 };
	uint32_t d[3];

	dwfl_getmodules(symbols_dwfl(sym), find_symbol, &f, 0);
	if (!f.mod || memory_read(mem, f.addr, d, sizeof(d)) != 0 || d[0] != 32 ||
	    d[2] >= 4096)
		return -1;
	return d[2];
}

/* "python3.X" in a module's file name: X, or -1. */
static int minor_from_name(const char *name)
{
	const char *p = name ? strstr(name, "python3.") : NULL;

	for (; p; p = strstr(p + 1, "python3.")) {
		char *end;
		long m = strtol(p + 8, &end, 10);
		if (end != p + 8 && m >= 0 && m < 100)
			return (int)m;
	}
	return -1;
}

/* Where 3.13.0's _Py_DebugOffsets (read as words) keeps each offset
 * used, and the word with the size of its structure, which the offset
 * must be below (-1: none to check against). */
static const struct py_debug_field debug_map[] = {
	{ 5, 3, offsetof(struct py_layout, rt_interp_head) },
	{ 8, 6, offsetof(struct py_layout, is_next) },
	{ 9, 6, offsetof(struct py_layout, is_threads_head) },
	{ 21, 19, offsetof(struct py_layout, ts_next) },
	{ 23, 19, offsetof(struct py_layout, ts_frame) },
	{ 24, 19, offsetof(struct py_layout, ts_thread_id) },
	{ 25, 19, offsetof(struct py_layout, ts_native_tid) },
	{ 29, 28, offsetof(struct py_layout, fr_previous) },
	{ 30, 28, offsetof(struct py_layout, fr_code) },
	{ 31, 28, offsetof(struct py_layout, fr_instr) },
	{ 33, 28, offsetof(struct py_layout, fr_owner) },
	{ 35, 34, offsetof(struct py_layout, co_filename) },
	{ 36, 34, offsetof(struct py_layout, co_name) },
	{ 37, 34, offsetof(struct py_layout, co_qualname) },
	{ 38, 34, offsetof(struct py_layout, co_linetable) },
	{ 39, 34, offsetof(struct py_layout, co_firstlineno) },
	{ 43, 34, offsetof(struct py_layout, co_code) },
	{ 68, 67, offsetof(struct py_layout, str_state) },
	{ 70, -1, offsetof(struct py_layout, str_ascii_size) },
};

/* Whether l has every offset threads.c needs for release minor. */
static bool layout_complete(const struct py_layout *l, int minor)
{
	bool old = minor < 11;

	return l->rt_interp_head >= 0 && l->is_next >= 0 && l->is_threads_head >= 0 &&
	       l->ts_next >= 0 && (l->ts_native_tid >= 0 || l->ts_thread_id >= 0) &&
	       l->ts_frame >= 0 && (old || minor > 12 || l->cf_current >= 0) &&
	       l->fr_previous >= 0 && l->fr_code >= 0 && l->fr_instr >= 0 &&
	       l->co_filename >= 0 && l->co_name >= 0 && l->co_linetable >= 0 &&
	       l->co_firstlineno >= 0 && l->str_state >= 0 && l->str_ascii_size >= 0 &&
	       (old || l->co_code >= 0);
}

void py_debug_offsets_apply(const struct py_runtime *rt, const struct py_debug_field *map,
			    size_t n, void *out, bool invalid_unknown)
{
	const uint64_t *w = rt->debug;

	for (size_t i = 0; i < n; i++) {
		int size = map[i].size;
		if (map[i].word >= rt->ndebug || size >= rt->ndebug)
			continue;
		uint64_t v = w[map[i].word];
		int64_t *o = (int64_t *)((char *)out + map[i].member);
		if (v < MAX_OFFSET && (size < 0 || v < w[size]))
			*o = (int64_t)v;
		else if (invalid_unknown)
			*o = -1;
	}
}

static int layout_from_debug_offsets(struct py_runtime *rt, struct memory *mem)
{
	uint64_t *w = rt->debug;
	struct py_layout *l = &rt->l;

	if (memory_read(mem, rt->runtime, w, sizeof(rt->debug)) != 0)
		return -EFAULT;
	if (memcmp(w, "xdebugpy", 8) != 0 || (w[1] >> 24) != 3 ||
	    (int)((w[1] >> 16) & 0xff) != rt->minor)
		return -EPROTO;
	if (w[2] != 0) {	/* free-threaded: other layouts, not read yet */
		rt->why = "a free-threaded build: its layouts are not read yet";
		return -ENOTSUP;
	}
	rt->ndebug = PY_DEBUG_WORDS;
	l->cf_current = -1;
	l->fr_is_entry = -1;
	py_debug_offsets_apply(rt, debug_map, sizeof(debug_map) / sizeof(debug_map[0]), l, true);
	if (!layout_complete(l, rt->minor))
		return -EPROTO;
	rt->source = PY_LAYOUT_DEBUG_OFFSETS;
	return 0;
}

static int layout_from_dwarf(struct py_runtime *rt, Dwfl_Module *mod)
{
	struct py_layout *l = &rt->l;
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	bool old = rt->minor < 11;
	const char *frame = old ? "struct _frame" : "struct _PyInterpreterFrame";
	const char *code = "PyCodeObject";
	int64_t tstate_head = -1;	/* 3.8-3.10: interp->tstate_head */
	struct py_dwarf_field f[] = {
		{ "struct pyruntimestate", "interpreters.head", &l->rt_interp_head },
		{ "struct _is", "next", &l->is_next },
		{ "struct _is", "threads.head", &l->is_threads_head },
		{ "struct _is", "tstate_head", &tstate_head },
		{ "struct _ts", "next", &l->ts_next },
		{ "struct _ts", "native_thread_id", &l->ts_native_tid },
		{ "struct _ts", "thread_id", &l->ts_thread_id },
		{ "struct _ts", old ? "frame" : "cframe", &l->ts_frame },
		{ old ? NULL : "struct _PyCFrame", "current_frame", &l->cf_current },
		{ frame, old ? "f_back" : "previous", &l->fr_previous },
		{ frame, "f_code", &l->fr_code },
		{ frame, old ? "f_lasti" : "prev_instr", &l->fr_instr },
		{ frame, "owner", &l->fr_owner },
		{ frame, "is_entry", &l->fr_is_entry },
		{ code, "co_filename", &l->co_filename },
		{ code, "co_name", &l->co_name },
		{ code, "co_qualname", &l->co_qualname },
		{ code, rt->minor < 10 ? "co_lnotab" : "co_linetable", &l->co_linetable },
		{ code, "co_firstlineno", &l->co_firstlineno },
		{ code, "co_code_adaptive", &l->co_code },
		{ "PyASCIIObject", "state", &l->str_state },
		{ "PyASCIIObject", NULL, &l->str_ascii_size },
	};
	int n = sizeof(f) / sizeof(f[0]);

	if (!dw) {
		rt->why = "no DWARF";
		return -ENOTSUP;
	}
	py_layout_from_dwarf(dw, f, n);
	if (l->is_threads_head < 0)
		l->is_threads_head = tstate_head;
	if (!layout_complete(l, rt->minor)) {
		rt->why = "its DWARF lacks members the reader needs";
		return -ENOTSUP;
	}
	rt->source = PY_LAYOUT_DWARF;
	return 0;
}

/* The built-in layout of a release build of rt's version (mod: the
 * interpreter, without DWARF). */
static int layout_builtin(struct py_runtime *rt, Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;

	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		rt->why = "no DWARF, and the built-in layouts are x86_64's";
		return -ENOTSUP;
	}
	if (modsym_address(mod, "_Py_NegativeRefcount", NULL)) {
		rt->why = "a debug build (Py_REF_DEBUG) without DWARF: the built-in layouts are of release builds";
		return -ENOTSUP;
	}
	if (rt->minor >= 11 && !rt->version_hex) {
		rt->why = "no Py_Version to choose its built-in layout by, and no DWARF";
		return -ENOTSUP;
	}
	if (py_layout_builtin(rt->minor, rt->version_hex, &rt->l, NULL) != 0) {
		rt->why = "no DWARF and no built-in layout of its release";
		return -ENOTSUP;
	}
	if (!layout_complete(&rt->l, rt->minor)) {
		rt->why = "its built-in layout lacks members the reader needs";
		return -ENOTSUP;
	}
	rt->source = PY_LAYOUT_BUILTIN;
	return 0;
}

int py_runtime_find(struct symbolizer *sym, struct memory *mem, struct py_runtime *rt)
{
	struct found f = { "_PyRuntime", NULL, 0 };
	const char *name, *file = NULL;
	uint64_t vaddr;

	memset(rt, 0, sizeof(*rt));
	rt->pthread_tid = -1;
	dwfl_getmodules(symbols_dwfl(sym), find_symbol, &f, 0);
	if (!f.mod) {
		/* before 3.7 there is no _PyRuntime: an old CPython is told
		 * by its API, to say it is not read */
		struct found old = { "Py_Initialize", NULL, 0 };
		dwfl_getmodules(symbols_dwfl(sym), find_symbol, &old, 0);
		if (!old.mod)
			return -ENOENT;
		name = dwfl_module_info(old.mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
		snprintf(rt->module, sizeof(rt->module), "%s", name ? name : "");
		rt->major = 3;
		rt->minor = minor_from_name(file ? file : name);
		rt->why = "a Python before 3.7 (no _PyRuntime)";
		return -ENOTSUP;
	}
	rt->runtime = f.addr;
	rt->major = 3;
	name = dwfl_module_info(f.mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
	snprintf(rt->module, sizeof(rt->module), "%s", name ? name : "");
	vaddr = modsym_address(f.mod, "Py_Version", NULL);
	if (vaddr && memory_read(mem, vaddr, &rt->version_hex, 4) == 0 &&
	    (rt->version_hex >> 24) == 3)
		rt->minor = (rt->version_hex >> 16) & 0xff;
	else
		rt->minor = minor_from_name(file ? file : name);
	if (rt->minor < 0 && file != name)
		rt->minor = minor_from_name(name);
	int ret;
	bool dwarf = dwfl_module_getdwarf(f.mod, &(Dwarf_Addr){ 0 }) != NULL;
	if (rt->minor < 0) {
		/* No Py_Version (before 3.11) and no name: 3.10 has
		 * co_linetable, 3.8 and 3.9 (read alike) co_lnotab. */
		if (!dwarf) {
			rt->why = "a Python before 3.11 without DWARF whose file name tells no version: 3.10 and 3.8-3.9 have other layouts";
			return -ENOTSUP;
		}
		rt->minor_inferred = true;
		rt->minor = 10;
		if (layout_from_dwarf(rt, f.mod) != 0)
			rt->minor = 9;
	}
	if (rt->minor < 8) {
		rt->why = "a Python before 3.8";
		return -ENOTSUP;
	}
	if (rt->minor >= 13) {
		ret = layout_from_debug_offsets(rt, mem);
	} else {
		ret = dwarf ? layout_from_dwarf(rt, f.mod) : layout_builtin(rt, f.mod);
		if (ret == 0)
			rt->why = NULL;
		if (ret == 0 && rt->l.ts_native_tid < 0)
			rt->pthread_tid = pthread_tid_offset(sym, mem);
	}
	if (ret == 0)	/* for thread names only: what is missing leaves them empty */
		py_objlayout_find(rt, f.mod);
	return ret;
}
