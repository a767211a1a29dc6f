/*
 * cuindex: address -> compilation unit, for DWARF without .debug_aranges.
 *
 * libdw finds the CU of an address (and so its line table and inline
 * scopes) through .debug_aranges.  Clang does not emit that section by
 * default, nor do some other toolchains, and objects from several
 * compilers mix in one binary: there libdw finds no CU, and every frame
 * loses its file:line and inline frames.  This index is built once per
 * module from each CU's own ranges (DW_AT_low_pc/high_pc or DW_AT_ranges),
 * the way gdb does without aranges, and searched by binary search.
 */
#ifndef THREADLEAK_CUINDEX_H
#define THREADLEAK_CUINDEX_H

#include <elfutils/libdw.h>
#include <stdbool.h>

struct cuindex;

/* Reads every CU of dw.  NULL when out of memory; an index of no range
 * when dw has none.  It points into dw: free it before dw goes. */
struct cuindex *cuindex_build(Dwarf *dw);
/* The CU whose ranges hold addr (a DWARF address, bias removed). */
bool cuindex_find(const struct cuindex *ix, Dwarf_Addr addr, Dwarf_Die *cudie);
void cuindex_free(struct cuindex *ix);
/* Whether a CU's own ranges hold addr; true when it states none.  libdw
 * can hand out the CU before an address that no CU covers (code of crt
 * files, _start): its line table then names a wrong line. */
bool cu_covers(Dwarf_Die *cudie, Dwarf_Addr addr);

/*
 * dwarf_getscopes() for code nested in namespaces or types, which libdw
 * does not look into: Rust puts every function there (C and C++ compilers
 * put the concrete ones at the CU's top level).  The DIEs holding addr,
 * innermost first, down to the subprogram; malloc'd in *scopes.  Their
 * count, 0 when none holds addr, -1 when out of memory.
 */
int cu_getscopes_nested(Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die **scopes);

#endif
