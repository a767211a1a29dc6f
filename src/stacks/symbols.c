/*
 * symbols: libdw symbolization with a per-address cache; see symbols.h.
 *
 * For an address, dwarf_getscopes() on its CU gives the nest of scopes
 * from the innermost inlined subroutine out to the real function.  The
 * innermost frame takes file:line from the line table; each enclosing
 * frame takes it from the DW_AT_call_file/DW_AT_call_line of the inlined
 * subroutine it contains, as gdb and eu-addr2line -i do.  Without DWARF
 * the ELF symbol table names the function; without that, module+offset.
 * When libdw finds no CU for an address of a module that has DWARF (no
 * .debug_aranges: clang's default), the module's own CU index is built
 * once (cuindex.h) and gives the CU instead.
 */
#include "stacks/symbols.h"
#include "stacks/cuindex.h"
#include "stacks/debugcache.h"
#include "stacks/debuginfod.h"
#include "stacks/elfcode.h"
#include "stacks/modfile.h"
#include "stacks/pclntab.h"
#include "stacks/perfmap.h"
#include "stacks/tailcall.h"
#include "base/util.h"

#include <dirent.h>
#include <dwarf.h>
#include <libiberty/demangle.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym_line {
	char *function;
	char *file;
	int line;
	bool inlined;
};

#define TC_DEPTH 4		/* tail calls put back between two frames */
#define TC_VISITS 32		/* functions read looking for them */

struct sym_entry {
	uint64_t addr;		/* lookup address; 0 marks an empty slot */
	bool used;
	const char *module;	/* interned in the symbolizer */
	uint64_t offset;	/* pc - module start */
	int nlines;
	struct sym_line *lines;	/* innermost first */
	uint64_t entry;		/* run-time start of its function, or 0 */
	uint64_t call_target;	/* what the call returning to addr + 1 calls */
	uint64_t tc_callee;	/* tc[] holds the tail calls to this entry */
	int ntc;		/* how many (0: none, or no single chain) */
	uint64_t tc[TC_DEPTH];	/* their return pcs, innermost first */
};

struct symbolizer {
	int pid;
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	struct sym_entry *table;
	size_t cap, count;	/* open addressing, cap a power of two */
	int reports;		/* times the memory map was read */
	uint64_t *nomod;	/* pages a fresh read left in no module */
	size_t nnomod, nomodcap;
	struct cu_fallback *cuix;	/* modules whose CU index was built */
	size_t ncuix, cuixcap;
	struct debuginfod_budget *dind;	/* downloads: once, at the open */
	struct perfmap *perfmap;	/* JIT code's names; opened when needed */
	struct go_module *gomods;	/* modules asked for a Go table */
	size_t ngomods, gomodcap;
	/* the module the last Go table was found in, for as long as the
	 * memory map is the same: a walk asks for it at every frame */
	uint64_t go_lo, go_hi, go_bias;
	const struct go_pcln *go_last;
	int go_reports;
	struct modmap *map;	/* the file mappings, read when first needed */
	struct module_note *notes;	/* modules not named from their file */
	size_t nnotes, notecap;
	struct modsym_cache *symcache;	/* symbols by name, per module (for
					   tailcall.c), since the last report */
};

#define GO_INLINE_MAX 16	/* inlined calls named at one pc */

/* A module's Go table (stacks/pclntab.h); pcln NULL: not a Go binary. */
struct go_module {
	Dwfl_Module *mod;
	struct go_pcln *pcln;
	Dwarf_Addr bias;
};

/* A module's CU index; ix NULL: it has no DWARF, or memory ran out. */
struct cu_fallback {
	Dwfl_Module *mod;
	struct cuindex *ix;
};

#define MAX_REPORTS 64		/* symbols_cover(): reads of the map, at most */
#define NOMOD_MAX 4096		/* pages remembered as outside any module */

static char *debuginfo_path;

/* The note of a module whose file on disk is not the object mapped. */
struct module_note {
	Dwarf_Addr low;
	char *name;		/* as maps names it */
	const char *note;	/* static */
};

static const char *note_for(enum modfile_source src, bool from_memory)
{
	if (src == MODFILE_REPLACED)
		return from_memory ? "replaced on disk: named from its loaded image" :
				     "replaced on disk: not named";
	if (src == MODFILE_GONE)
		return from_memory ? "deleted: named from its loaded image" :
				     "deleted: not named";
	return NULL;
}

/* The note of the module name at low; NULL when it has none. */
static struct module_note *find_note(struct symbolizer *s, Dwarf_Addr low,
				     const char *name)
{
	for (size_t i = 0; i < s->nnotes; i++)
		if (s->notes[i].low == low && strcmp(s->notes[i].name, name) == 0)
			return &s->notes[i];
	return NULL;
}

