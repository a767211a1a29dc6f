/*
 * pclntab: a Go binary's own table of functions (runtime.pclntab),
 * read from its ELF file: function names, file:line, and the stack-pointer
 * delta at each pc, for Go 1.18 to 1.26 (magic 0xfffffff0, 0xfffffff1).
 *
 * Go keeps this table in every binary, stripped ones too (`-ldflags=-s
 * -w` removes the symbol table and DWARF, not .gopclntab): it is how a
 * Go program names its own frames in a panic.  So it names the frames of
 * any Go binary, and its pcsp table unwinds Go code exactly, without
 * DWARF CFI and without the frame-pointer register (which a capture that
 * stops nothing does not have): at pc, the return address is at
 * sp + spdelta(pc).
 *
 * Everything is read from the file's bytes and bounds-checked: a corrupt
 * or hostile table gives no answer, never a read out of the section.
 *
 * Memory: go_pcln_open() returns an object that points into the Elf's
 * section data (the Elf must outlive it); go_pcln_close() frees it.
 * Names and file names returned point into that data too.
 */
#ifndef THREADLEAK_GO_PCLNTAB_H
#define THREADLEAK_GO_PCLNTAB_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

struct go_pcln;

/* A function of the table. */
struct go_func {
	uint64_t entry;		/* link-time address of its first byte */
	const char *name;	/* "runtime.futex", "main.main.func1" */
	bool top;		/* Go's traceback stops here (goexit, mstart,
				   mcall, rt0_go...: the flag TOPFRAME, or
				   a function that switches stacks) */
	uint8_t funcid;		/* the runtime's funcID: 0 for ordinary
				   code; a compiler's wrapper has one */
	uint32_t off;		/* private: the _func in the table */
};

/*
 * How Go's traceback treats a function, by its funcID (runtime
 * showfuncinfo, tracebackPCs): a WRAPPER (FuncIDWrapper: method and
 * `go f(x)` wrappers, -fm closures, generic instantiation wrappers, the
 * assembly marked WRAPPER such as runtime.call16) is not shown, unless
 * the function it called is a PANIC one (runtime.gopanic, sigpanic,
 * panicwrap: elideWrapperCalling).  The numbers differ between releases
 * (FuncIDWrapper is 21 in 1.19, 23 in 1.26): they are read from the table
 * itself, from the functions that carry them.
 */
enum go_func_kind { GO_FUNC_NORMAL, GO_FUNC_WRAPPER, GO_FUNC_PANIC };
enum go_func_kind go_pcln_kind(const struct go_pcln *p, uint8_t funcid);

/* The table of elf, or NULL when it is not a Go binary (or its table is
 * of an unknown version, or malformed). */
struct go_pcln *go_pcln_open(Elf *elf);
void go_pcln_close(struct go_pcln *p);

/* The function holding link-time address addr: true and *f, or false. */
/* A number no other table opened by this process has (never 0): what
 * a memo of lookups keys them by, where a freed table's address may come
 * again. */
uint64_t go_pcln_id(const struct go_pcln *p);
bool go_pcln_func(const struct go_pcln *p, uint64_t addr, struct go_func *f);
/* Bytes between sp and the return address at addr in f (0 in a leaf
 * without a frame): true, or false when the table does not say. */
bool go_pcln_spdelta(const struct go_pcln *p, const struct go_func *f,
		     uint64_t addr, int64_t *delta);
/* Source file and line of addr in f: true, or false. */
bool go_pcln_line(const struct go_pcln *p, const struct go_func *f,
		  uint64_t addr, const char **file, int *line);

/*
 * Inlined calls at addr, from the function's inline tree (needs the
 * moduledata's gofunc, which go/runtime.h finds in the process): fills
 * out[0..n) innermost first with each inlined function's name and the pc
 * whose file:line is its (go_pcln_line), and out[n] with f itself and its
 * pc (the outermost call site); returns n, 0 when nothing is inlined or
 * the tree is not known.  out holds max + 1 entries.
 */
struct go_inline {
	const char *name;
	uint64_t pc;
	uint8_t funcid;		/* the inlined function's (go_pcln_kind) */
};
int go_pcln_inline(const struct go_pcln *p, const struct go_func *f, uint64_t addr,
		   struct go_inline *out, int max);
/* Whether the table has a function of that name (a linear search). */
bool go_pcln_has(const struct go_pcln *p, const char *name);
/* The same, with the link-time addresses of its code [*entry, *end). */
bool go_pcln_find(const struct go_pcln *p, const char *name, uint64_t *entry, uint64_t *end);
/* The section named want of elf (its header in *sh), or NULL. */
Elf_Scn *go_elf_section(Elf *elf, const char *want, GElf_Shdr *sh);
/*
 * A function's name as Go prints it (runtime funcNameForPrint): what is
 * between the first '[' and the last ']' of a generic one's shapes,
 * "main.F[go.shape.int]", becomes "...": "main.F[...]".  Writes into buf
 * and returns it, or returns name itself when it has no brackets (or buf
 * is too small).
 */
const char *go_print_name(const char *name, char *buf, size_t size);
/* Where funcdata offsets count from (link-time moduledata.gofunc). */
void go_pcln_set_gofunc(struct go_pcln *p, uint64_t gofunc);

#endif
