/*
 * modsym: a module's ELF symbols by name; see modsym.h.
 *
 * A linear walk of the symbol table libdwfl gives for the module, the
 * first symbol spelt name winning; libdwfl has no lookup by name.  The
 * exported symbols alone: a walk of the file's .dynsym through libelf
 * (a few thousand entries in libc), defined symbols only.  The cache: per
 * module, its symbols' names (libdwfl's strings, which live as long as the
 * module) in an open-addressing table, the first of a name kept.
 */
#include "stacks/modsym.h"

#include <gelf.h>
#include <stdlib.h>
#include <string.h>

uint64_t modsym_address(Dwfl_Module *mod, const char *name, uint64_t *size)
{
	int n = dwfl_module_getsymtab(mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *nm = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (nm && strcmp(nm, name) == 0) {
			if (size)
				*size = sym.st_size;
			return addr;
		}
	}
	return 0;
}

uint64_t modsym_exported(Dwfl_Module *mod, const char *name)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Elf_Scn *scn = NULL;

	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 1; data && i < n; i++) {
			GElf_Sym sym;
			const char *nm;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !(nm = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			if (strcmp(nm, name) == 0)
				return sym.st_value + bias;
		}
		break;
	}
	return 0;
}

#define CACHE_MODULES 64	/* modules kept; more: walked as before */

struct sym_slot {
	const char *name;	/* NULL: empty */
	uint64_t addr;
};

struct mod_table {
	Dwfl_Module *mod;
	struct sym_slot *slots;	/* mask + 1 of them; NULL: not built */
	size_t mask;
};

struct modsym_cache {
	struct mod_table mods[CACHE_MODULES];
	int n;
};

struct modsym_cache *modsym_cache_new(void)
{
	return calloc(1, sizeof(struct modsym_cache));
}

void modsym_cache_free(struct modsym_cache *c)
{
	for (int i = 0; c && i < c->n; i++)
		free(c->mods[i].slots);
	free(c);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* mod's table, built now if it is new; NULL when there is no room. */
static struct mod_table *table_of(struct modsym_cache *c, Dwfl_Module *mod)
{
	for (int i = 0; i < c->n; i++)
		if (c->mods[i].mod == mod)
			return &c->mods[i];
	if (c->n == CACHE_MODULES)
		return NULL;
	struct mod_table *t = &c->mods[c->n++];
	int n = dwfl_module_getsymtab(mod);
	size_t cap = 16;

	t->mod = mod;
	while (n > 0 && cap < (size_t)n * 2)
		cap *= 2;
	if (!(t->slots = calloc(cap, sizeof(*t->slots))))
		return t;	/* no table: lookups walk */
	t->mask = cap - 1;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *nm = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!nm || !*nm)
			continue;
		for (size_t k = name_hash(nm) & t->mask;; k = (k + 1) & t->mask) {
			if (!t->slots[k].name) {
				t->slots[k] = (struct sym_slot){ nm, addr };
				break;
			}
			if (strcmp(t->slots[k].name, nm) == 0)
				break;	/* the first of a name wins */
		}
	}
	return t;
}

uint64_t modsym_cached(struct modsym_cache *c, Dwfl_Module *mod, const char *name)
{
	struct mod_table *t = c ? table_of(c, mod) : NULL;

	if (!t || !t->slots)
		return modsym_address(mod, name, NULL);
	for (size_t k = name_hash(name) & t->mask; t->slots[k].name; k = (k + 1) & t->mask)
		if (strcmp(t->slots[k].name, name) == 0)
			return t->slots[k].addr;
	return 0;
}