/* Kept across reports: a module still mapped keeps its ELF, and its note. */
static void set_note(struct symbolizer *s, Dwarf_Addr low, const char *name,
		     const char *note)
{
	struct module_note *n = find_note(s, low, name);

	if (n) {
		n->note = note;
		return;
	}
	if (!note || grow_array(&s->notes, &s->notecap, s->nnotes + 1,
				sizeof(*s->notes)) < 0)
		return;
	n = &s->notes[s->nnotes];
	if (!(n->name = strdup(name)))
		return;
	n->low = low;
	n->note = note;
	s->nnotes++;
}

/*
 * The ELF of a module: the file modfile.h decides is the object mapped
 * (an Elf holding no descriptor), else the image loaded in the target's
 * memory, which libdwfl reads for "[vdso: PID]" at the module's start
 * (its dynamic symbols and unwind tables: the names it exports, never a
 * file's that is not the one mapped).
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct symbolizer *s = *userdata;
	enum modfile_source src;
	char vdso[64];

	if (!s || name[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	if (!s->map)
		s->map = modmap_read(s->pid);
	*elfp = modfile_elf(s->pid, s->map, name, base, &src);
	if (*elfp) {
		/* Its name without " (deleted)": the .gnu_debuglink search
		 * looks beside it (what it finds must have its build id). */
		*file_name = modfile_path(name);
		set_note(s, base, name, NULL);
		return -1;
	}
	snprintf(vdso, sizeof(vdso), "[vdso: %d]", s->pid);
	int fd = dwfl_linux_proc_find_elf(mod, userdata, vdso, base, file_name, elfp);
	set_note(s, base, name, note_for(src, fd >= 0 || *elfp));
	return fd;
}

/* An uncompressed copy of the module's debug file when the cache has one
 * or can make one (debugcache.h), else the standard search.  The copy must
 * be found first: once the standard search has opened a file, libdwfl
 * keeps that one. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &id, &vaddr);

	if (len > 0) {
		int fd = debugcache_find(id, len, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base,
					    file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

static int set_module_userdata(Dwfl_Module *mod, void **userdata,
			       const char *name, Dwarf_Addr start, void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

static void forget_cu_indexes(struct symbolizer *s)
{
	for (size_t i = 0; i < s->ncuix; i++)
		cuindex_free(s->cuix[i].ix);
	s->ncuix = 0;
	for (size_t i = 0; i < s->ngomods; i++)
		go_pcln_close(s->gomods[i].pcln);
	s->ngomods = 0;
}

/* (Re)reads the process's memory map: its modules.  Modules already
 * known and still mapped are kept as they are (their ELF and DWARF stay
 * loaded); unmapped ones are dropped.  0, or what dwfl_linux_proc_report
 * returned. */
static int report(struct symbolizer *s)
{
	/* A dropped module's pointer may come back as another module. */
	forget_cu_indexes(s);
	modsym_cache_free(s->symcache);
	s->symcache = modsym_cache_new();	/* NULL: lookups walk */
	modmap_free(s->map);
	s->map = NULL;
	dwfl_report_begin(s->dwfl);
	int rc = dwfl_linux_proc_report(s->dwfl, s->pid);
	dwfl_report_end(s->dwfl, NULL, NULL);
	dwfl_getmodules(s->dwfl, set_module_userdata, s, 0);
	s->reports++;
	return rc;
}

struct symbolizer *symbols_open(int pid, char *err, size_t errlen)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->pid = pid;
	s->callbacks.find_elf = find_elf;
	s->callbacks.find_debuginfo = find_debuginfo;
	s->callbacks.debuginfo_path = &debuginfo_path;
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl) {
		snprintf(err, errlen, "libdw: %s", dwfl_errmsg(-1));
		free(s);
		return NULL;
	}
	rc = report(s);
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the memory map of %d: %s", pid,
			 rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
		modsym_cache_free(s->symcache);
		dwfl_end(s->dwfl);
		free(s);
		errno = rc > 0 ? rc : EIO;	/* ESRCH: it exited */
		return NULL;
	}
	s->dind = debuginfod_fetch(s->dwfl);
	return s;
}

Dwfl *symbols_dwfl(struct symbolizer *s)
{
	return s->dwfl;
}

static void free_entry(struct sym_entry *e)
{
	for (int i = 0; i < e->nlines; i++) {
		free(e->lines[i].function);
		free(e->lines[i].file);
	}
	free(e->lines);
}

