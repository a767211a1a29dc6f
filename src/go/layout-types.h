/*
 * go/layout-types: the runtime's struct layouts as its own type
 * descriptors give them, for a binary without DWARF.
 *
 * Every Go binary, stripped or not, keeps the type descriptors that the
 * garbage collector and reflection need: runtime.g, m and sudog are
 * allocated with new(), so their internal/abi.StructType (each field's
 * name, type and byte offset) stays in the read-only data, however the
 * binary was linked.  runtime.g is found by the one field name no other
 * type has, "waitsince", and the field array that points at that name;
 * its fields' types lead to runtime.stack, gobuf, m (through *m) and
 * sudog (through *sudog).  pollDesc and semaRoot are looked for by their
 * own field names (atomicInfo, treap) and are absent from some builds.
 *
 * Used for a Go version newer than the built-in tables whose binary has
 * no DWARF, and by the tests (THREADLEAK_GO_LAYOUT=types).  Everything is
 * read from the ELF file, bounded by its sections; the layout of the
 * descriptors themselves (abi.Type, 48 bytes on amd64; StructType;
 * StructField {name, typ, offset}; Name's flags, varint length and bytes)
 * has not changed from Go 1.19 to 1.27.
 */
#ifndef THREADLEAK_GO_LAYOUT_TYPES_H
#define THREADLEAK_GO_LAYOUT_TYPES_H

#include <gelf.h>

#include "go/runtime.h"

/* Fills l from elf's type descriptors: 0 when runtime.g, stack, gobuf and
 * m were all found (the wait layouts too when found, else left as they
 * were); -ENOENT otherwise. */
int go_layout_from_types(Elf *elf, struct go_layout *l);

#endif
