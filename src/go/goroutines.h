/*
 * go/goroutines: every goroutine of a Go process, read from its memory
 * while it runs (runtime.h says where), nothing stopped.
 *
 * For each g of allgs that is not dead: its id, status, wait reason,
 * since when it waits (waitsince: set by a GC scan, so 0 until one has
 * seen it), its creator's pc and parent id, the thread running it (its
 * M's procid) and its stack, unwound with the binary's own table
 * (go/unwind.h): from its saved context when parked or runnable, from
 * its system-call context when in a system call; a running goroutine's
 * stack is not read (it changes under us, and nothing is stopped).
 *
 * A parked goroutine changes only when it runs: its g is read again after
 * its stack, and the stack is read again (up to GO_RETRIES times) if its
 * status or saved context moved.
 *
 * Memory: go_read_goroutines() returns an array the caller frees with
 * go_goroutines_free().
 */
#ifndef THREADLEAK_GO_GOROUTINES_H
#define THREADLEAK_GO_GOROUTINES_H

#include "runtime.h"

#define GO_RETRIES 3
#define GO_MAX_FRAMES 100	/* pprof's debug=2 prints up to 100 too */

struct go_goroutine {
	uint64_t addr;		/* the g */
	int64_t goid, parent;	/* parent: 0 before Go 1.21 */
	unsigned status;	/* scan bit cleared */
	unsigned reason;	/* index into the runtime's wait reasons */
	int64_t waitsince;	/* CLOCK_MONOTONIC ns, 0: not known */
	uint64_t gopc, startpc;
	int tid;		/* the thread running it, 0 */
	struct raw_frame *raw;
	int nraw;
	bool complete;		/* the walk reached where Go's traceback ends */
	bool moved;		/* it kept running while read: stack not kept */
};

/* 0 and the goroutines in *out, *n; -errno and err. */
int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_goroutine **out, size_t *n,
		       char *err, size_t errlen);
void go_goroutines_free(struct go_goroutine *g, size_t n);

#endif