/* Empties the address cache (its entries point at module names). */
static void forget_all(struct symbolizer *s)
{
	for (size_t i = 0; i < s->cap; i++)
		if (s->table[i].used)
			free_entry(&s->table[i]);
	free(s->table);
	s->table = NULL;
	s->cap = s->count = 0;
}

void symbols_close(struct symbolizer *s)
{
	if (!s)
		return;
	forget_all(s);
	free(s->nomod);
	forget_cu_indexes(s);
	free(s->cuix);
	free(s->gomods);
	modmap_free(s->map);
	for (size_t i = 0; i < s->nnotes; i++)
		free(s->notes[i].name);
	free(s->notes);
	debuginfod_close(s->dind);
	perfmap_close(s->perfmap);
	modsym_cache_free(s->symcache);
	dwfl_end(s->dwfl);
	free(s);
}

static char *dup_or_null(const char *str)
{
	return str ? strdup(str) : NULL;
}

static int add_line(struct sym_entry *e, const char *function,
		    const char *file, int line, bool inlined)
{
	struct sym_line *n = realloc(e->lines, (size_t)(e->nlines + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	e->lines = n;
	n[e->nlines].function = dup_or_null(function);
	n[e->nlines].file = dup_or_null(file);
	n[e->nlines].line = line;
	n[e->nlines].inlined = inlined;
	e->nlines++;
	return 0;
}

/* libstdc++'s demangler, the one elfutils and gdb's libiberty agree with;
 * C linkage, declared here to keep C++ headers out. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/*
 * A C++ (Itanium ABI) or Rust name demangled, malloc'd, as gdb shows it:
 * "_ZN3app6Worker3runEv.isra.0" -> "app::Worker::run() [clone .isra.0]";
 * Rust's legacy names (Itanium-like, ending in a hash) and v0 names ("_R")
 * through libiberty, the hash dropped: "<std::sys::sync::condvar::futex::
 * Condvar>::wait".  NULL for anything else (C names); a symbol version
 * "@..." is dropped first.
 */
static char *demangle(const char *name)
{
	char buf[1024];
	int status;

	if (!name || (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0))
		return NULL;
	size_t n = strcspn(name, "@");
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, name, n);
	buf[n] = '\0';
	/* libiberty says no to anything that is not Rust's. */
	char *out = rust_demangle(buf, 0);
	if (out || buf[1] == 'R')
		return out;
	out = __cxa_demangle(buf, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* A DIE's name as gdb shows it: its linkage name demangled (qualified,
 * with parameters) when it has one, else its plain name; malloc'd.
 * Inlined and out-of-line instances name their abstract origin. */
static char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	     dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) &&
	    (name = dwarf_formstring(&attr))) {
		char *d = demangle(name);
		if (d)
			return d;
	}
	name = dwarf_diename(die);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return name ? strdup(name) : NULL;
}

/* File name for a DW_AT_call_file index of the CU. */
static const char *call_file(Dwarf_Die *cudie, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t nfiles;

	if (!dwarf_attr(die, DW_AT_call_file, &attr) ||
	    dwarf_formudata(&attr, &idx) != 0)
		return NULL;
	if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static int call_line(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	if (!dwarf_attr(die, DW_AT_call_line, &attr) ||
	    dwarf_formudata(&attr, &v) != 0)
		return 0;
	return (int)v;
}

/* The CU of addr in mod when libdw's own lookup found none; its bias in
 * *bias.  NULL if there is none. */
static Dwarf_Die *fallback_cu(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr,
			      Dwarf_Addr *bias, Dwarf_Die *buf)
{
	struct cu_fallback *f = NULL;

	for (size_t i = 0; i < s->ncuix && !f; i++)
		if (s->cuix[i].mod == mod)
			f = &s->cuix[i];
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	if (!f) {
		if (grow_array(&s->cuix, &s->cuixcap, s->ncuix + 1, sizeof(*s->cuix)) < 0)
			return NULL;
		f = &s->cuix[s->ncuix++];
		*f = (struct cu_fallback){ mod, dw ? cuindex_build(dw) : NULL };
	}
	return f->ix && cuindex_find(f->ix, addr - *bias, buf) ? buf : NULL;
}

/* The Go table of mod, looked for once per module. */
static const struct go_module *go_module_of(struct symbolizer *s, Dwfl_Module *mod)
{
	for (size_t i = 0; i < s->ngomods; i++)
		if (s->gomods[i].mod == mod)
			return &s->gomods[i];
	if (grow_array(&s->gomods, &s->gomodcap, s->ngomods + 1, sizeof(*s->gomods)) < 0)
		return NULL;
	struct go_module *g = &s->gomods[s->ngomods++];
	g->mod = mod;
	g->bias = 0;
	Elf *elf = dwfl_module_getelf(mod, &g->bias);
	g->pcln = go_pcln_open(elf);
	return g;
}

const struct go_pcln *symbols_go_table(struct symbolizer *s, uint64_t pc, uint64_t *bias)
{
	if (s->go_last && s->go_reports == s->reports && pc >= s->go_lo && pc < s->go_hi) {
		*bias = s->go_bias;
		return s->go_last;
	}
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	const struct go_module *g = mod ? go_module_of(s, mod) : NULL;
	Dwarf_Addr lo, hi;

	if (!g || !g->pcln)
		return NULL;
	if (dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL)) {
		s->go_lo = lo;
		s->go_hi = hi;
		s->go_bias = g->bias;
		s->go_last = g->pcln;
		s->go_reports = s->reports;
	}
	*bias = g->bias;
	return g->pcln;
}

