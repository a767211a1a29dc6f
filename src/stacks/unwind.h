/*
 * unwind: one interface, two backends (unwind-libdw.c, unwind-libunwind.c).
 *
 * A backend is opened once per target and then unwinds any number of
 * threads from registers the caller captured (struct cpu_regs) and memory
 * read through the shared page cache (memory.h); it never stops anything
 * itself, so the same code serves a ptrace stop and a capture that stops
 * nothing.  The result is raw: pcs, innermost first, each flagged whether
 * it is a return address (symbolize pc - 1) or an exact pc (the innermost
 * frame, or the frame interrupted by a signal).
 */
#ifndef THREADLEAK_UNWIND_H
#define THREADLEAK_UNWIND_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/memory.h"
#include "target/regs.h"

#define UNWIND_MAX_FRAMES 256

struct raw_frame {
	uint64_t pc;
	bool return_address;	/* pc is a return address: look up pc - 1 */
};

struct unwind_ops {
	const char *name;
	/* dwfl is the target's (from symbols.h); mem is shared.  NULL and a
	 * message in err on failure. */
	void *(*open)(int pid, Dwfl *dwfl, struct memory *mem, char *err,
		      size_t errlen);
	/*
	 * Unwinds one thread into frames (at most max).  Returns the number of
	 * frames (>= 1 when the pc is known), and sets *complete to false when
	 * the walk stopped on an error rather than at the outermost frame.
	 */
	int (*unwind)(void *state, int tid, const struct cpu_regs *regs,
		      struct raw_frame *frames, int max, bool *complete);
	void (*close)(void *state);
};

extern const struct unwind_ops unwind_libdw_ops;
extern const struct unwind_ops unwind_libunwind_ops;

/* The backend named name ("libdw", "libunwind"), or NULL. */
const struct unwind_ops *unwind_find(const char *name);
/* The default backend. */
const struct unwind_ops *unwind_default(void);

#endif
