/*
 * elfcode: function starts from .eh_frame_hdr, PLT entry names, exported
 * functions by name; see elfcode.h.
 *
 * .eh_frame_hdr (LSB, "Exception Frame Header"): version 1, three
 * pointer encodings, eh_frame_ptr, fde_count, then fde_count pairs
 * (initial location, FDE address) sorted by location.  GNU ld, gold, lld
 * and mold all write the table as 4-byte offsets from the header's own
 * address (DW_EH_PE_datarel | DW_EH_PE_sdata4); anything else is left
 * alone.  A PLT entry is found by its section's entry size; its jump is
 * "ff 25 rel32" (jmp *GOT(%rip)), after an endbr64 and/or a bnd prefix
 * where the linker adds them, and the relocation against that GOT slot
 * names the symbol.  An exported function is looked up as the dynamic
 * linker does, through .gnu.hash (a symbol of a hidden version,
 * "NAME@VER", is not the name's).
 */
#include "stacks/elfcode.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PE_DATAREL_SDATA4 0x3b
#define PE_OMIT 0xff

/* The allocated section holding addr, and its header. */
static Elf_Scn *section_at(Elf *elf, GElf_Addr addr, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, shdr) && (shdr->sh_flags & SHF_ALLOC) &&
		    shdr->sh_type != SHT_NOBITS && addr >= shdr->sh_addr &&
		    addr - shdr->sh_addr < shdr->sh_size)
			return scn;
	}
	return NULL;
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n = gelf_getshdr(scn, shdr) ?
				elf_strptr(elf, shstrndx, shdr->sh_name) : NULL;
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

/* Bytes of an encoded value at the start of .eh_frame_hdr; -1: unknown. */
static int encoded_size(unsigned char enc)
{
	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x0f) {
	case 0x02: case 0x0a: return 2;	/* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;	/* udata4, sdata4 */
	case 0x04: case 0x0c: return 8;	/* udata8, sdata8 */
	default: return -1;
	}
}

bool elfcode_function_start(Elf *elf, GElf_Addr addr, GElf_Addr *start)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_named(elf, ".eh_frame_hdr", &shdr);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || d->d_size < 8)
		return false;
	const unsigned char *b = d->d_buf;
	int ptr_len = encoded_size(b[1]);
	if (b[0] != 1 || b[2] != 0x03 || b[3] != PE_DATAREL_SDATA4 || ptr_len < 0 ||
	    d->d_size < 4 + (size_t)ptr_len + 4)
		return false;	/* fde_count must be udata4 */
	size_t pos = 4 + (size_t)ptr_len;
	uint32_t count;
	memcpy(&count, b + pos, sizeof(count));
	pos += 4;
	if (count > (d->d_size - pos) / 8)
		count = (d->d_size - pos) / 8;
	/* The last entry whose location is <= addr. */
	int64_t want = (int64_t)(addr - shdr.sh_addr);
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int32_t loc;
		memcpy(&loc, b + pos + mid * 8, sizeof(loc));
		if (loc <= want)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	int32_t loc;
	memcpy(&loc, b + pos + (lo - 1) * 8, sizeof(loc));
	*start = shdr.sh_addr + (GElf_Addr)(int64_t)loc;
	return *start <= addr;	/* else the offsets wrapped: a forged table */
}

static bool is_plt(Elf *elf, GElf_Shdr *shdr)
{
	size_t shstrndx;
	const char *n = elf_getshdrstrndx(elf, &shstrndx) == 0 ?
			elf_strptr(elf, shstrndx, shdr->sh_name) : NULL;

	return n && (strcmp(n, ".plt") == 0 || strcmp(n, ".plt.sec") == 0 ||
		     strcmp(n, ".plt.got") == 0);
}

bool elfcode_in_plt(Elf *elf, GElf_Addr addr)
{
	GElf_Shdr shdr;

	return section_at(elf, addr, &shdr) && is_plt(elf, &shdr);
}

/* The GOT slot the PLT entry holding addr jumps through, or 0. */
static GElf_Addr plt_slot(Elf *elf, GElf_Addr addr)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_at(elf, addr, &shdr);
	Elf_Data *d = scn && is_plt(elf, &shdr) ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || d->d_size < shdr.sh_size)
		return 0;
	GElf_Xword es = shdr.sh_entsize == 8 || shdr.sh_entsize == 16 ? shdr.sh_entsize : 16;
	GElf_Addr off = (addr - shdr.sh_addr) / es * es;
	const unsigned char *e = (const unsigned char *)d->d_buf + off;
	/* jmp, bnd jmp, endbr64 + jmp, endbr64 + bnd jmp */
	static const unsigned at[] = { 0, 1, 4, 5 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		GElf_Addr k = at[i];
		if (off + k + 6 > shdr.sh_size || e[k] != 0xff || e[k + 1] != 0x25)
			continue;
		if (k == 1 && e[0] != 0xf2)
			continue;
		if (k >= 4 && memcmp(e, "\xf3\x0f\x1e\xfa", 4) != 0)
			continue;
		if (k == 5 && e[4] != 0xf2)
			continue;
		int32_t rel;
		memcpy(&rel, e + k + 2, sizeof(rel));
		return shdr.sh_addr + off + k + 6 + (GElf_Addr)(int64_t)rel;
	}
	return 0;
}