struct go_find {
	struct symbolizer *s;
	Dwfl_Module *mod;
};

static int find_go_module(Dwfl_Module *mod, void **userdata, const char *name,
			  Dwarf_Addr start, void *arg)
{
	struct go_find *f = arg;
	const struct go_module *g = go_module_of(f->s, mod);

	(void)userdata;
	(void)name;
	(void)start;
	if (g && g->pcln) {
		f->mod = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

Elf *symbols_go_module(struct symbolizer *s, uint64_t *bias,
		       struct go_pcln **pcln, Dwfl_Module **mod)
{
	struct go_find f = { s, NULL };
	Dwarf_Addr b = 0;

	dwfl_getmodules(s->dwfl, find_go_module, &f, 0);
	if (!f.mod)
		return NULL;
	const struct go_module *g = go_module_of(s, f.mod);
	Elf *elf = dwfl_module_getelf(f.mod, &b);
	*bias = b;
	*pcln = g->pcln;
	if (mod)
		*mod = f.mod;
	return elf;
}

/* Whether libdw found the function or an inlined call at all. */
static bool has_code_scope(Dwarf_Die *scopes, int n)
{
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
			return true;
	}
	return false;
}

/*
 * The scopes holding pc (link-time) in cudie, innermost first, out to the
 * function: dwarf_getscopes() goes on from an inlined call into the
 * scopes of the inlined function's own definition; the calls it is nested
 * in, and the function that holds them all, are the physical parents of
 * the innermost scope (as eu-addr2line -i walks them).
 */
static int code_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	int n = dwarf_getscopes(cudie, pc, scopes);

	if (n > 0) {
		Dwarf_Die inner = (*scopes)[0];
		free(*scopes);
		*scopes = NULL;
		n = dwarf_getscopes_die(&inner, scopes);
	}
	if (!has_code_scope(*scopes, n)) {
		free(*scopes);
		*scopes = NULL;
		n = cu_getscopes_nested(cudie, pc, scopes);
	}
	return n;
}

/* Fills e from the Go table when addr is Go code (and *rc); false else. */
static bool resolve_go(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr,
		       struct sym_entry *e, int *rc)
{
	const struct go_module *gm = go_module_of(s, mod);
	struct go_inline inl[GO_INLINE_MAX + 1];
	struct go_func gf;
	const char *file;
	int line, k;

	if (!gm || !gm->pcln || !go_pcln_func(gm->pcln, addr - gm->bias, &gf))
		return false;
	k = go_pcln_inline(gm->pcln, &gf, addr - gm->bias, inl, GO_INLINE_MAX);
	if (!k) {
		inl[0].name = gf.name;
		inl[0].pc = addr - gm->bias;
	}
	*rc = 0;
	for (int i = 0; i <= k && *rc == 0; i++) {
		bool ok = go_pcln_line(gm->pcln, &gf, inl[i].pc, &file, &line);
		char name[4096];	/* a generic one's shapes as [...], as Go prints it */
		*rc = add_line(e, go_print_name(inl[i].name, name, sizeof(name)),
			       ok ? file : NULL, ok ? line : 0, i < k);
	}
	return true;
}

/*
 * Whether addr is in one of mod's loaded segments.  libdwfl spans a
 * module from its lowest mapping to its highest, and a JIT may map part
 * of the executable far away (Node.js remaps V8's builtins next to its
 * code space): the anonymous memory in between is not the module's.
 */
static bool in_segments(Dwfl_Module *mod, uint64_t addr)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return true;	/* nothing to go by: as libdwfl says */
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    addr - bias - ph.p_vaddr < ph.p_memsz)
			return true;
	}
	return false;
}

/* The module holding addr; NULL for memory in none (JIT code). */
static Dwfl_Module *module_of(struct symbolizer *s, uint64_t addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);

	return mod && in_segments(mod, addr) ? mod : NULL;
}

