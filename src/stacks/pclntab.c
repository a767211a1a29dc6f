/*
 * pclntab: the reader; see pclntab.h.
 *
 * Layout (runtime/symtab.go, Go 1.18+): a header (magic, pc quantum,
 * pointer size, counts, then offsets of the function-name, CU, file,
 * pc-value and function tables), a function table of (entry offset, _func
 * offset) pairs sorted by entry, and per function a _func record whose
 * pcsp, pcfile and pcln fields point at pc-value tables: varint-coded
 * (value delta, pc delta) pairs.  The text base is the header's textStart
 * up to Go 1.25; Go 1.26 leaves it 0 and keeps it in moduledata, in the
 * section .go.module (its field text, at 0xb0).
 */
#include "stacks/pclntab.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC_118 0xfffffff0u	/* Go 1.18, 1.19 */
#define MAGIC_120 0xfffffff1u	/* Go 1.20 to 1.26 */
#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3
#define MAX_INLINE_DEPTH 32
#define FLAG_TOPFRAME 0x1
#define FLAG_SPWRITE 0x2
#define MODULEDATA_TEXT 0xb0	/* Go 1.26 */
#define PCVALUE_STEPS (1 << 20)	/* a bound for a corrupt table */

struct go_pcln {
	Elf *elf;		/* for funcdata outside .gopclntab */
	uint64_t gofunc;	/* link-time moduledata.gofunc; 0: not known */
	const uint8_t *data;
	size_t size;
	uint64_t text;		/* link-time address of runtime.text */
	uint32_t quantum;
	bool v118;		/* no startLine in _func */
	uint64_t nfunc;
	uint64_t funcname, cu, filetab, pctab, pcln;	/* offsets in data */
	uint8_t wrapper_id;	/* FuncIDWrapper; 0: not known */
	uint8_t panic_ids[3];	/* gopanic's, sigpanic's, panicwrap's */
	uint64_t id;		/* go_pcln_id */
};

static _Atomic uint64_t last_id;

static bool get32(const struct go_pcln *p, uint64_t off, uint32_t *v)
{
	if (off > p->size || p->size - off < 4)
		return false;
	memcpy(v, p->data + off, 4);
	return true;
}

static bool get64(const uint8_t *data, size_t size, uint64_t off, uint64_t *v)
{
	if (off > size || size - off < 8)
		return false;
	memcpy(v, data + off, 8);
	return true;
}

/* A NUL-terminated string at off, or NULL. */
static const char *str_at(const struct go_pcln *p, uint64_t off)
{
	if (off >= p->size || !memchr(p->data + off, '\0', p->size - off))
		return NULL;
	return (const char *)p->data + off;
}

