/*
 * go/unwind: Go frames unwound with the binary's own table (pclntab.h),
 * as Go's runtime unwinds itself for a traceback.
 *
 * From a pc and sp in Go code (a blocked thread's /proc syscall line, or
 * the registers of a stop): the return address is at sp + spdelta(pc),
 * the caller's sp just above it; and so on until a function where Go's
 * own traceback ends (runtime.goexit for a goroutine, runtime.mstart,
 * mcall or rt0_go for an M's system stack: go_func.top).  It needs no
 * DWARF CFI, no symbol table and no rbp: it works on stripped binaries
 * and on threads that were never stopped.  A frame outside Go code (C
 * called through cgo) ends the walk, incomplete.
 */
#ifndef THREADLEAK_GO_UNWIND_H
#define THREADLEAK_GO_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "target/memory.h"
#include "stacks/symbols.h"
#include "stacks/unwind.h"

/* Whether pc is in the code of a Go binary's table. */
bool go_unwind_covers(struct symbolizer *sym, uint64_t pc);

/*
 * Unwinds from pc, sp into frames (at most max; frames[0] is pc).
 * Returns the number of frames (0 when pc is not Go code); *complete is
 * true when the walk ended where Go's traceback ends.
 */
int go_unwind(struct symbolizer *sym, struct memory *mem, uint64_t pc,
	      uint64_t sp, struct raw_frame *frames, int max, bool *complete);

/*
 * Bytes of the stack already read (len 0: none): a walk reads what lies
 * inside from there, the rest from mem.  A million parked goroutines'
 * windows are read in a few hundred calls, not a page each.
 */
struct go_window {
	uint64_t base;
	const unsigned char *buf;
	size_t len;
};

/* Whether pc is the first byte of a Go function. */
bool go_unwind_is_entry(struct symbolizer *sym, uint64_t pc);

/* go_unwind, the stack words inside win from it. */
int go_unwind_in(struct symbolizer *sym, struct memory *mem, const struct go_window *win,
		 uint64_t pc, uint64_t sp, struct raw_frame *frames, int max, bool *complete);

/*
 * The same from the registers of a thread stopped on a goroutine's stack
 * (go/goroutines.h), where it may be in the first instructions of a
 * function that switches to its M's stack (systemstack, mcall,
 * morestack), before the switch: such an innermost frame is walked past
 * as Go's traceback does, not taken for the top.
 */
int go_unwind_goroutine(struct symbolizer *sym, struct memory *mem, uint64_t pc,
			uint64_t sp, struct raw_frame *frames, int max, bool *complete);

/*
 * A walk of another unwinder that went from C into Go code (a thread
 * created from C called through cgo) goes on past where Go's traceback
 * ends (runtime.asmcgocall switches stacks): the n frames cut after the
 * first such frame.  Returns the new count, and whether it cut in *cut.
 */
int go_unwind_trim(struct symbolizer *sym, const struct raw_frame *frames, int n,
		   bool *cut);

#endif