static int resolve(struct symbolizer *s, uint64_t addr, struct sym_entry *e)
{
	Dwfl_Module *mod = module_of(s, addr);
	const char *file = NULL, *symname = NULL;
	int line = 0, rc = 0;

	if (!mod) {
		/* Anonymous memory: JIT code, named when its JIT says so. */
		if (!s->perfmap)
			s->perfmap = perfmap_open(s->pid);
		const char *jit = perfmap_lookup(s->perfmap, addr);
		return jit ? add_line(e, jit, NULL, 0, false) : 0;
	}
	Dwarf_Addr low;
	e->module = dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL, NULL,
				     NULL);
	e->offset = addr - low;
	/* Go code: the binary's own table says what DWARF would (names,
	 * lines, inlined calls: the same, tests/integration/go-snapshot.sh),
	 * with or without DWARF, and much faster. */
	if (resolve_go(s, mod, addr, e, &rc))
		return rc;

	GElf_Sym sym;
	GElf_Off off;
	symname = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);

	Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

	Dwarf_Addr bias;
	Dwarf_Die cubuf;
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
	if (cudie && !cu_covers(cudie, addr - bias)) {
		cudie = NULL;	/* a neighbour's: so is the line */
		file = NULL;
		line = 0;
		dl = NULL;
	}
	if (!cudie) {
		cudie = fallback_cu(s, mod, addr, &bias, &cubuf);
		Dwarf_Line *l = cudie && !dl ? dwarf_getsrc_die(cudie, addr - bias) : NULL;
		if (l) {
			file = dwarf_linesrc(l, NULL, NULL);
			dwarf_lineno(l, &line);
		}
	}
	Dwarf_Die *scopes = NULL;
	int nscopes = cudie ? code_scopes(cudie, addr - bias, &scopes) : 0;
	bool have_function = false;
	struct tc_site site;

	if (tailcall_find_site(s->dwfl, s->symcache, mod, bias, scopes, nscopes, addr + 1, &site))
		e->call_target = site.target;
	if (symname)
		e->entry = addr - off;

	/* No symbol: a PLT entry is named after what it jumps to. */
	char plt[256];
	Dwarf_Addr elfbias;
	Elf *elf = symname ? NULL : dwfl_module_getelf(mod, &elfbias);
	if (elf && elfcode_plt_name(elf, addr - elfbias, plt, sizeof(plt)))
		symname = plt;

	/* The function itself: its ELF symbol demangled names it as gdb
	 * does, clone suffix included ("[clone .isra.0]"). */
	char *symdemangled = demangle(symname);
	if (symdemangled)
		symname = symdemangled;
	for (int i = 0; i < nscopes && rc == 0; i++) {
		Dwarf_Die *sc = &scopes[i];
		int tag = dwarf_tag(sc);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		char *name = tag == DW_TAG_subprogram && symdemangled ? NULL : die_name(sc);
		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr entry;
			if (dwarf_entrypc(sc, &entry) == 0)
				e->entry = entry + bias;
			rc = add_line(e, name ? name : symname, file, line, false);
			free(name);
			have_function = true;
			break;
		}
		rc = add_line(e, name, file, line, true);
		free(name);
		file = call_file(cudie, sc);
		line = call_line(sc);
	}
	free(scopes);
	if (rc == 0 && !have_function)
		rc = add_line(e, symname, file, line, false);
	free(symdemangled);
	/* ELF names may carry a symbol version: "pthread_cond_wait@@GLIBC_2.3.2";
	 * Go's assembly functions an ABI suffix: "runtime.goexit.abi0". */
	for (int i = 0; i < e->nlines; i++) {
		char *fn = e->lines[i].function;
		char *at = fn ? strchr(fn, '@') : NULL;
		if (at && at != fn)
			*at = '\0';
		size_t len = fn ? strlen(fn) : 0;
		if (len > 5 && strcmp(fn + len - 5, ".abi0") == 0)
			fn[len - 5] = '\0';
	}
	return rc;
}

/* Whether addr was looked up already. */
static bool cached(const struct symbolizer *s, uint64_t addr)
{
	if (!s->cap)
		return false;
	size_t j = (addr * 0x9E3779B97F4A7C15ull) >> 20 & (s->cap - 1);
	for (; s->table[j].used; j = (j + 1) & (s->cap - 1))
		if (s->table[j].addr == addr)
			return true;
	return false;
}