Elf_Scn *go_elf_section(Elf *elf, const char *want, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		if (!gelf_getshdr(scn, sh) || !(name = elf_strptr(elf, shstrndx, sh->sh_name)))
			continue;
		/* An externally linked PIE (cgo) has Go's read-only sections
		 * as ".data.rel.ro.gopclntab" and the like. */
		if (strncmp(name, ".data.rel.ro.", 13) == 0 && want[0] == '.' && want[1] != 'd')
			name += 12;
		if (strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

/* The bytes of section want, or NULL (none, empty, or not in the file). */
static Elf_Data *section(Elf *elf, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = go_elf_section(elf, want, sh);
	Elf_Data *d = scn && sh->sh_type != SHT_NOBITS ? elf_getdata(scn, NULL) : NULL;

	return d && d->d_buf && d->d_size ? d : NULL;
}

static void find_funcids(struct go_pcln *p);

struct go_pcln *go_pcln_open(Elf *elf)
{
	GElf_Shdr sh;
	Elf_Data *d = elf ? section(elf, ".gopclntab", &sh) : NULL;
	struct go_pcln *p;
	uint32_t magic;

	if (!d || d->d_size < 72)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->elf = elf;
	p->data = d->d_buf;
	p->size = d->d_size;
	memcpy(&magic, p->data, 4);
	if ((magic != MAGIC_118 && magic != MAGIC_120) || p->data[4] || p->data[5] ||
	    p->data[7] != 8 || !p->data[6])
		goto out_free;
	p->v118 = magic == MAGIC_118;
	p->quantum = p->data[6];
	uint64_t hdr[8];
	for (int i = 0; i < 8; i++)
		get64(p->data, p->size, 8 + 8 * (uint64_t)i, &hdr[i]);
	p->nfunc = hdr[0];
	p->text = hdr[2];
	p->funcname = hdr[3];
	p->cu = hdr[4];
	p->filetab = hdr[5];
	p->pctab = hdr[6];
	p->pcln = hdr[7];
	if (p->pcln >= p->size || p->nfunc == 0 ||
	    p->nfunc > (p->size - p->pcln) / 8 - 1)
		goto out_free;
	if (!p->text) {
		/* Go 1.26: moduledata.text, in .go.module. */
		Elf_Data *md = section(elf, ".go.module", &sh);
		if (!md || !get64(md->d_buf, md->d_size, MODULEDATA_TEXT, &p->text) || !p->text)
			goto out_free;
	}
	find_funcids(p);
	p->id = ++last_id;
	return p;
out_free:
	free(p);
	return NULL;
}

uint64_t go_pcln_id(const struct go_pcln *p)
{
	return p->id;
}

void go_pcln_close(struct go_pcln *p)
{
	free(p);
}

/* The _func fields, by name, at their offsets for this version. */
static bool func_u32(const struct go_pcln *p, uint32_t off, int field, uint32_t *v)
{
	return get32(p, p->pcln + off + 4 * (uint64_t)field, v);
}

enum { F_ENTRY, F_NAME, F_ARGS, F_DEFER, F_PCSP, F_PCFILE, F_PCLN, F_NPCDATA, F_CU };

bool go_pcln_func(const struct go_pcln *p, uint64_t addr, struct go_func *f)
{
	uint64_t lo = 0, hi = p->nfunc, off;
	uint32_t e, fo, end, nameoff;

	if (addr < p->text)
		return false;
	off = addr - p->text;
	if (!get32(p, p->pcln + 8 * p->nfunc, &end) || off >= end)
		return false;
	/* The last entry whose start is at or before off. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (!get32(p, p->pcln + 8 * mid, &e))
			return false;
		if (e <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (!get32(p, p->pcln + 8 * lo, &e) || e > off ||
	    !get32(p, p->pcln + 8 * lo + 4, &fo) ||
	    !func_u32(p, fo, F_ENTRY, &e) || !func_u32(p, fo, F_NAME, &nameoff))
		return false;
	f->entry = p->text + e;
	f->off = fo;
	f->name = str_at(p, p->funcname + nameoff);
	uint64_t flagat = p->pcln + fo + (p->v118 ? 37 : 41);
	uint8_t flag = flagat < p->size ? p->data[flagat] : 0;
	f->funcid = flagat - 1 < p->size ? p->data[flagat - 1] : 0;
	f->top = (flag & (FLAG_TOPFRAME | FLAG_SPWRITE)) != 0;
	return f->name != NULL;
}

/*
 * The funcIDs that go_pcln_kind() needs, in one pass over the table:
 * FuncIDWrapper is the last of the enum in every release (1.18 to 1.27),
 * and every binary has wrappers (runtime.call16 at least), so it is the
 * largest funcID any function has; the panic ones are those of the
 * functions of that name.  A table where the largest is not above
 * systemstack_switch's (the one before it since 1.18) has no known
 * wrapper id.
 */
static void find_funcids(struct go_pcln *p)
{
	static const char *const panics[3] = { "runtime.gopanic", "runtime.sigpanic",
					       "runtime.panicwrap" };
	uint8_t most = 0, below = 0;

	for (uint64_t i = 0; i < p->nfunc; i++) {
		uint32_t fo, nameoff;
		uint64_t at;
		if (!get32(p, p->pcln + 8 * i + 4, &fo))
			return;
		at = p->pcln + fo + (p->v118 ? 36 : 40);
		if (at >= p->size || !p->data[at])
			continue;
		uint8_t id = p->data[at];
		most = id > most ? id : most;
		const char *name = func_u32(p, fo, F_NAME, &nameoff) ?
				   str_at(p, p->funcname + nameoff) : NULL;
		if (!name || strncmp(name, "runtime.", 8) != 0)
			continue;
		for (int k = 0; k < 3; k++)
			if (strcmp(name, panics[k]) == 0)
				p->panic_ids[k] = id;
		if (strcmp(name, "runtime.systemstack_switch") == 0)
			below = id;
	}
	p->wrapper_id = below && most > below ? most : 0;
}

enum go_func_kind go_pcln_kind(const struct go_pcln *p, uint8_t funcid)
{
	if (!funcid)
		return GO_FUNC_NORMAL;
	if (funcid == p->wrapper_id)
		return GO_FUNC_WRAPPER;
	for (int k = 0; k < 3; k++)
		if (funcid == p->panic_ids[k])
			return GO_FUNC_PANIC;
	return GO_FUNC_NORMAL;
}

const char *go_print_name(const char *name, char *buf, size_t size)
{
	const char *open = name ? strchr(name, '[') : NULL;
	const char *close = open ? strrchr(open, ']') : NULL;
	size_t head, tail;

	if (!close)
		return name;
	head = (size_t)(open - name);
	tail = strlen(close + 1);
	if (head + 5 + tail + 1 > size)
		return name;
	memcpy(buf, name, head);
	memcpy(buf + head, "[...]", 5);
	memcpy(buf + head + 5, close + 1, tail + 1);
	return buf;
}

static bool uvarint(const struct go_pcln *p, uint64_t *at, uint32_t *v)
{
	uint32_t r = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		if (*at >= p->size)
			return false;
		uint8_t b = p->data[(*at)++];
		r |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The value of pc-value table tab of f at addr (runtime.pcvalue). */
static bool pcvalue(const struct go_pcln *p, const struct go_func *f, uint32_t tab,
		    uint64_t addr, int32_t *out)
{
	uint64_t at = p->pctab + tab, pc = f->entry;
	int32_t val = -1;

	if (!tab)
		return false;
	for (int step = 0; step < PCVALUE_STEPS; step++) {
		uint32_t uv, pcd;
		if (!uvarint(p, &at, &uv) || (uv == 0 && step > 0))
			return false;
		val += (uv & 1) ? (int32_t)~(uv >> 1) : (int32_t)(uv >> 1);
		if (!uvarint(p, &at, &pcd))
			return false;
		pc += (uint64_t)pcd * p->quantum;
		if (addr < pc) {
			*out = val;
			return true;
		}
	}
	return false;
}

bool go_pcln_spdelta(const struct go_pcln *p, const struct go_func *f,
		     uint64_t addr, int64_t *delta)
{
	uint32_t tab;
	int32_t v;

	if (!func_u32(p, f->off, F_PCSP, &tab) || !pcvalue(p, f, tab, addr, &v) || v < 0)
		return false;
	*delta = v;
	return true;
}

bool go_pcln_line(const struct go_pcln *p, const struct go_func *f,
		  uint64_t addr, const char **file, int *line)
{
	uint32_t ftab, ltab, cu, fileoff;
	int32_t fileno, ln;

	if (!func_u32(p, f->off, F_PCFILE, &ftab) || !func_u32(p, f->off, F_PCLN, &ltab) ||
	    !func_u32(p, f->off, F_CU, &cu) || !pcvalue(p, f, ftab, addr, &fileno) ||
	    !pcvalue(p, f, ltab, addr, &ln) || fileno < 0 ||
	    !get32(p, p->cu + 4 * ((uint64_t)cu + (uint32_t)fileno), &fileoff) ||
	    fileoff == UINT32_MAX)
		return false;
	*file = str_at(p, p->filetab + fileoff);
	*line = ln;
	return *file != NULL;
}

void go_pcln_set_gofunc(struct go_pcln *p, uint64_t gofunc)
{
	p->gofunc = gofunc;
}

/* n bytes at link-time address addr of the ELF file, from the section
 * holding them. */
static bool read_addr(const struct go_pcln *p, uint64_t addr, void *out, size_t n)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(p->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_addr ||
		    addr < sh.sh_addr || addr - sh.sh_addr > sh.sh_size ||
		    sh.sh_size - (addr - sh.sh_addr) < n)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size < addr - sh.sh_addr + n)
			return false;
		memcpy(out, (const uint8_t *)d->d_buf + (addr - sh.sh_addr), n);
		return true;
	}
	return false;
}

/* pcdata table k of f at addr, funcdata k's link-time address. */
static bool func_fixed(const struct go_pcln *p, const struct go_func *f,
		       uint32_t *npcdata, uint8_t *nfuncdata, uint64_t *end)
{
	uint64_t base = p->pcln + f->off;
	uint64_t nfd = base + (p->v118 ? 39 : 43);

	if (!func_u32(p, f->off, F_NPCDATA, npcdata) || nfd >= p->size)
		return false;
	*nfuncdata = p->data[nfd];
	*end = nfd + 1;
	return true;
}

static bool pcdata_value(const struct go_pcln *p, const struct go_func *f, uint32_t k,
			 uint64_t addr, int32_t *v)
{
	uint32_t npcdata, tab;
	uint8_t nfuncdata;
	uint64_t end;

	return func_fixed(p, f, &npcdata, &nfuncdata, &end) && k < npcdata &&
	       get32(p, end + 4 * (uint64_t)k, &tab) && pcvalue(p, f, tab, addr, v);
}

static bool funcdata_addr(const struct go_pcln *p, const struct go_func *f, uint32_t k,
			  uint64_t *addr)
{
	uint32_t npcdata, off;
	uint8_t nfuncdata;
	uint64_t end;

	if (!p->gofunc || !func_fixed(p, f, &npcdata, &nfuncdata, &end) || k >= nfuncdata ||
	    !get32(p, end + 4 * ((uint64_t)npcdata + k), &off) || off == UINT32_MAX)
		return false;
	*addr = p->gofunc + off;
	return true;
}

int go_pcln_inline(const struct go_pcln *p, const struct go_func *f, uint64_t addr,
		   struct go_inline *out, int max)
{
	uint64_t tree, at = addr;
	int32_t ix;
	int n = 0;

	if (!funcdata_addr(p, f, FUNCDATA_INLTREE, &tree))
		return 0;
	while (n < max && n < MAX_INLINE_DEPTH &&
	       pcdata_value(p, f, PCDATA_INLTREEINDEX, at, &ix) && ix >= 0) {
		/* 1.19: {parent i16, funcID u8, pad, file i32, line i32,
		 * func i32, parentPc i32}; 1.20+: {funcID u8, pad[3],
		 * nameOff i32, parentPc i32, startLine i32} */
		uint8_t e[20];
		size_t esize = p->v118 ? 20 : 16;
		int32_t nameoff, parentpc;
		if (!read_addr(p, tree + (uint64_t)ix * esize, e, esize))
			break;
		memcpy(&nameoff, e + (p->v118 ? 12 : 4), 4);
		memcpy(&parentpc, e + (p->v118 ? 16 : 8), 4);
		out[n].name = nameoff >= 0 ? str_at(p, p->funcname + (uint32_t)nameoff) : NULL;
		out[n].pc = at;
		out[n].funcid = e[p->v118 ? 2 : 0];
		if (!out[n].name)
			break;
		n++;
		if (parentpc < 0)
			break;
		at = f->entry + (uint32_t)parentpc;
	}
	/* The pc at which the function itself is, for its file:line. */
	out[n].name = f->name;
	out[n].pc = at;
	out[n].funcid = f->funcid;
	return n;
}

bool go_pcln_find(const struct go_pcln *p, const char *name, uint64_t *entry, uint64_t *end)
{
	for (uint64_t i = 0; i < p->nfunc; i++) {
		uint32_t fo, nameoff, e, next;
		const char *n;
		if (!get32(p, p->pcln + 8 * i + 4, &fo) || !func_u32(p, fo, F_NAME, &nameoff))
			return false;
		n = str_at(p, p->funcname + nameoff);
		if (!n || strcmp(n, name) != 0)
			continue;
		/* its code runs to the next function's entry */
		if (!get32(p, p->pcln + 8 * i, &e) || !get32(p, p->pcln + 8 * (i + 1), &next))
			return false;
		if (entry)
			*entry = p->text + e;
		if (end)
			*end = p->text + next;
		return true;
	}
	return false;
}

bool go_pcln_has(const struct go_pcln *p, const char *name)
{
	return go_pcln_find(p, name, NULL, NULL);
}
