/*
 * elfcode: what an ELF file says about its code without DWARF or symbols.
 *
 * A stripped binary still has .eh_frame_hdr, the sorted table of every
 * function's first address that the C++ runtime searches for exceptions:
 * it gives the start of a function no symbol names (which fpguess needs
 * to check that a call went to the function found above it).  And it
 * still has its PLT, whose entries each jump through a GOT slot that a
 * relocation ties to a dynamic symbol: "pthread_cond_wait@plt", as gdb
 * names them.  And its dynamic symbol table says which function a call
 * to a name from another file lands in.  All are read from the file's
 * sections (link-time
 * addresses), never from the target; every table is bounded by its
 * section's size.  x86-64 encodings only.
 */
#ifndef THREADLEAK_ELFCODE_H
#define THREADLEAK_ELFCODE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>

/* The first address of the function holding addr, by .eh_frame_hdr's
 * table: false when the file has none (or one encoded otherwise than
 * linkers write it) or addr precedes every function. */
bool elfcode_function_start(Elf *elf, GElf_Addr addr, GElf_Addr *start);

/* When addr is in a PLT section (.plt, .plt.sec, .plt.got): the name of
 * the function its entry jumps to, "NAME@plt", in buf (true).  False when
 * addr is in no PLT or its entry cannot be decoded (PLT0, the lazy
 * resolver's). */
bool elfcode_plt_name(Elf *elf, GElf_Addr addr, char *buf, size_t len);

/* Whether addr is in a PLT section. */
bool elfcode_in_plt(Elf *elf, GElf_Addr addr);

/* The function the file exports as name (a defined STT_FUNC of its
 * dynamic symbol table, default version: what a PLT call to name from
 * another file binds to), its link-time address in *addr; false when it
 * exports none.  By .gnu.hash when the file has it, else every symbol. */
bool elfcode_dynsym_function(Elf *elf, const char *name, GElf_Addr *addr);

#endif
