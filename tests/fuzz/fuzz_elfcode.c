/*
 * fuzz_elfcode: a libFuzzer harness for what elfcode.c reads from a
 * target's ELF files without trusting them: .eh_frame_hdr's table of
 * function starts, PLT entries and the relocations behind them.
 *
 * The input is opened as an ELF file in memory (libelf); anything that
 * is not one is let go.  Then, for every section's first, middle and last
 * address and the input's first 8 bytes as an address: a function start
 * found must not lie above the address; a PLT name must end in "@plt"
 * and fit its buffer.  AddressSanitizer, UBSan and LeakSanitizer report
 * the rest.
 *
 * Build and run: FUZZ_TARGET=elfcode tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/elfcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn))
static void broken(const char *what)
{
	fprintf(stderr, "fuzz_elfcode: %s\n", what);
	abort();
}

static void probe(Elf *elf, GElf_Addr addr)
{
	GElf_Addr start;
	char name[64];

	if (elfcode_function_start(elf, addr, &start) && start > addr)
		broken("a function starts above the address asked about");
	memset(name, 'x', sizeof(name));
	if (elfcode_plt_name(elf, addr, name, sizeof(name))) {
		size_t len = strnlen(name, sizeof(name));
		if (len == sizeof(name))
			broken("a PLT name is not terminated");
		if (len < sizeof(name) - 1 && (len < 4 || strcmp(name + len - 4, "@plt") != 0))
			broken("a PLT name does not end in @plt");
		if (!elfcode_in_plt(elf, addr))
			broken("a PLT name outside any PLT");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory(copy, size);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;
		uint64_t first = 0;
		memcpy(&first, data, size < 8 ? size : 8);
		probe(elf, first);
		int n = 0;
		while ((scn = elf_nextscn(elf, scn)) && n++ < 256) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			probe(elf, sh.sh_addr);
			probe(elf, sh.sh_addr + sh.sh_size / 2);
			probe(elf, sh.sh_addr + sh.sh_size - 1);
		}
	}
	elf_end(elf);
	free(copy);
	return 0;
}
