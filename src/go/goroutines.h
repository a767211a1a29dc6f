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
 * A cache (go_cache) keeps the stacks of one read for the next: a g at
 * the same place of allgs whose id, status and saved context are the
 * same has not run since, and keeps its stack without an unwind.  `top`
 * on 100,000 parked goroutines then reads their g's and little else.
 *
 * Memory: go_read_goroutines() returns an array the caller frees with
 * go_goroutines_free(); their raw stacks are the cache's, valid until the
 * next read through it or go_cache_free().
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
	uint64_t ancestors;	/* g.ancestors: *[]ancestorInfo, 0 */
	uint64_t labels;	/* g.labels: its pprof labels, 0 */
	int tid;		/* the thread running it, 0 */
	const struct raw_frame *raw;	/* the cache's */
	int nraw;
	bool complete;		/* the walk reached where Go's traceback ends */
	bool moved;		/* it kept running while read: stack not kept */
	bool same;		/* has not run since the last read */
	size_t pos;		/* its place in allgs */
	long prev;		/* same: its entry in the snapshot of the last
				   read (go_cache_note), else -1 */
};

struct go_cache;

/* An empty cache; NULL when out of memory. */
struct go_cache *go_cache_new(void);
void go_cache_free(struct go_cache *c);
/* The goroutine at place pos of allgs is entry index of the snapshot
 * made of this read (see prev). */
void go_cache_note(struct go_cache *c, size_t pos, long index);
/* 0 and the goroutines in *out, *n; -errno and err. */
int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_cache *cache,
		       struct go_goroutine **out, size_t *n, char *err, size_t errlen);
void go_goroutines_free(struct go_goroutine *g, size_t n);

#endif
