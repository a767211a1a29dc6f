/*
 * python/layout-objects: the object-model offsets; see layout-objects.h.
 *
 * The built-in values were read from the DWARF of pyenv's 3.8.18,
 * 3.9.18, 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (x86_64), and
 * tests/unit/test_python.c checks them against each of those
 * interpreters' own DWARF and debug offsets.  What every release from
 * 3.8 to 3.13 shares (PyTypeObject's members, PyModuleObject.md_dict,
 * PyDictObject, PyLongObject) is written once.
 */
#include "python/layout-objects.h"
#include "python/layout-dwarf.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define NMEMBERS (sizeof(struct py_obj_layout) / sizeof(int64_t))
#define MAX_OFFSET 65536

_Static_assert(sizeof(struct py_obj_layout) % sizeof(int64_t) == 0,
	       "struct py_obj_layout holds int64_t members only");

/* Every release from 3.8 to 3.13. */
#define SHARED .tp_basicsize = 32, .tp_flags = 168, .tp_dictoffset = 288, \
	.md_dict = 16, .ma_keys = 32, .ma_values = 40, .long_size = 16, .long_digit = 24
/* PyDictKeysObject: 3.8-3.10, then 3.11-3.13. */
#define KEYS_38 .dk_size = 8, .dk_log2_index_bytes = -1, .dk_kind = -1, \
	.dk_nentries = 32, .dk_indices = 40, .dv_values = -1
#define KEYS_311 .dk_size = 8, .dk_log2_index_bytes = 9, .dk_kind = 10, \
	.dk_nentries = 24, .dk_indices = 32

static const struct {
	int minor;
	struct py_obj_layout o;
} builtin[] = {
	{ 8, { SHARED, KEYS_38, .is_modules = 56, .ht_cached_keys = 872 } },
	{ 9, { SHARED, KEYS_38, .is_modules = 856, .ht_cached_keys = 864 } },
	{ 10, { SHARED, KEYS_38, .is_modules = 856, .ht_cached_keys = 872 } },
	{ 11, { SHARED, KEYS_311, .is_modules = 888, .ht_cached_keys = 872, .dv_values = 0 } },
	{ 12, { SHARED, KEYS_311, .is_modules = 944, .ht_cached_keys = 880, .dv_values = 0 } },
	{ 13, { SHARED, KEYS_311, .is_modules = 7656, .ht_cached_keys = 880, .dv_values = 8 } },
};

static int64_t *members(struct py_obj_layout *o)
{
	return (int64_t *)o;
}

static void set_unknown(struct py_obj_layout *o)
{
	for (size_t i = 0; i < NMEMBERS; i++)
		members(o)[i] = -1;
}

int py_objlayout_builtin(int minor, struct py_obj_layout *o)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (builtin[i].minor == minor) {
			*o = builtin[i].o;
			return 0;
		}
	}
	set_unknown(o);
	return -ENOENT;
}

/* Each member of from that is known (below MAX_OFFSET) into to. */
static void merge(struct py_obj_layout *to, struct py_obj_layout *from)
{
	for (size_t i = 0; i < NMEMBERS; i++) {
		int64_t v = members(from)[i];
		if (v >= 0 && v < MAX_OFFSET)
			members(to)[i] = v;
	}
}

int py_objlayout_dwarf(int minor, Dwfl_Module *mod, bool all, struct py_obj_layout *o)
{
	Dwarf_Addr bias;
	Dwarf *dw = mod ? dwfl_module_getdwarf(mod, &bias) : NULL;
	bool old = minor < 11;
	const char *type = "struct _typeobject", *keys = "struct _dictkeysobject";
	const char *dict = "PyDictObject", *lng = "struct _longobject";
	struct py_dwarf_field f[] = {
		{ "struct _is", minor >= 12 ? "imports.modules" : "modules", &o->is_modules },
		{ type, "tp_basicsize", &o->tp_basicsize },
		{ type, "tp_flags", &o->tp_flags },
		{ type, "tp_dictoffset", &o->tp_dictoffset },
		{ "struct _heaptypeobject", "ht_cached_keys", &o->ht_cached_keys },
		{ "PyModuleObject", "md_dict", &o->md_dict },
		{ dict, "ma_keys", &o->ma_keys },
		{ dict, "ma_values", &o->ma_values },
		{ keys, old ? "dk_size" : "dk_log2_size", &o->dk_size },
		{ keys, "dk_log2_index_bytes", &o->dk_log2_index_bytes },
		{ keys, "dk_kind", &o->dk_kind },
		{ keys, "dk_nentries", &o->dk_nentries },
		{ keys, "dk_indices", &o->dk_indices },
		{ old ? NULL : "struct _dictvalues", "values", &o->dv_values },
		{ lng, minor >= 12 ? "long_value.lv_tag" : "ob_base.ob_size", &o->long_size },
		{ lng, minor >= 12 ? "long_value.ob_digit" : "ob_digit", &o->long_digit },
	};

	set_unknown(o);
	if (!dw)
		return -ENOENT;
	return py_layout_from_dwarf(dw, f, all ? sizeof(f) / sizeof(f[0]) : 1);
}

/* 3.13.0's _Py_DebugOffsets, read as words: where it keeps a member,
 * and the word with its structure's size, which it must be below. */
static const struct py_debug_field debug_map[] = {
	{ 11, 6, offsetof(struct py_obj_layout, is_modules) },
	{ 49, 46, offsetof(struct py_obj_layout, tp_flags) },
	{ 57, 56, offsetof(struct py_obj_layout, ma_keys) },
	{ 58, 56, offsetof(struct py_obj_layout, ma_values) },
	{ 62, 61, offsetof(struct py_obj_layout, long_size) },
	{ 63, 61, offsetof(struct py_obj_layout, long_digit) },
};


int py_objlayout_find(struct py_runtime *rt, Dwfl_Module *mod)
{
	struct py_obj_layout *o = &rt->o, d;
	bool old = rt->minor < 11;
	bool all = py_objlayout_builtin(rt->minor, o) != 0 || rt->minor_inferred;

	py_objlayout_dwarf(rt->minor, mod, all, &d);
	merge(o, &d);
	/* 3.13: what the running interpreter says, read by runtime.c */
	if (rt->minor == 13)
		py_debug_offsets_apply(rt, debug_map, sizeof(debug_map) / sizeof(debug_map[0]),
				       o, false);
	for (size_t i = 0; i < NMEMBERS; i++) {
		size_t at = i * sizeof(int64_t);
		bool needed = !(old && (at == offsetof(struct py_obj_layout, dk_log2_index_bytes) ||
					at == offsetof(struct py_obj_layout, dk_kind) ||
					at == offsetof(struct py_obj_layout, dv_values)));
		if (needed && members(o)[i] < 0)
			return -ENOENT;
	}
	return 0;
}
