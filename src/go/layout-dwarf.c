/*
 * go/layout-dwarf: see layout-dwarf.h.
 *
 * A wanted structure is a name and the members to find, each with where
 * its offset goes; runtime.g's stack bounds are "stack" plus runtime.stack's
 * lo and hi, the saved context "sched" (the gobuf's fields are gobuf's).
 */
#include "go/layout-dwarf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <string.h>

struct member {
	const char *name;
	unsigned *at;
	bool found;
};

struct wanted {
	const char *name;
	struct member *m;
	size_t n;
	bool found;
};

static bool member_offset(Dwarf_Die *die, Dwarf_Word *off)
{
	Dwarf_Attribute a;

	return dwarf_attr(die, DW_AT_data_member_location, &a) && dwarf_formudata(&a, off) == 0;
}

static void read_struct(Dwarf_Die *st, struct wanted *w)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m) != 0)
		return;
	do {
		const char *name = dwarf_tag(&m) == DW_TAG_member ? dwarf_diename(&m) : NULL;
		Dwarf_Word off;
		for (size_t i = 0; name && i < w->n; i++)
			if (!w->m[i].found && strcmp(name, w->m[i].name) == 0 &&
			    member_offset(&m, &off) && off < 4096) {
				*w->m[i].at = (unsigned)off;
				w->m[i].found = true;
			}
	} while (dwarf_siblingof(&m, &m) == 0);
	w->found = true;
	for (size_t i = 0; i < w->n; i++)
		w->found &= w->m[i].found;
}

int go_layout_from_dwarf(Elf *elf, struct go_layout *l)
{
	struct go_layout d = *l;
	unsigned stack = 0, lo = 0, hi = 8, status = 0;
	struct member g[] = {
		{ "stack", &stack }, { "m", &d.m }, { "sched", &d.sched },
		{ "syscallsp", &d.syscallsp }, { "syscallpc", &d.syscallpc },
		{ "atomicstatus", &status }, { "goid", &d.goid },
		{ "waitsince", &d.waitsince }, { "waitreason", &d.waitreason },
		{ "gopc", &d.gopc }, { "startpc", &d.startpc },
		{ "ancestors", &d.ancestors }, { "labels", &d.labels },
	}, stk[] = { { "lo", &lo }, { "hi", &hi } },
	   gobuf[] = { { "sp", &d.buf_sp }, { "pc", &d.buf_pc }, { "g", &d.buf_g },
		       { "bp", &d.buf_bp } },
	   m[] = { { "procid", &d.m_procid }, { "curg", &d.m_curg } },
	   pd[] = { { "fd", &d.pd_fd }, { "rg", &d.pd_rg }, { "wg", &d.pd_wg } },
	   sudog[] = { { "g", &d.sudog_g }, { "next", &d.sudog_next }, { "prev", &d.sudog_prev },
		       { "elem", &d.sudog_elem }, { "waitlink", &d.sudog_waitlink } },
	   root[] = { { "treap", &d.semroot_treap } };
	unsigned parent = 0;
	struct member gp[] = { { "parentGoid", &parent } };
#define W(n, a) { n, a, sizeof(a) / sizeof(a[0]), false }
	struct wanted want[] = {
		W("runtime.g", g), W("runtime.stack", stk), W("runtime.gobuf", gobuf),
		W("runtime.m", m), W("runtime.pollDesc", pd), W("runtime.sudog", sudog),
		W("runtime.semaRoot", root),
	};
	struct wanted optional = W("runtime.g", gp);
#undef W
	const size_t nwant = sizeof(want) / sizeof(want[0]);
	size_t left = nwant;
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (!dw)
		return -ENOENT;
	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				if (dwarf_tag(&die) != DW_TAG_structure_type)
					continue;
				const char *name = dwarf_diename(&die);
				for (size_t i = 0; name && i < nwant; i++) {
					if (want[i].found || strcmp(name, want[i].name) != 0)
						continue;
					read_struct(&die, &want[i]);
					if (i == 0)
						read_struct(&die, &optional);
					left -= want[i].found;
				}
			} while (left && dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	dwarf_end(dw);
	/* g, stack, gobuf and m are needed; the rest helps. */
	if (!want[0].found || !want[1].found || !want[2].found || !want[3].found)
		return -ENOENT;
	d.stack_lo = stack + lo;
	d.stack_hi = stack + hi;
	d.status = status;
	d.parent_goid = optional.m[0].found ? parent : 0;
	/* bytes read of a g: past every field wanted */
	unsigned last = d.parent_goid;
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		if (*g[i].at > last)
			last = *g[i].at;
	d.g_size = (stack + hi > last ? stack + hi : last) + 8;
	if (!want[4].found) {
		d.pd_fd = l->pd_fd;
		d.pd_rg = l->pd_rg;
		d.pd_wg = l->pd_wg;
	}
	if (!want[5].found || !want[6].found) {
		d.sudog_g = l->sudog_g;
		d.sudog_next = l->sudog_next;
		d.sudog_prev = l->sudog_prev;
		d.sudog_elem = l->sudog_elem;
		d.sudog_waitlink = l->sudog_waitlink;
		d.semroot_treap = l->semroot_treap;
	}
	*l = d;
	return 0;
}
