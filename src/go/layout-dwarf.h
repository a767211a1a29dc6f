/*
 * go/layout-dwarf: the runtime's struct layouts as the binary's own DWARF
 * gives them (the Go linker writes it unless -ldflags=-w).
 *
 * Used for a Go version whose layouts threadleak does not know, and by
 * the tests to check the known ones (THREADLEAK_GO_LAYOUT=dwarf).  Only
 * the top-level type entries of each compile unit are looked at, and the
 * walk ends once every structure wanted is found.
 */
#ifndef THREADLEAK_GO_LAYOUT_DWARF_H
#define THREADLEAK_GO_LAYOUT_DWARF_H

#include <gelf.h>

#include "go/runtime.h"

/* Fills l from elf's DWARF: 0 when runtime.g, gobuf and m were all
 * there (the wait layouts too when present, else left as they were);
 * -ENOENT without DWARF or without them. */
int go_layout_from_dwarf(Elf *elf, struct go_layout *l);

#endif