static struct sym_entry *lookup(struct symbolizer *s, uint64_t addr)
{
	if (s->count * 2 >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		struct sym_entry *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->table[i].used)
				continue;
			size_t j = (s->table[i].addr * 0x9E3779B97F4A7C15ull) >> 20 & (ncap - 1);
			while (nt[j].used)
				j = (j + 1) & (ncap - 1);
			nt[j] = s->table[i];
		}
		free(s->table);
		s->table = nt;
		s->cap = ncap;
	}
	size_t j = (addr * 0x9E3779B97F4A7C15ull) >> 20 & (s->cap - 1);
	while (s->table[j].used) {
		if (s->table[j].addr == addr)
			return &s->table[j];
		j = (j + 1) & (s->cap - 1);
	}
	struct sym_entry *e = &s->table[j];
	e->used = true;
	e->addr = addr;
	s->count++;
	if (resolve(s, addr, e) < 0)
		return NULL;
	return e;
}

/* The DIE of the function starting at entry (run-time), its module and
 * bias; false when there is no DWARF for it. */
static bool function_die(struct symbolizer *s, uint64_t entry, Dwfl_Module **mod,
			 Dwarf_Addr *bias, Dwarf_Die *fn)
{
	Dwarf_Die cubuf, *scopes = NULL;
	bool found = false;

	*mod = dwfl_addrmodule(s->dwfl, entry);
	if (!*mod)
		return false;
	Dwarf_Die *cudie = dwfl_module_addrdie(*mod, entry, bias);
	if (!cudie || !cu_covers(cudie, entry - *bias))
		cudie = fallback_cu(s, *mod, entry, bias, &cubuf);
	int n = cudie ? code_scopes(cudie, entry - *bias, &scopes) : 0;
	for (int i = 0; i < n && !found; i++) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			*fn = scopes[i];
			found = true;
		}
	}
	free(scopes);
	return found;
}

struct tc_search {
	struct symbolizer *s;
	uint64_t to;		/* the callee found on the stack */
	uint64_t path[TC_DEPTH];	/* outermost first */
	uint64_t found[TC_DEPTH];
	int nfound, paths, visits;
};

/* Depth-first over the tail calls out of the function at from. */
static void tc_walk(struct tc_search *q, uint64_t from, int depth)
{
	struct tc_site sites[16];
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	Dwarf_Die fn;

	if (depth >= TC_DEPTH || q->paths > 1 || ++q->visits > TC_VISITS ||
	    !function_die(q->s, from, &mod, &bias, &fn))
		return;
	int n = tailcall_sites(q->s->dwfl, q->s->symcache, mod, bias, &fn, sites, 16);
	for (int i = 0; i < n; i++) {
		if (!sites[i].target)
			continue;
		q->path[depth] = sites[i].ret;
		if (sites[i].target == q->to) {
			if (++q->paths == 1)
				memcpy(q->found, q->path, sizeof(q->path));
			q->nfound = depth + 1;
		} else {
			tc_walk(q, sites[i].target, depth + 1);
		}
	}
}

/*
 * The frames of functions that a tail call left off the stack between
 * callee (inner) and caller: when the caller's call site names a function
 * other than callee's, the one chain of tail calls from that to callee
 * (gdb's rule: none when there are several).  Cached in the caller's entry.
 */
static int tail_calls(struct symbolizer *s, struct sym_entry *caller,
		      uint64_t callee, const uint64_t **pcs)
{
	*pcs = caller->tc;
	if (!caller->call_target || !callee || caller->call_target == callee)
		return 0;
	if (caller->tc_callee == callee)
		return caller->ntc;
	struct tc_search q = { .s = s, .to = callee };
	tc_walk(&q, caller->call_target, 0);
	caller->tc_callee = callee;
	caller->ntc = q.paths == 1 ? q.nfound : 0;
	for (int k = 0; k < caller->ntc; k++)
		caller->tc[k] = q.found[caller->ntc - 1 - k];
	return caller->ntc;
}

/* Appends the frames of the lookup e for pc to t. */
static int add_frames(struct thread *t, const struct sym_entry *e, uint64_t pc,
		      uint64_t addr)
{
	int nl = e->nlines ? e->nlines : 1;

	for (int k = 0; k < nl; k++) {
		struct frame *f = thread_add_frame(t);
		if (!f)
			return -ENOMEM;
		f->pc = pc;
		if (e->module)
			f->offset = e->offset + (pc - addr);
		if (e->module && !(f->module = strdup(e->module)))
			return -ENOMEM;
		if (!e->nlines)
			continue;
		const struct sym_line *l = &e->lines[k];
		f->inlined = l->inlined;
		f->line = l->line;
		if (l->function && !(f->function = strdup(l->function)))
			return -ENOMEM;
		if (l->file && !(f->file = strdup(l->file)))
			return -ENOMEM;
	}
	return 0;
}

