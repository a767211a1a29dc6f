/*
 * tailcall: DWARF call sites; see tailcall.h.
 *
 * DWARF 5 writes DW_TAG_call_site with DW_AT_call_return_pc,
 * DW_AT_call_origin and DW_AT_call_tail_call; GCC before it (and with
 * -gdwarf-4) DW_TAG_GNU_call_site with DW_AT_low_pc (the return address),
 * DW_AT_abstract_origin and DW_AT_GNU_tail_call.  Both are read.  The
 * origin is often only a declaration (a call into another CU, or into
 * another library); its address is then the ELF symbol of its linkage
 * name, or of its name, in the caller's module, else the function
 * another module exports under that name (elfcode.h): where a call
 * through the PLT lands, as gdb finds it among every file's symbols.
 * Walks are bounded: a function's DIE tree is read to a fixed depth and
 * number of sites, since the DWARF comes from the target's files.
 */
#include "stacks/tailcall.h"
#include "stacks/elfcode.h"
#include "stacks/modsym.h"

#include <dwarf.h>
#include <string.h>

#define WALK_DEPTH 16		/* nesting of scopes inside a function */

static bool is_call_site(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site;
}

/* The site's return address, link-time; false when it has none. */
static bool site_return(Dwarf_Die *site, Dwarf_Addr *ret)
{
	Dwarf_Attribute a;

	if (dwarf_attr(site, DW_AT_call_return_pc, &a))
		return dwarf_formaddr(&a, ret) == 0;
	return dwarf_lowpc(site, ret) == 0;
}

static bool site_is_tail(Dwarf_Die *site)
{
	return dwarf_hasattr(site, DW_AT_call_tail_call) ||
	       dwarf_hasattr(site, DW_AT_GNU_tail_call);
}

struct export {
	const char *name;
	Dwfl_Module *skip;	/* the caller's, once searched */
	uint64_t at;
};

static int find_export(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr start, void *arg)
{
	struct export *q = arg;
	Dwarf_Addr bias;
	GElf_Addr at;
	Elf *elf = mod == q->skip ? NULL : dwfl_module_getelf(mod, &bias);

	(void)userdata, (void)modname, (void)start;
	if (!elf || !elfcode_dynsym_function(elf, q->name, &at))
		return DWARF_CB_OK;
	q->at = at + bias;
	return DWARF_CB_ABORT;
}

/* The run-time entry of the function a site calls, or 0. */
static uint64_t site_target(Dwfl *dwfl, struct modsym_cache *cache, Dwfl_Module *mod,
			    Dwarf_Addr bias, Dwarf_Die *site)
{
	Dwarf_Attribute a;
	Dwarf_Die fn;
	Dwarf_Addr entry;

	if (!dwarf_attr(site, DW_AT_call_origin, &a) &&
	    !dwarf_attr(site, DW_AT_abstract_origin, &a))
		return 0;	/* an indirect call */
	if (!dwarf_formref_die(&a, &fn))
		return 0;
	if (!dwarf_hasattr(&fn, DW_AT_declaration) && dwarf_entrypc(&fn, &entry) == 0)
		return entry + bias;
	static const int names[] = {
		DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name
	};
	const size_t nnames = sizeof(names) / sizeof(names[0]);
	const char *name[sizeof(names) / sizeof(names[0])];
	for (size_t i = 0; i < nnames; i++) {
		name[i] = dwarf_attr_integrate(&fn, names[i], &a) ?
			  dwarf_formstring(&a) : NULL;
		uint64_t at = name[i] ? modsym_cached(cache, mod, name[i]) : 0;
		if (at)
			return at;
	}
	/* Exported: by the caller's module (its symbol table may say
	 * "NAME@@VER", which the lookup above misses), else by any other. */
	for (size_t i = 0; i < nnames; i++) {
		struct export q = { name[i], NULL, 0 };
		if (!name[i])
			continue;
		find_export(mod, NULL, NULL, 0, &q);
		q.skip = mod;
		if (!q.at && dwfl)
			dwfl_getmodules(dwfl, find_export, &q, 0);
		if (q.at)
			return q.at;
	}
	return 0;
}

bool tailcall_find_site(Dwfl *dwfl, struct modsym_cache *cache, Dwfl_Module *mod,
			Dwarf_Addr bias, Dwarf_Die *scopes, int n, uint64_t ret,
			struct tc_site *site)
{
	for (int i = 0; i < n; i++) {
		Dwarf_Die child;
		int tag = dwarf_tag(&scopes[i]);

		if (dwarf_child(&scopes[i], &child) == 0) {
			do {
				Dwarf_Addr r;
				if (!is_call_site(&child) || !site_return(&child, &r) ||
				    r + bias != ret)
					continue;
				site->ret = ret;
				site->target = site_target(dwfl, cache, mod, bias, &child);
				return true;
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		if (tag == DW_TAG_subprogram)
			break;	/* the function's own: no further out */
	}
	return false;
}

struct walk {
	Dwfl *dwfl;
	struct modsym_cache *cache;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	struct tc_site *out;
	int n, max;
};

static void walk_tails(struct walk *w, Dwarf_Die *die, int depth)
{
	Dwarf_Die child;

	if (depth > WALK_DEPTH || dwarf_child(die, &child) != 0)
		return;
	do {
		Dwarf_Addr r;
		if (w->n >= w->max)
			return;
		if (is_call_site(&child)) {
			if (site_is_tail(&child) && site_return(&child, &r)) {
				w->out[w->n].ret = r + w->bias;
				w->out[w->n].target = site_target(w->dwfl, w->cache, w->mod, w->bias, &child);
				w->n++;
			}
			continue;
		}
		switch (dwarf_tag(&child)) {
		case DW_TAG_lexical_block:
		case DW_TAG_inlined_subroutine:
			walk_tails(w, &child, depth + 1);
			break;
		default:
			break;	/* nested functions and types hold no code of fn's */
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

int tailcall_sites(Dwfl *dwfl, struct modsym_cache *cache, Dwfl_Module *mod,
		   Dwarf_Addr bias, Dwarf_Die *fn,
		   struct tc_site *out, int max)
{
	struct walk w = { dwfl, cache, mod, bias, out, 0, max };

	walk_tails(&w, fn, 0);
	return w.n;
}
