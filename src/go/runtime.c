/*
 * go/runtime: version, layouts, and the scheduler's data; see runtime.h.
 *
 * What is read from the ELF file (build information, section addresses)
 * is bounded by the section; what is read from the process (allgs, the
 * wait reasons, the data sections a scan looks at) goes through memory.h
 * and is checked before use: a candidate for allgs must point at g's
 * whose stack bounds are sane and whose saved context names the g itself.
 */
#include "go/runtime.h"
#include "stacks/modsym.h"
#include "go/layout-dwarf.h"
#include "go/layout-types.h"
#include "stacks/pclntab.h"


#include <errno.h>
#include <stddef.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MINOR 19
#define MAX_MINOR 27
#define MAX_REASONS 128
#define MAX_REASON_LEN 64
#define SCAN_MAX (8u << 20)	/* bytes of a data section scanned */

/* ---- the ELF file ---- */

/* "go1.N[.M]" at p (at most n bytes): its length, or 0. */
static size_t version_at(const char *p, size_t n, int *minor)
{
	size_t i = 4;

	if (n < 5 || memcmp(p, "go1.", 4) != 0 || p[4] < '0' || p[4] > '9')
		return 0;
	*minor = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9' && *minor < 1000)
		*minor = *minor * 10 + (p[i++] - '0');
	if (i + 1 < n && p[i] == '.' && p[i + 1] >= '0' && p[i + 1] <= '9')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			;
	return i;
}

/* The Go version, from .go.buildinfo (Go 1.18+: the version inline,
 * after a 32-byte header), else from the first "go1.N" string of the
 * read-only data. */