void symbols_expect(struct symbolizer *s, const struct raw_frame *raw, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t addr = raw[i].pc - (raw[i].return_address ? 1 : 0);
		if (cached(s, addr) || module_of(s, addr))
			continue;
		if (!s->perfmap && !(s->perfmap = perfmap_open(s->pid)))
			return;
		perfmap_want(s->perfmap, addr);	/* else left unnamed */
	}
}

int symbols_resolve(struct symbolizer *s, const struct raw_frame *raw, int n,
		    struct thread *t)
{
	symbols_expect(s, raw, n);
	for (int i = 0; i < n; i++) {
		uint64_t addr = raw[i].pc - (raw[i].return_address ? 1 : 0);
		struct sym_entry *e = lookup(s, addr);
		if (!e || add_frames(t, e, raw[i].pc, addr) < 0)
			return -ENOMEM;
		if (i + 1 >= n || !raw[i + 1].return_address)
			continue;
		/* lookup() may move entries: copy what is needed first. */
		uint64_t callee = e->entry, pcs[TC_DEPTH];
		const uint64_t *tc;
		struct sym_entry *caller = lookup(s, raw[i + 1].pc - 1);
		if (!caller)
			return -ENOMEM;
		int ntc = tail_calls(s, caller, callee, &tc);
		memcpy(pcs, tc, ntc * sizeof(*pcs));
		for (int k = 0; k < ntc; k++) {
			struct sym_entry *m = lookup(s, pcs[k] - 1);
			if (!m || add_frames(t, m, pcs[k], pcs[k] - 1) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

const char *symbols_public_name(const char *name)
{
	while (*name == '_')
		name++;
	if (strncmp(name, "GI_", 3) == 0 || strncmp(name, "libc_", 5) == 0) {
		name = strchr(name, '_') + 1;
		while (*name == '_')
			name++;
	}
	return name;
}

/* The outermost function of f's lookup, without leading underscores, or
 * NULL. */
static const char *outer_function(struct symbolizer *s, const struct raw_frame *f)
{
	uint64_t addr = f->pc - (f->return_address ? 1 : 0);

	/* JIT code: no need of its name (its perf map is read later, once
	 * for the whole snapshot, symbols_expect) */
	if (!cached(s, addr) && !module_of(s, addr))
		return NULL;
	struct sym_entry *e = lookup(s, addr);

	if (!e || !e->nlines || !e->lines[e->nlines - 1].function)
		return NULL;
	return symbols_public_name(e->lines[e->nlines - 1].function);
}

bool symbols_is_clone(struct symbolizer *s, const struct raw_frame *f)
{
	const char *fn = outer_function(s, f);

	return fn && (strcmp(fn, "clone") == 0 || strcmp(fn, "clone3") == 0);
}

/* What the CFI (.eh_frame, else .debug_frame) says of the code at addr:
 * the start of the row that covers it in *row, and whether its caller's
 * return address is "undefined" there, the code's own mark of the
 * outermost frame (glibc's _start, clone3's child, Rust's and Go's thread
 * entries).  False when no CFI covers addr. */
static bool cfi_row(Dwfl_Module *mod, uint64_t addr, uint64_t *row, bool *ra_undefined)
{
	for (int k = 0; k < 2; k++) {
		Dwarf_Addr bias, start, end;
		Dwarf_CFI *cfi = k == 0 ? dwfl_module_eh_cfi(mod, &bias) :
					  dwfl_module_dwarf_cfi(mod, &bias);
		Dwarf_Frame *fr;
		if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &fr) != 0)
			continue;
		Dwarf_Op mem[3], *ops = NULL;
		size_t nops = 1;
		int ra = dwarf_frame_info(fr, &start, &end, NULL);
		*ra_undefined = ra >= 0 &&
				dwarf_frame_register(fr, ra, mem, &ops, &nops) == 0 &&
				nops == 0 && ops == mem;
		*row = start + bias;
		free(fr);
		return true;
	}
	return false;
}

/* Whether addr is in the function at its module's ELF entry point (_start,
 * named or not): the symbol that holds it starts there, or in a stripped
 * binary, the CFI row that covers it does. */
static bool at_elf_entry(Dwfl_Module *mod, uint64_t addr)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;
	GElf_Sym sym;
	GElf_Off off;
	uint64_t row;
	bool undef;

	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_entry == 0 || eh.e_type == ET_REL)
		return false;
	if (dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL))
		return addr - off == eh.e_entry + bias;
	return cfi_row(mod, addr, &row, &undef) && row == eh.e_entry + bias;
}

