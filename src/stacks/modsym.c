/*
 * modsym: a module's ELF symbols by name; see modsym.h.
 *
 * A linear walk of the symbol table libdwfl gives for the module, the
 * first symbol spelt name winning; libdwfl has no lookup by name.
 */
#include "stacks/modsym.h"

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
