/*
 * go/goroutines: every goroutine of a Go process, read from its memory
 * while it runs (runtime.h says where), nothing stopped.
 *
 * For each g of allgs that is not dead: its id, status, wait reason,
 * since when it waits (waitsince: set by a GC scan, so 0 until one has
 * seen it), its creator's pc and parent id, the thread running it (its
 * M's procid) and its stack, unwound with the binary's own table
 * (go/unwind.h): from its saved context when parked or runnable, from
 * its system-call context when in a system call.  A running goroutine's
 * stack changes under us: it is read only through a stopper (go_stopper,
 * set by the capture), which stops the thread running it for a moment;
 * in that stop, the g the thread runs is read from the thread itself (its
 * TLS slot, fs_base - 8, where Go keeps the current g on linux/amd64;
 * R14 too in Go code), and the goroutine gets the frames unwound from the
 * thread's registers only when that g is it and sp lies in its stack; a
 * thread on its system stack (g0: systemstack, morestack, mcall) gives
 * the goroutine's saved context (g.sched), as Go's traceback does.
 * Without a stopper a running goroutine has no frames.
 *
 * A parked goroutine changes only when it runs: its g is read again after
 * its stack (every page of which is read after the g), and one that moved
 * meanwhile is read alone again, g, stack and g, up to GO_RETRIES times;
 * one that ended meanwhile (dead, or its g reused by a newer goroutine) is
 * left out, as ended before the read.
 *
 * A cache (go_cache) keeps the stacks of one read for the next: a g at
 * the same place of allgs whose id, status and saved context are the
 * same has not run since, and keeps its stack without an unwind.  `top`
 * on 100,000 parked goroutines then reads their g's and little else.
 *
 * Memory: go_read_goroutines_each() gives the goroutines away a batch at
 * a time (at a million, no array of them all: the entries are made while
 * the next batches are read); go_read_goroutines() returns an array the
 * caller frees with go_goroutines_free().  Their raw stacks are the
 * cache's, valid until the next read through it or go_cache_free().
 */
#ifndef THREADLEAK_GO_GOROUTINES_H
#define THREADLEAK_GO_GOROUTINES_H

#include "go/runtime.h"

#define GO_RETRIES 8
#define GO_MAX_FRAMES 100	/* pprof's debug=2 prints up to 100 too */
#define GO_KEEP_MAX (1u << 21)	/* goroutines a read keeps at most */

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
	bool stopped;		/* found running, its thread was stopped
				   for it (go_stopper); its stack from the
				   stop, or read again if it had parked */
	bool same;		/* has not run since the last read */
	size_t pos;		/* its place in allgs */
	long prev;		/* same: its entry in the snapshot of the last
				   read (its take's index), else -1 */
};

struct go_cache;

/*
 * Stops thread tid for a moment, calls seen(arg, regs) with its registers
 * while it is stopped, and lets it go.  Returns 0 when seen was called;
 * -EPERM when the thread may not be stopped (a capture that stops nothing,
 * a call a stop would break with EINTR), -EINTR when threadleak was asked
 * to stop (no more stops then), another -errno when it did not stop.
 */
typedef int (*go_seen_fn)(void *arg, const struct cpu_regs *regs);
struct go_stopper {
	int (*stop)(void *ctx, int tid, go_seen_fn seen, void *arg);
	void *ctx;
};

/* An empty cache; NULL when out of memory. */
struct go_cache *go_cache_new(void);
void go_cache_free(struct go_cache *c);
/* The stopper for the next reads (go_stopper), or none (NULL). */
void go_cache_set_stopper(struct go_cache *c, const struct go_stopper *stop);
/*
 * Reads the goroutines, giving each to take(arg, g, &index) as soon as
 * it is read for good: a batch at a time, in allgs order, but those read
 * in a stop of their thread (the running ones), given last.  take sets
 * index to the entry it made of g in the snapshot made of this read (see
 * prev; -1 when none) and returns 0, or -errno to end the read with it.
 * g is take's only for the call (its raw stack is the cache's).
 * 0, or -errno and err.
 */
typedef int (*go_take_fn)(void *arg, const struct go_goroutine *g, long *index);
int go_read_goroutines_each(const struct go_runtime *rt, struct symbolizer *sym,
			    struct memory *mem, struct go_cache *cache, go_take_fn take,
			    void *arg, char *err, size_t errlen);
/* The same into an array: 0 and the goroutines in *out, *n; -errno and
 * err. */
int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_cache *cache,
		       struct go_goroutine **out, size_t *n, char *err, size_t errlen);
/*
 * What the last read through c made of allgs: the entries it claims
 * (its length), those skipped as no g (null, unaligned, unreadable, a
 * status no g has, a g named before) and those not read at all: a read
 * keeps at most GO_KEEP_MAX goroutines (2,097,152), whatever allgs says,
 * so that its memory follows what it keeps.
 */
/* No read through c will follow the next (a one-shot snapshot): what
 * only a later read would use is dropped after it, 128 bytes a
 * goroutine. */
void go_cache_set_one_shot(struct go_cache *c);
void go_cache_counts(const struct go_cache *c, uint64_t *claimed, size_t *skipped, uint64_t *unread);
void go_goroutines_free(struct go_goroutine *g, size_t n);

#endif