bool symbols_is_stack_end(struct symbolizer *s, const struct raw_frame *f)
{
	uint64_t addr = f->pc - (f->return_address ? 1 : 0), bias, row;
	const struct go_pcln *go = symbols_go_table(s, addr, &bias);
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	struct go_func gf;
	bool undef;

	/* Go: where its own traceback ends (the table says). */
	if (go && go_pcln_func(go, addr - bias, &gf))
		return gf.top;
	if (!mod)
		return false;
	if (cfi_row(mod, addr, &row, &undef) && undef)
		return true;
	/* The entry point's caller is the kernel: whatever its CFI says. */
	if (at_elf_entry(mod, addr))
		return true;
	/* Where the C library starts a thread, for a libc without the mark:
	 * its clone's child, whose CFI ends before the call of the start
	 * routine. */
	return symbols_is_clone(s, f);
}

bool symbols_may_call(struct symbolizer *s, uint64_t target, uint64_t pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	Dwfl_Module *tmod = dwfl_addrmodule(s->dwfl, target);
	GElf_Off off;
	GElf_Sym sym;
	GElf_Addr start;
	Dwarf_Addr bias;
	Elf *elf;

	if (!mod || !tmod)
		return false;
	if (dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL) &&
	    pc - off == target)
		return true;
	/* A function no symbol names: its start by the unwind tables. */
	elf = dwfl_module_getelf(mod, &bias);
	if (elf && elfcode_function_start(elf, pc - bias, &start) &&
	    start + bias == target)
		return true;
	elf = dwfl_module_getelf(tmod, &bias);
	return elf && elfcode_in_plt(elf, target - bias);
}

static bool known_nomod(const struct symbolizer *s, uint64_t page)
{
	for (size_t i = 0; i < s->nnomod; i++)
		if (s->nomod[i] == page)
			return true;
	return false;
}

bool symbols_cover(struct symbolizer *s, uint64_t pc)
{
	uint64_t page = pc >> 12;

	if (dwfl_addrmodule(s->dwfl, pc))
		return false;	/* known: nothing new to learn */
	if (known_nomod(s, page) || s->reports >= MAX_REPORTS)
		return false;
	report(s);
	/* Modules may have gone too: no cached entry may outlive its name. */
	forget_all(s);
	if (dwfl_addrmodule(s->dwfl, pc))
		return true;
	if (s->nnomod < NOMOD_MAX &&
	    grow_array(&s->nomod, &s->nomodcap, s->nnomod + 1, sizeof(*s->nomod)) == 0)
		s->nomod[s->nnomod++] = page;
	return false;
}

struct modules_arg {
	struct symbolizer *s;
	struct snapshot *snap;
	size_t cap;
	int rc;
};

static int add_module(Dwfl_Module *mod, void **userdata, const char *name,
		      Dwarf_Addr start, void *arg)
{
	struct modules_arg *a = arg;
	struct snapshot *snap = a->snap;
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwarf_Addr end;
	(void)userdata;

	if (!name || snap->nmodules >= SNAPSHOT_MAX_MODULES)
		return DWARF_CB_OK;
	if (snap->nmodules == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 32;
		struct module_info *m = realloc(snap->modules, cap * sizeof(*m));
		if (!m)
			goto nomem;
		snap->modules = m;
		a->cap = cap;
	}
	struct module_info *m = &snap->modules[snap->nmodules];
	memset(m, 0, sizeof(*m));
	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	m->start = start;
	m->end = end;
	if (!(m->path = strdup(name)))
		goto nomem;
	const struct module_note *note = find_note(a->s, start, name);
	if (note && note->note && !(m->note = strdup(note->note))) {
		free(m->path);
		goto nomem;
	}
	/* Known once libdwfl has read the file's notes (every module a
	 * frame was named in); never a read of its own. */
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n > 0 && n <= 64) {
		if (!(m->build_id = malloc(2 * (size_t)n + 1))) {
			free(m->path);
			free(m->note);
			goto nomem;
		}
		for (int i = 0; i < n; i++)
			sprintf(m->build_id + 2 * i, "%02x", bits[i]);
	}
	snap->nmodules++;
	return DWARF_CB_OK;
nomem:
	a->rc = -ENOMEM;
	return DWARF_CB_ABORT;
}

static int cmp_module(const void *x, const void *y)
{
	const struct module_info *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

int symbols_modules(struct symbolizer *s, struct snapshot *snap)
{
	struct modules_arg a = { s, snap, snap->nmodules, 0 };

	if (snap->nmodules)
		return 0;
	dwfl_getmodules(s->dwfl, add_module, &a, 0);
	if (snap->nmodules)
		qsort(snap->modules, snap->nmodules, sizeof(*snap->modules), cmp_module);
	return a.rc;
}
