/*
 * python/layout-builtin: CPython 3.8-3.12's layouts, built in; see
 * layout-builtin.h.
 *
 * One entry per minor release (and Py_Version range from 3.11 on), the
 * whole struct py_layout given: a member added to it must be added here
 * too (scripts/python-layouts.sh, then tests/unit/test_python, which
 * compares every member with the DWARF's).  The block between BEGIN and
 * END is the script's output: regenerate it, never edit it by hand.
 */
#include "python/layout-builtin.h"

#include <errno.h>
#include <stddef.h>

static const struct builtin {
	int minor;
	uint32_t from, to;	/* Py_Version in [from, to); 0, 0: any (3.8-3.10) */
	const char *measured;	/* the release whose DWARF gave the numbers */
	struct py_layout l;
} builtins[] = {
	/* BEGIN scripts/python-layouts.sh */
	{ 8, 0, 0, "3.8.18", {
		.rt_interp_head = 32,
		.is_next = 0,
		.is_threads_head = 8,
		.ts_next = 8,
		.ts_native_tid = -1,
		.ts_thread_id = 176,
		.ts_frame = 24,
		.cf_current = -1,
		.fr_previous = 24,
		.fr_code = 32,
		.fr_instr = 104,
		.fr_owner = -1,
		.fr_is_entry = -1,
		.co_filename = 104,
		.co_name = 112,
		.co_qualname = -1,
		.co_linetable = 120,
		.co_firstlineno = 40,
		.co_code = -1,
		.str_state = 32,
		.str_ascii_size = 48,
	} },
	{ 9, 0, 0, "3.9.18", {
		.rt_interp_head = 32,
		.is_next = 0,
		.is_threads_head = 8,
		.ts_next = 8,
		.ts_native_tid = -1,
		.ts_thread_id = 176,
		.ts_frame = 24,
		.cf_current = -1,
		.fr_previous = 24,
		.fr_code = 32,
		.fr_instr = 104,
		.fr_owner = -1,
		.fr_is_entry = -1,
		.co_filename = 104,
		.co_name = 112,
		.co_qualname = -1,
		.co_linetable = 120,
		.co_firstlineno = 40,
		.co_code = -1,
		.str_state = 32,
		.str_ascii_size = 48,
	} },
	{ 10, 0, 0, "3.10.13", {
		.rt_interp_head = 32,
		.is_next = 0,
		.is_threads_head = 8,
		.ts_next = 8,
		.ts_native_tid = -1,
		.ts_thread_id = 176,
		.ts_frame = 24,
		.cf_current = -1,
		.fr_previous = 24,
		.fr_code = 32,
		.fr_instr = 96,
		.fr_owner = -1,
		.fr_is_entry = -1,
		.co_filename = 104,
		.co_name = 112,
		.co_qualname = -1,
		.co_linetable = 120,
		.co_firstlineno = 40,
		.co_code = -1,
		.str_state = 32,
		.str_ascii_size = 48,
	} },
	{ 11, 0x030b0000, 0x030c0000, "3.11.7", {
		.rt_interp_head = 40,
		.is_next = 0,
		.is_threads_head = 16,
		.ts_next = 8,
		.ts_native_tid = 160,
		.ts_thread_id = 152,
		.ts_frame = 56,
		.cf_current = 8,
		.fr_previous = 48,
		.fr_code = 32,
		.fr_instr = 56,
		.fr_owner = 69,
		.fr_is_entry = 68,
		.co_filename = 112,
		.co_name = 120,
		.co_qualname = 128,
		.co_linetable = 136,
		.co_firstlineno = 72,
		.co_code = 184,
		.str_state = 32,
		.str_ascii_size = 48,
	} },
	{ 12, 0x030c0000, 0x030d0000, "3.12.1", {
		.rt_interp_head = 40,
		.is_next = 0,
		.is_threads_head = 72,
		.ts_next = 8,
		.ts_native_tid = 144,
		.ts_thread_id = 136,
		.ts_frame = 56,
		.cf_current = 0,
		.fr_previous = 8,
		.fr_code = 0,
		.fr_instr = 56,
		.fr_owner = 70,
		.fr_is_entry = -1,
		.co_filename = 112,
		.co_name = 120,
		.co_qualname = 128,
		.co_linetable = 136,
		.co_firstlineno = 68,
		.co_code = 192,
		.str_state = 32,
		.str_ascii_size = 40,
	} },
	/* END scripts/python-layouts.sh */
};

int py_layout_builtin(int minor, uint32_t version_hex, struct py_layout *l,
		      const char **measured)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const struct builtin *b = &builtins[i];
		if (b->minor != minor)
			continue;
		if ((b->from || b->to) && (version_hex < b->from || version_hex >= b->to))
			continue;
		*l = b->l;
		if (measured)
			*measured = b->measured;
		return 0;
	}
	return -ENOTSUP;
}