/* The name of the dynamic symbol a relocation against slot refers to;
 * for one against no symbol (R_X86_64_IRELATIVE: an ifunc), its addend
 * in *addend, and "" (BFD, hence objdump and gdb, say "*ABS*+0x...@plt"). */
static const char *slot_symbol(Elf *elf, GElf_Addr slot, GElf_Sxword *addend)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Scn *symscn = elf_getscn(elf, shdr.sh_link);
		GElf_Shdr symshdr;
		Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
		if (!d || !syms || !gelf_getshdr(symscn, &symshdr) || !shdr.sh_entsize)
			continue;
		size_t n = d->d_size / shdr.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			if (!gelf_getrela(d, (int)i, &r) || r.r_offset != slot)
				continue;
			size_t k = GELF_R_SYM(r.r_info);
			*addend = r.r_addend;
			if (!k)
				return "";
			if (!gelf_getsym(syms, (int)k, &sym))
				return NULL;
			return elf_strptr(elf, symshdr.sh_link, sym.st_name);
		}
	}
	return NULL;
}

bool elfcode_plt_name(Elf *elf, GElf_Addr addr, char *buf, size_t len)
{
	GElf_Addr slot = plt_slot(elf, addr);
	GElf_Sxword addend = 0;
	const char *name = slot ? slot_symbol(elf, slot, &addend) : NULL;

	if (!name)
		return false;
	if (*name)
		snprintf(buf, len, "%s@plt", name);
	else
		snprintf(buf, len, "*ABS*+%#" PRIx64 "@plt", (uint64_t)addend);
	return true;
}

/* Whether dynamic symbol k of syms (names in strtab) is the defined,
 * default-version function name. */
static bool dynsym_is(Elf *elf, Elf_Data *syms, size_t strtab, Elf_Data *versym,
		      size_t k, const char *name, GElf_Sym *sym)
{
	const char *n;
	GElf_Versym v;

	if (!gelf_getsym(syms, (int)k, sym) || sym->st_shndx == SHN_UNDEF ||
	    GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value)
		return false;
	if (versym && gelf_getversym(versym, (int)k, &v) && (v & 0x8000))
		return false;	/* a hidden, older version: NAME@VER */
	n = elf_strptr(elf, strtab, sym->st_name);
	return n && strcmp(n, name) == 0;
}

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

bool elfcode_dynsym_function(Elf *elf, const char *name, GElf_Addr *addr)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *hash = NULL, *vers = NULL;
	GElf_Shdr shdr, symshdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (shdr.sh_type == SHT_GNU_HASH)
			hash = scn;
		else if (shdr.sh_type == SHT_GNU_versym)
			vers = scn;
	}
	Elf_Data *syms = dynsym ? elf_getdata(dynsym, NULL) : NULL;
	if (!syms || !gelf_getshdr(dynsym, &symshdr) || !symshdr.sh_entsize)
		return false;
	Elf_Data *versym = vers ? elf_getdata(vers, NULL) : NULL;
	size_t nsyms = syms->d_size / symshdr.sh_entsize;
	GElf_Sym sym;

	Elf_Data *hd = hash && gelf_getshdr(hash, &shdr) && shdr.sh_link == elf_ndxscn(dynsym) ?
		       elf_rawdata(hash, NULL) : NULL;
	if (!hd || !hd->d_buf || hd->d_size < 16) {
		/* No GNU hash table: every symbol, in order. */
		for (size_t k = 1; k < nsyms; k++) {
			if (dynsym_is(elf, syms, symshdr.sh_link, versym, k, name, &sym)) {
				*addr = sym.st_value;
				return true;
			}
		}
		return false;
	}
	/* DT_GNU_HASH: nbuckets, symoffset, bloom words, bloom shift, the
	 * bloom filter (words of the class's size), the buckets, then one
	 * hash per symbol from symoffset on, its low bit marking a chain's
	 * last.  Every index is checked against the section's size. */
	const unsigned char *b = hd->d_buf;
	uint32_t hdr[4];
	memcpy(hdr, b, sizeof(hdr));
	size_t word = gelf_getclass(elf) == ELFCLASS64 ? 8 : 4;
	uint64_t buckets = 16 + (uint64_t)hdr[2] * word;
	uint64_t chains = buckets + (uint64_t)hdr[0] * 4;
	if (!hdr[0] || chains > hd->d_size)
		return false;
	uint32_t h = gnu_hash(name), k;
	memcpy(&k, b + buckets + (uint64_t)(h % hdr[0]) * 4, sizeof(k));
	for (; k >= hdr[1] && k < nsyms; k++) {
		uint64_t at = chains + (uint64_t)(k - hdr[1]) * 4;
		uint32_t h2;
		if (at + 4 > hd->d_size)
			return false;
		memcpy(&h2, b + at, sizeof(h2));
		if ((h | 1) == (h2 | 1) &&
		    dynsym_is(elf, syms, symshdr.sh_link, versym, k, name, &sym)) {
			*addr = sym.st_value;
			return true;
		}
		if (h2 & 1)
			break;
	}
	return false;
}
