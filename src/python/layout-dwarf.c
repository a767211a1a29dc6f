/*
 * python/layout-dwarf: CPython's member offsets from DWARF; see
 * layout-dwarf.h.
 */
#include "python/layout-dwarf.h"

#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_FIELDS 64
#define MAX_DEPTH 8

/* die's type with typedefs and qualifiers peeled off. */
static bool peel(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	Dwarf_Die t = *die;

	for (int i = 0; i < MAX_DEPTH; i++) {
		int tag = dwarf_tag(&t);
		if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
			*out = t;
			return true;
		}
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_member)
			return false;
		if (!dwarf_attr_integrate(&t, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
			return false;
	}
	return false;
}

/* The offset of the member named name (len bytes) of st, its DIE in *m. */
static bool member(Dwarf_Die *st, const char *name, size_t len, Dwarf_Die *m,
		   Dwarf_Word *off)
{
	Dwarf_Attribute a;

	if (dwarf_child(st, m) != 0)
		return false;
	do {
		const char *n = dwarf_diename(m);
		if (dwarf_tag(m) != DW_TAG_member || !n || strlen(n) != len ||
		    memcmp(n, name, len) != 0)
			continue;
		*off = 0;
		if (dwarf_attr(m, DW_AT_data_member_location, &a) &&
		    dwarf_formudata(&a, off) != 0)
			return false;
		return true;
	} while (dwarf_siblingof(m, m) == 0);
	return false;
}

static void resolve(Dwarf_Die *st, const struct py_dwarf_field *f)
{
	Dwarf_Die cur = *st, m;
	Dwarf_Word total = 0, off;
	const char *p = f->path;

	if (!p) {
		Dwarf_Word size;
		if (dwarf_aggregate_size(&cur, &size) == 0)
			*f->out = (int64_t)size;
		return;
	}
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!member(&cur, p, len, &m, &off))
			return;
		total += off;
		if (!dot) {
			*f->out = (int64_t)total;
			return;
		}
		if (!peel(&m, &cur))
			return;
		p = dot + 1;
	}
}

/* Whether die is the definition named by type ("struct X" or a typedef). */
static bool names(Dwarf_Die *die, const char *type, Dwarf_Die *st)
{
	const char *n = dwarf_diename(die);
	int tag = dwarf_tag(die);

	if (!n || dwarf_hasattr(die, DW_AT_declaration))
		return false;
	if (strncmp(type, "struct ", 7) == 0)
		return tag == DW_TAG_structure_type && strcmp(type + 7, n) == 0 &&
		       (*st = *die, true);
	return tag == DW_TAG_typedef && strcmp(type, n) == 0 && peel(die, st) &&
	       !dwarf_hasattr(st, DW_AT_declaration);
}

int py_layout_from_dwarf(Dwarf *dw, const struct py_dwarf_field *f, int n)
{
	bool done[MAX_FIELDS] = { false };
	Dwarf_Off off = 0, next;
	size_t hsize;
	int left = 0;

	if (n > MAX_FIELDS)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		*f[i].out = -1;
		done[i] = !f[i].type;
		left += !done[i];
	}
	while (left > 0 && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die, st;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				int tag = dwarf_tag(&die);
				if (tag != DW_TAG_structure_type && tag != DW_TAG_typedef)
					continue;
				const char *type = NULL;
				for (int i = 0; i < n; i++) {
					if (done[i] || (type && strcmp(type, f[i].type) != 0))
						continue;
					if (!type) {
						if (!names(&die, f[i].type, &st))
							continue;
						type = f[i].type;
					}
					resolve(&st, &f[i]);
					done[i] = true;
					left--;
				}
			} while (left > 0 && dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	return left ? -ENOENT : 0;
}
