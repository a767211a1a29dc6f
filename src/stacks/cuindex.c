/*
 * cuindex: a sorted array of [start, end) ranges, each with its CU's DIE;
 * see cuindex.h.  Ranges of CUs do not overlap in a sane binary; where
 * they do, the search takes the range starting last at or below the
 * address and checks that it holds it.
 */
#include "stacks/cuindex.h"
#include "base/util.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64		/* scopes kept, outermost first (the subprogram
				   stays); deeper is absurd */

struct cu_range {
	Dwarf_Addr start, end;	/* start first: count_keys_upto() */
	Dwarf_Die cudie;
};

struct cuindex {
	struct cu_range *r;
	size_t n, cap;
};

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Adds the ranges of one CU DIE.  0 or -ENOMEM. */
static int add_cu(struct cuindex *ix, Dwarf_Die *cudie)
{
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(cudie, off, &base, &start, &end)) > 0) {
		if (end <= start)
			continue;
		if (grow_array(&ix->r, &ix->cap, ix->n + 1, sizeof(*ix->r)) < 0)
			return -1;
		ix->r[ix->n++] = (struct cu_range){ start, end, *cudie };
	}
	return 0;
}

struct cuindex *cuindex_build(Dwarf *dw)
{
	struct cuindex *ix = calloc(1, sizeof(*ix));
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t type;
	Dwarf_Die cudie, subdie;

	if (!ix)
		return NULL;
	while (dwarf_get_units(dw, cu, &cu, &version, &type, &cudie, &subdie) == 0) {
		int tag = dwarf_tag(&cudie);
		if (tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit)
			continue;	/* type units hold no code */
		if (add_cu(ix, &cudie) < 0) {
			cuindex_free(ix);
			return NULL;
		}
	}
	if (ix->n)	/* qsort's array may not be NULL, even empty */
		qsort(ix->r, ix->n, sizeof(*ix->r), cmp_range);
	return ix;
}

bool cuindex_find(const struct cuindex *ix, Dwarf_Addr addr, Dwarf_Die *cudie)
{
	/* The first range starting above addr, and the one before it, if
	 * it holds addr. */
	size_t lo = count_keys_upto(ix->r, ix->n, sizeof(*ix->r), addr);

	if (lo == 0 || addr >= ix->r[lo - 1].end)
		return false;
	*cudie = ix->r[lo - 1].cudie;
	return true;
}

void cuindex_free(struct cuindex *ix)
{
	if (!ix)
		return;
	free(ix->r);
	free(ix);
}

bool cu_covers(Dwarf_Die *cudie, Dwarf_Addr addr)
{
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;
	bool any = false;

	while ((off = dwarf_ranges(cudie, off, &base, &start, &end)) > 0) {
		if (addr >= start && addr < end)
			return true;
		any = true;
	}
	return !any;
}

static bool holds_code(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_lexical_block;
}

static bool holds_definitions(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_module ||
	       tag == DW_TAG_structure_type || tag == DW_TAG_class_type ||
	       tag == DW_TAG_union_type || tag == DW_TAG_enumeration_type ||
	       tag == DW_TAG_interface_type;
}

/* Depth-first below parent: appends to path (outermost first) the code
 * DIEs holding addr; true once a subprogram holds it. */
static bool find_path(Dwarf_Die *parent, Dwarf_Addr addr, Dwarf_Die *path,
		      int *n, bool in_code)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);
		if (holds_code(tag)) {
			if (dwarf_haspc(&child, addr) <= 0)
				continue;
			if (*n < MAX_NEST)
				path[(*n)++] = child;
			find_path(&child, addr, path, n, true);
			return true;
		}
		/* Definitions nest in namespaces and types, not in code. */
		if (!in_code && holds_definitions(tag) &&
		    find_path(&child, addr, path, n, false))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

int cu_getscopes_nested(Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die **scopes)
{
	Dwarf_Die path[MAX_NEST];
	int n = 0;

	*scopes = NULL;
	if (!find_path(cudie, addr, path, &n, false) || n == 0)
		return 0;
	*scopes = malloc((size_t)n * sizeof(**scopes));
	if (!*scopes)
		return -1;
	for (int i = 0; i < n; i++)
		(*scopes)[i] = path[n - 1 - i];
	return n;
}
