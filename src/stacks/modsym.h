/*
 * modsym: a module's ELF symbols looked up by name.
 *
 * The one lookup that both symbols.c's callers (the Go runtime's
 * variables, go/runtime.c) and tailcall.c (where a call into another CU
 * lands) need, kept below both so that tailcall never calls up into the
 * symbolizer: it takes a libdwfl module and reads only the symbol table
 * libdwfl found for it (the file's, its debug file's or MiniDebugInfo's),
 * never the target.
 */
#ifndef THREADLEAK_MODSYM_H
#define THREADLEAK_MODSYM_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

/* The run-time address of the ELF symbol name of mod (its size in *size),
 * or 0: a stripped binary has none. */
uint64_t modsym_address(Dwfl_Module *mod, const char *name, uint64_t *size);
/* The same among the symbols mod exports (.dynsym of its own file) only:
 * no symbol table is loaded (libdwfl's may be a debug file's, and is read
 * whole), what is read is the file's dynamic symbols, already mapped.  To
 * look for a symbol in every module cheaply. */
uint64_t modsym_exported(Dwfl_Module *mod, const char *name);

/*
 * modsym_address for many names: each module's symbol table is walked
 * once, into a hash table by name, and every lookup after is one probe.
 * For the lookups a symbolizer makes again and again (tailcall.c: the
 * function each call site calls).  The cache holds modules by pointer:
 * it lives no longer than the Dwfl that holds them.
 */
struct modsym_cache;
struct modsym_cache *modsym_cache_new(void);
void modsym_cache_free(struct modsym_cache *c);
/* As modsym_address(mod, name, NULL); c NULL: modsym_address itself. */
uint64_t modsym_cached(struct modsym_cache *c, Dwfl_Module *mod, const char *name);

#endif
