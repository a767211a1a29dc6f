/*
 * tailcall: reading DWARF call sites (DW_TAG_call_site, and GCC's older
 * DW_TAG_GNU_call_site), from which symbols.c puts back the frames of
 * functions that ended in a tail call, as gdb does.
 *
 * A function that ends by jumping to another (glibc's
 * __futex_abstimed_wait_cancelable64 into __futex_abstimed_wait_common)
 * leaves no frame: the callee returns straight to its caller's caller.
 * The compiler records, at each call, whom it calls and whether the call
 * is a tail call; when the function that a caller's call site says it
 * called is not the function found above it on the stack, the chain of
 * tail calls between the two, when there is only one, names the missing
 * frames.  A call into another library names only a declaration: the
 * function it reaches is the one a module exports under that name.
 * Everything here is read-only DWARF and ELF; no target memory.
 */
#ifndef THREADLEAK_TAILCALL_H
#define THREADLEAK_TAILCALL_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

#include "stacks/modsym.h"

/* A call site: the run-time entry of what it calls (0: not known, e.g.
 * an indirect call), and its return address (run-time). */
struct tc_site {
	uint64_t target;
	uint64_t ret;
};

/*
 * Among the direct children of scopes[0..n) (the code scopes holding a
 * pc, innermost first), the call site whose return address is ret (both
 * run-time; bias is the module's).  Fills *site and returns true.  dwfl
 * holds mod and the other modules a call may go to (NULL: mod's only);
 * cache (maybe NULL) keeps the symbol lookups by name (modsym.h).
 */
bool tailcall_find_site(Dwfl *dwfl, struct modsym_cache *cache, Dwfl_Module *mod,
			Dwarf_Addr bias, Dwarf_Die *scopes, int n, uint64_t ret,
			struct tc_site *site);

/*
 * The tail calls made anywhere in the function whose DIE is fn (a
 * DW_TAG_subprogram): up to max of them into out.  Returns their number.
 */
int tailcall_sites(Dwfl *dwfl, struct modsym_cache *cache, Dwfl_Module *mod,
		   Dwarf_Addr bias, Dwarf_Die *fn, struct tc_site *out, int max);

#endif