static int read_version(Elf *elf, char *out, size_t outlen, int *minor)
{
	static const char magic[] = "\xff Go buildinf:";
	GElf_Shdr sh;
	Elf_Scn *scn = go_elf_section(elf, ".go.buildinfo", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (d && d->d_buf && d->d_size > 33 && memcmp(d->d_buf, magic, 14) == 0 &&
	    (((const uint8_t *)d->d_buf)[15] & 2)) {
		const uint8_t *p = d->d_buf;
		size_t len = p[32];	/* a varint, one byte for any version string */
		int m;
		if (len && len < 0x80 && 33 + len <= d->d_size &&
		    version_at((const char *)p + 33, len, &m) == len) {
			snprintf(out, outlen, "%.*s", (int)len, p + 33);
			*minor = m;
			return 0;
		}
	}
	scn = go_elf_section(elf, ".rodata", &sh);
	d = scn ? elf_getdata(scn, NULL) : NULL;
	for (size_t i = 0; d && d->d_buf && i + 8 < d->d_size; i++) {
		const char *p = (const char *)d->d_buf + i;
		int m;
		if (*p != 'g')
			continue;
		size_t n = version_at(p, d->d_size - i, &m);
		if (n && (i + n == d->d_size || p[n] < '0' || p[n] > 'z')) {
			snprintf(out, outlen, "%.*s", (int)n, p);
			*minor = m;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- layouts ---- */

static void layout_for(int minor, struct go_layout *l)
{
	bool v123 = minor == 23 || minor == 24;	/* syscallbp moved the rest */
	bool v125 = minor >= 25;		/* gobuf lost ret */

	memset(l, 0, sizeof(*l));
	l->stack_lo = 0;
	l->stack_hi = 8;
	l->m = 48;
	l->sched = 56;
	l->syscallsp = v125 ? 104 : 112;
	l->syscallpc = v125 ? 112 : 120;
	l->status = v123 ? 152 : 144;
	l->goid = v123 ? 160 : 152;
	l->waitsince = v123 ? 176 : 168;
	l->waitreason = v123 ? 184 : 176;
	switch (minor) {
	case 19: case 20:
		l->gopc = 296; l->startpc = 312;
		break;
	case 21: case 22:
		l->parent_goid = 272; l->gopc = 280; l->startpc = 296;
		break;
	case 23: case 24:
		l->parent_goid = 280; l->gopc = 288; l->startpc = 304;
		break;
	case 25:
		l->parent_goid = 272; l->gopc = 280; l->startpc = 296;
		break;
	default:	/* 26, 27 (1.27.4's DWARF: the same as 1.26's) */
		l->parent_goid = 280; l->gopc = 288; l->startpc = 304;
		break;
	}
	/* ancestors follows gopc, labels is 48 bytes past startpc in every
	 * version (GO-RUNTIME.md) */
	l->ancestors = l->gopc + 8;
	l->labels = l->startpc + 48;
	l->g_size = l->labels + 8;
	l->buf_sp = 0;
	l->buf_pc = 8;
	l->buf_g = 16;
	l->buf_bp = v125 ? 40 : 48;
	l->m_procid = v125 ? 64 : 72;
	l->m_curg = v125 ? 184 : 192;
	/* pollDesc gained fdseq (before atomicInfo) in 1.21; sudog's elem
	 * became two words in 1.26 (checked on 1.19 and 1.26 binaries). */
	l->pd_fd = 8;
	l->pd_rg = minor >= 21 ? 32 : 24;
	l->pd_wg = l->pd_rg + 8;
	l->sudog_g = 0;
	l->sudog_next = 8;
	l->sudog_prev = 16;
	l->sudog_elem = 24;
	l->sudog_waitlink = minor >= 26 ? 72 : 64;
	l->semroot_treap = 8;
}

/* l's hot_lo and hot_hi, from its fields. */
static void go_layout_hot(struct go_layout *l)
{
	const unsigned at[][2] = {
		{ l->m, 8 }, { l->sched + l->buf_sp, 8 }, { l->sched + l->buf_pc, 8 },
		{ l->syscallsp, 8 }, { l->syscallpc, 8 }, { l->status, 4 }, { l->goid, 8 },
		{ l->waitsince, 8 }, { l->waitreason, 1 },
	};

	l->hot_lo = at[0][0];
	l->hot_hi = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (at[i][0] < l->hot_lo)
			l->hot_lo = at[i][0];
		if (at[i][0] + at[i][1] > l->hot_hi)
			l->hot_hi = at[i][0] + at[i][1];
	}
}

/* ---- the process's data ---- */

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Whether the g at addr looks like one: sane stack bounds, and its saved
 * context's g is itself (newproc sets it; nothing clears it). */
static bool looks_like_g(const struct go_runtime *rt, struct memory *mem, uint64_t addr)
{
	unsigned char g[512];
	const struct go_layout *l = &rt->lay;

	if (!addr || addr % 8 || l->g_size > sizeof(g) || memory_read(mem, addr, g, l->g_size) < 0)
		return false;
	uint64_t lo = u64(g + l->stack_lo), hi = u64(g + l->stack_hi);
	uint64_t size = hi - lo;
	return lo < hi && size >= 2048 && size <= (1ull << 30) && !(size & (size - 1)) &&
	       u64(g + l->sched + l->buf_g) == addr;
}

/* A slice header {ptr, len, cap} at addr whose first elements are g's. */
static bool looks_like_allgs(const struct go_runtime *rt, struct memory *mem,
			     const unsigned char *hdr)
{
	uint64_t ptr = u64(hdr), len = u64(hdr + 8), cap = u64(hdr + 16);

	if (!ptr || ptr % 8 || !len || len > cap || cap > (1u << 26))
		return false;
	for (uint64_t i = 0; i < len && i < 4; i++) {
		uint64_t g;
		if (memory_read(mem, ptr + 8 * i, &g, 8) < 0 || !looks_like_g(rt, mem, g))
			return false;
	}
	return true;
}

/* Reads the section named name of the Go module from the process. */
static unsigned char *read_section(Elf *elf, uint64_t bias, struct memory *mem,
				   const char *name, uint64_t *addr, size_t *len)
{
	GElf_Shdr sh;

	if (!go_elf_section(elf, name, &sh) || !sh.sh_addr || !sh.sh_size)
		return NULL;
	*addr = sh.sh_addr + bias;
	*len = sh.sh_size < SCAN_MAX ? sh.sh_size : SCAN_MAX;
	unsigned char *buf = malloc(*len);
	/* Page by page: a hole need not fail the rest. */
	for (size_t off = 0; buf && off < *len; off += MEM_PAGE) {
		size_t n = *len - off < MEM_PAGE ? *len - off : MEM_PAGE;
		if (memory_read(mem, *addr + off, buf + off, n) < 0)
			memset(buf + off, 0, n);
	}
	return buf;
}

/*
 * runtime.semtable without its symbol: semacquire1 finds a semaphore's
 * root with semtable.rootFor(addr), inlined, which loads the table's
 * address with a RIP-relative LEA (REX.W 8D, mod 00 r/m 101).  The one
 * such address in .bss with room for the table after it is semtable.
 */
static uint64_t find_semtable(Elf *elf, uint64_t bias, struct go_pcln *pcln)
{
	uint64_t entry, end, found = 0;
	GElf_Shdr text, bss;
	Elf_Scn *scn = go_elf_section(elf, ".text", &text);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || !go_elf_section(elf, ".bss", &bss) ||
	    !go_pcln_find(pcln, "runtime.semacquire1", &entry, &end) ||
	    entry < text.sh_addr || end > text.sh_addr + d->d_size || end - entry > 65536)
		return 0;
	const uint8_t *code = (const uint8_t *)d->d_buf + (entry - text.sh_addr);
	size_t n = end - entry;
	for (size_t i = 0; i + 7 <= n; i++) {
		if ((code[i] & 0xfb) != 0x48 || code[i + 1] != 0x8d || (code[i + 2] & 0xc7) != 0x05)
			continue;
		int32_t disp;
		memcpy(&disp, code + i + 3, 4);
		uint64_t at = entry + i + 7 + (int64_t)disp;
		if (at >= bss.sh_addr && at + GO_SEMTAB_ROOTS * GO_SEMROOT_SIZE <= bss.sh_addr + bss.sh_size) {
			if (found && found != at)
				return 0;	/* two: not sure which */
			found = at;
		}
	}
	return found ? found + bias : 0;
}

static uint64_t scan_allgs(struct go_runtime *rt, Elf *elf, uint64_t bias,
			   struct memory *mem)
{
	static const char *const sections[] = { ".bss", ".noptrbss", ".data" };

	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		uint64_t addr;
		size_t len;
		unsigned char *buf = read_section(elf, bias, mem, sections[s], &addr, &len);
		for (size_t off = 0; buf && off + 24 <= len; off += 8) {
			if (looks_like_allgs(rt, mem, buf + off)) {
				free(buf);
				return addr + off;
			}
		}
		free(buf);
	}
	return 0;
}

/* The Go string {ptr, len} at hdr, if it is one of a wait reason's shape:
 * its length in *n and its bytes in out (NUL-terminated). */
static bool reason_at(struct memory *mem, const unsigned char *hdr, char *out, size_t *n)
{
	uint64_t ptr = u64(hdr), len = u64(hdr + 8);

	if (len == 0) {
		out[0] = '\0';
		*n = 0;
		return true;
	}
	if (!ptr || len >= MAX_REASON_LEN || memory_read(mem, ptr, out, len) < 0)
		return false;
	out[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (out[i] < ' ' || out[i] > '~')
			return false;
	*n = len;
	return true;
}

/* Reads count entries of the array at addr into rt->reasons. */
static int read_reasons(struct go_runtime *rt, struct memory *mem, uint64_t addr, size_t count)
{
	char s[MAX_REASON_LEN];
	size_t n;

	rt->reasons = calloc(count, sizeof(*rt->reasons));
	if (!rt->reasons)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		unsigned char hdr[16];
		if (memory_read(mem, addr + 16 * i, hdr, 16) < 0 || !reason_at(mem, hdr, s, &n))
			break;
		rt->reasons[i] = strdup(s);
		rt->nreasons = i + 1;
	}
	return rt->nreasons ? 0 : -ESRCH;
}

/*
 * waitReasonStrings without symbols: an entry pointing at "chan receive"
 * (every version has it), in an array whose entry 0 is the empty string
 * (waitReasonZero), entry 1 "GC assist marking" (1.19 to 1.27), and whose
 * entries in between are all short printable strings.
 */
static int scan_reasons(struct go_runtime *rt, Elf *elf, uint64_t bias,
			struct memory *mem)
{
	uint64_t addr;
	size_t len;
	unsigned char *buf = read_section(elf, bias, mem, ".data", &addr, &len);
	char s[MAX_REASON_LEN];
	size_t n;

	for (size_t off = 0; buf && off + 16 <= len; off += 8) {
		if (u64(buf + off + 8) != 12 || !reason_at(mem, buf + off, s, &n) ||
		    strcmp(s, "chan receive") != 0)
			continue;
		size_t start = off;
		bool found = false;
		for (int back = 0; back < MAX_REASONS && start >= 16; back++) {
			start -= 16;
			if (!reason_at(mem, buf + start, s, &n))
				break;
			if (n == 0) {
				found = true;
				break;
			}
		}
		if (!found)
			continue;
		/* Other tables hold "chan receive" too (the tracer's block
		 * reasons): this one's entry 1 is "GC assist marking". */
		if (start + 32 > len || !reason_at(mem, buf + start + 16, s, &n) ||
		    strcmp(s, "GC assist marking") != 0)
			continue;
		size_t count = 0;
		while (start + 16 * (count + 1) <= len && count < MAX_REASONS &&
		       reason_at(mem, buf + start + 16 * count, s, &n) && (count == 0 || n > 0))
			count++;
		free(buf);
		return read_reasons(rt, mem, addr + start, count);
	}
	free(buf);
	return -ESRCH;
}

/*
 * moduledata.gofunc, where the function table's funcdata (the inline
 * trees) are counted from: moduledata is in .go.module (1.26), or is
 * runtime.firstmoduledata, or is found in the data as the one word that
 * points at the function table followed by a slice of its names.
 */
static void find_gofunc(struct go_runtime *rt, Elf *elf, uint64_t bias,
			struct memory *mem, struct go_pcln *pcln, Dwfl_Module *mod)
{
	unsigned off = rt->minor == 19 ? 304 : 320;	/* covctrs since 1.20 */
	uint64_t md = 0, gofunc, pcaddr;
	GElf_Shdr sh;

	if (go_elf_section(elf, ".go.module", &sh) && sh.sh_addr)
		md = sh.sh_addr + bias;
	if (!md)
		md = modsym_address(mod, "runtime.firstmoduledata", NULL);
	if (!md && go_elf_section(elf, ".gopclntab", &sh) && sh.sh_addr) {
		pcaddr = sh.sh_addr + bias;
		uint64_t funcname = 0, addr;
		size_t len;
		const uint8_t *pc0 = NULL;
		Elf_Scn *scn = go_elf_section(elf, ".gopclntab", &sh);
		Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
		if (d && d->d_buf && d->d_size >= 40) {
			pc0 = d->d_buf;
			memcpy(&funcname, pc0 + 32, 8);
		}
		unsigned char *buf = read_section(elf, bias, mem, ".noptrdata", &addr, &len);
		for (size_t i = 0; buf && pc0 && i + 16 <= len; i += 8)
			if (u64(buf + i) == pcaddr && u64(buf + i + 8) == pcaddr + funcname) {
				md = addr + i;
				break;
			}
		free(buf);
	}
	/* From 1.20 gofunc is followed by epclntab, the end of the table:
	 * found so, it does not depend on the fields before (1.27 added
	 * some). */
	unsigned char words[256];
	if (md && rt->minor > 19 && go_elf_section(elf, ".gopclntab", &sh) && sh.sh_addr &&
	    memory_read(mem, md + off, words, sizeof(words)) == 0) {
		uint64_t end = sh.sh_addr + sh.sh_size + bias;
		for (unsigned i = 8; i + 8 <= sizeof(words); i += 8)
			if (u64(words + i) <= end && u64(words + i) + 64 >= end) {
				off += i - 8;
				break;
			}
	}
	if (md && memory_read(mem, md + off, &gofunc, 8) == 0 && gofunc > bias)
		go_pcln_set_gofunc(pcln, gofunc - bias);
}

/* A module of a Go release before 1.18, whose function table stacks/pclntab
 * does not read: its .gopclntab begins with an older magic. */
static int find_old_go(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Shdr sh;
	Elf_Scn *scn = elf ? go_elf_section(elf, ".gopclntab", &sh) : NULL;
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	uint32_t magic;

	(void)userdata;
	(void)name;
	(void)start;
	if (!d || !d->d_buf || d->d_size < 8)
		return DWARF_CB_OK;
	memcpy(&magic, d->d_buf, 4);
	if (magic == 0xfffffffbu || magic == 0xfffffffau) {	/* 1.2-1.15, 1.16-1.17 */
		*(Elf **)arg = elf;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* The ELF file of the process's Go code: the module whose function
 * table stacks/pclntab reads, else (*pcln NULL) one of an older Go. */
static Elf *go_elf(struct symbolizer *sym, uint64_t *bias, struct go_pcln **pcln,
		   Dwfl_Module **mod)
{
	Elf *elf = symbols_go_module(sym, bias, pcln, mod);

	if (elf)
		return elf;
	*pcln = NULL;
	*mod = NULL;
	dwfl_getmodules(symbols_dwfl(sym), find_old_go, &elf, 0);
	return elf;
}

int go_version_of(struct symbolizer *sym, char *buf, size_t size)
{
	struct go_pcln *pcln;
	Dwfl_Module *mod;
	uint64_t bias;
	Elf *elf = go_elf(sym, &bias, &pcln, &mod);
	int minor;

	return elf ? read_version(elf, buf, size, &minor) : -ENOENT;
}

/* *lay from a reader, when it reads one that fits in GO_G_MAX. */
static bool read_layout(int (*read)(Elf *, struct go_layout *), Elf *elf,
			struct go_layout *lay)
{
	struct go_layout l = *lay;

	if (read(elf, &l) < 0 || l.g_size > GO_G_MAX)
		return false;
	*lay = l;
	return true;
}

#define FIELD(f) { #f, offsetof(struct go_layout, f) }
static const struct {
	const char *name;
	size_t off;
} layout_fields[] = {
	FIELD(g_size), FIELD(stack_lo), FIELD(stack_hi), FIELD(m), FIELD(sched),
	FIELD(syscallsp), FIELD(syscallpc), FIELD(status), FIELD(goid),
	FIELD(waitsince), FIELD(waitreason), FIELD(gopc), FIELD(startpc),
	FIELD(parent_goid), FIELD(ancestors), FIELD(labels), FIELD(buf_sp),
	FIELD(buf_pc), FIELD(buf_g), FIELD(buf_bp), FIELD(m_procid), FIELD(m_curg),
	FIELD(pd_fd), FIELD(pd_rg), FIELD(pd_wg), FIELD(sudog_g), FIELD(sudog_next),
	FIELD(sudog_prev), FIELD(sudog_elem), FIELD(sudog_waitlink),
	FIELD(semroot_treap),
};
#undef FIELD

static unsigned field_of(const struct go_layout *l, size_t i)
{
	unsigned v;

	memcpy(&v, (const char *)l + layout_fields[i].off, sizeof(v));
	return v;
}

/*
 * THREADLEAK_GO_LAYOUT=check (the tests): the built-in table (of a version
 * it has), the DWARF and the type descriptors, each that the binary has,
 * compared field by field (a reader's wait layouts not found are the
 * table's); rt->layouts names those compared, "built-in=dwarf=types".
 * -ENOTSUP (err names the first field that differs) when they differ.
 */
static int check_layouts(struct go_runtime *rt, Elf *elf, bool known, char *err, size_t errlen)
{
	static const char *const names[] = { "built-in", "dwarf", "types" };
	struct go_layout l[3];
	bool have[3];
	int first = -1;

	layout_for(known ? rt->minor : MAX_MINOR, &l[0]);
	l[1] = l[2] = l[0];
	have[0] = known;
	have[1] = read_layout(go_layout_from_dwarf, elf, &l[1]);
	have[2] = read_layout(go_layout_from_types, elf, &l[2]);
	rt->layouts[0] = '\0';
	for (int k = 0; k < 3; k++) {
		if (!have[k])
			continue;
		if (first < 0)
			first = k;
		snprintf(rt->layouts + strlen(rt->layouts), sizeof(rt->layouts) - strlen(rt->layouts),
			 "%s%s", k == first ? "" : "=", names[k]);
		for (size_t i = 0; i < sizeof(layout_fields) / sizeof(layout_fields[0]); i++) {
			if (field_of(&l[k], i) == field_of(&l[first], i))
				continue;
			snprintf(err, errlen, "%s: the layouts differ: %s is %u in the %s, %u in the %s",
				 rt->version, layout_fields[i].name, field_of(&l[first], i),
				 names[first], field_of(&l[k], i), names[k]);
			return -ENOTSUP;
		}
	}
	if (first < 0) {
		snprintf(err, errlen, "%s: no layouts to check", rt->version);
		return -ENOTSUP;
	}
	rt->lay = l[first];
	rt->dwarf_layout = first == 1;
	return 0;
}

/*
 * rt->lay and rt->layouts: the built-in table of the version; the
 * binary's DWARF for a version newer than the tables, else its type
 * descriptors (go/layout-types).  THREADLEAK_GO_LAYOUT (for the tests)
 * asks for one source whatever the version: "dwarf" or "types" (the
 * table stays where it is not there), "newer" to treat the version as
 * newer than the tables, or "check" (check_layouts).  The wait layouts
 * of the newest known version stand where a reader lacks them.
 * -ENOTSUP (err says why) when no layout is known (rt->minor is at least
 * MIN_MINOR).
 */
static int choose_layout(struct go_runtime *rt, Elf *elf, char *err, size_t errlen)
{
	const char *how = getenv("THREADLEAK_GO_LAYOUT");
	if (how && !*how)
		how = NULL;
	bool newer = how && strcmp(how, "newer") == 0;
	bool known = rt->minor >= MIN_MINOR && rt->minor <= MAX_MINOR && !newer;
	bool dwarf = how && !newer ? strcmp(how, "dwarf") == 0 : !known;
	bool types = how && !newer ? strcmp(how, "types") == 0 : !known;
	const char *from = "built-in";

	if (how && strcmp(how, "check") == 0) {
		int rc = check_layouts(rt, elf, known, err, errlen);
		if (rc == 0)
			go_layout_hot(&rt->lay);
		return rc;
	}
	layout_for(known ? rt->minor : MAX_MINOR, &rt->lay);
	if (dwarf && read_layout(go_layout_from_dwarf, elf, &rt->lay)) {
		from = "dwarf";
		rt->dwarf_layout = true;
	} else if (types && read_layout(go_layout_from_types, elf, &rt->lay)) {
		from = "types";
	} else if (!known) {
		snprintf(err, errlen, "%s: the layouts of this Go version are not known (1.%d to 1.%d are) and the binary has neither DWARF nor the runtime's type descriptors to read them from: goroutines not read",
			 rt->version, MIN_MINOR, MAX_MINOR);
		return -ENOTSUP;
	}
	snprintf(rt->layouts, sizeof(rt->layouts), "%s", from);
	go_layout_hot(&rt->lay);
	return 0;
}

int go_runtime_open(struct symbolizer *sym, struct memory *mem,
		    struct go_runtime **out, char *err, size_t errlen)
{
	struct go_pcln *pcln;
	Dwfl_Module *mod;
	uint64_t bias, size = 0;
	Elf *elf = go_elf(sym, &bias, &pcln, &mod);
	struct go_runtime *rt;

	*out = NULL;
	if (!elf)
		return -ENOENT;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (read_version(elf, rt->version, sizeof(rt->version), &rt->minor) < 0) {
		snprintf(err, errlen, "a Go program of a version its build information does not say: goroutines not read");
		go_runtime_close(rt);
		return -ENOTSUP;
	}
	/* (an older function table: an older Go, whatever a string says) */
	if (rt->minor < MIN_MINOR || !pcln) {
		snprintf(err, errlen, "%s: Go releases before 1.%d are not supported: goroutines not read",
			 rt->version, MIN_MINOR);
		go_runtime_close(rt);
		return -ENOTSUP;
	}
	if (choose_layout(rt, elf, err, errlen) < 0) {
		go_runtime_close(rt);
		return -ENOTSUP;
	}
	rt->epfd = modsym_address(mod, "runtime.epfd", NULL);
	rt->semtable = modsym_address(mod, "runtime.semtable", NULL);
	if (!rt->semtable)
		rt->semtable = find_semtable(elf, bias, pcln);
	find_gofunc(rt, elf, bias, mem, pcln, mod);
	rt->test = go_pcln_has(pcln, "testing.(*M).Run");
	rt->allgs = modsym_address(mod, "runtime.allgs", NULL);
	if (!rt->allgs) {
		rt->allgs = scan_allgs(rt, elf, bias, mem);
		rt->by_scan = true;
	}
	uint64_t wrs = modsym_address(mod, "runtime.waitReasonStrings", &size);
	int rc = wrs && size >= 16 ? read_reasons(rt, mem, wrs, size / 16 < MAX_REASONS ? size / 16 : MAX_REASONS) :
				     scan_reasons(rt, elf, bias, mem);
	if (!rt->allgs || rc < 0) {
		snprintf(err, errlen, "%s: %s not found in its memory: goroutines not read",
			 rt->version, !rt->allgs ? "runtime.allgs" : "runtime.waitReasonStrings");
		go_runtime_close(rt);
		return -ESRCH;
	}
	*out = rt;
	return 0;
}

void go_runtime_close(struct go_runtime *rt)
{
	if (!rt)
		return;
	for (size_t i = 0; i < rt->nreasons; i++)
		free(rt->reasons[i]);
	free(rt->reasons);
	free(rt);
}

const char *go_wait_reason(const struct go_runtime *rt, unsigned i)
{
	return i < rt->nreasons ? rt->reasons[i] : NULL;
}

static const char *const status_names[] = {
	[GO_IDLE] = "idle", [GO_RUNNABLE] = "runnable", [GO_RUNNING] = "running",
	[GO_SYSCALL] = "syscall", [GO_WAITING] = "waiting", [GO_DEAD] = "dead",
	[GO_COPYSTACK] = "copystack", [GO_PREEMPTED] = "preempted",
	[GO_LEAKED] = "leaked", [GO_DEADEXTRA] = "waiting for cgo callback",
};

bool go_status_known(unsigned status)
{
	status &= ~(unsigned)GO_SCAN;
	return status < sizeof(status_names) / sizeof(status_names[0]) && status_names[status];
}

bool go_status_parked(unsigned st)
{
	return st == GO_WAITING || st == GO_RUNNABLE || st == GO_PREEMPTED || st == GO_LEAKED;
}

const char *go_status_name(unsigned status)
{
	status &= ~(unsigned)GO_SCAN;
	return go_status_known(status) ? status_names[status] : "unknown";
}
