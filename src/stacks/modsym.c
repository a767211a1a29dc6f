/*
 * modsym: a module's ELF symbols by name; see modsym.h.
 *
 * A linear walk of the symbol table libdwfl gives for the module, the
 * first symbol spelt name winning; libdwfl has no lookup by name.  The
 * exported symbols alone: a walk of the file's .dynsym through libelf
 * (a few thousand entries in libc), defined symbols only.
 */
#include "stacks/modsym.h"

#include <gelf.h>
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
