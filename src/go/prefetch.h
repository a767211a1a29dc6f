/*
 * go/prefetch: the reads of the next batches of g's (go/gread.h), done by
 * reader threads while the caller unwinds the batch before.
 *
 * At a million goroutines most of a snapshot is the kernel walking to a
 * million g's and a million stacks for process_vm_readv; the unwind, the
 * symbols and the rest are the caller's, on one thread.  The reads need
 * nothing of that (the layout says where a g's saved sp is), so threads
 * of their own, one per CPU up to GO_PREFETCH_MAX, do them a few batches
 * ahead, and the caller takes the batches in the order it gave them
 * (run_parallel_then, util.h, runs ahead without bound: here a batch
 * holds 2 MiB of buffers, and the caller makes each batch it gives).
 *
 * A batch read whole gets its g's, then the top of each one's stack, then
 * the bytes of its g's that change again (go_layout's hot range): a
 * goroutine whose hot bytes are the same in both held still meanwhile
 * and its stack top is its own.  A batch not read whole (the cache knows
 * most of them) gets the hot bytes only.
 *
 * With no thread to be had (one CPU, or pthread_create failing) the
 * caller reads each batch itself when it takes it: the same reads in the
 * same order, one after the other.  The threads block every signal: the
 * caller's handlers run on the caller's thread; they are SCHED_BATCH
 * threads, which never take a CPU from the caller when it wakes them.  Buffers are kept from
 * read to read; the threads live for one read (go_prefetch_begin to
 * go_prefetch_end).
 */
#ifndef THREADLEAK_GO_PREFETCH_H
#define THREADLEAK_GO_PREFETCH_H

#include "go/gread.h"

#define GO_PREFETCH_MAX 2	/* reader threads, at most */

struct go_batch {
	uint64_t at;		/* the place in allgs of its first entry */
	size_t len;		/* entries of allgs it covers */
	size_t skipped;		/* of those, no g (the caller's count) */
	size_t k;		/* g's to read */
	uint64_t addrs[GO_BATCH], apos[GO_BATCH];	/* each one's place in allgs */
	/* read: */
	unsigned char *b1;	/* [i * GO_G_MAX]: whole, or the hot bytes */
	bool ok1[GO_BATCH];
	struct go_window win[GO_BATCH];	/* whole: each stack's top */
	unsigned char *b2;	/* whole: the hot bytes again, after */
	bool ok2[GO_BATCH];
	/* the reader's */
	unsigned char *wins, *gather;
	int state;
};

struct go_prefetch;

struct go_prefetch *go_prefetch_new(void);
void go_prefetch_free(struct go_prefetch *p);
/* Starts a read of pid's g's: whole or their hot bytes only.  0, or
 * -ENOMEM. */
int go_prefetch_begin(struct go_prefetch *p, int pid, const struct go_layout *l, bool whole);
/* A batch to fill in (at, len, skipped, k, addrs, apos), then submit;
 * NULL when enough are under way: take one first. */
struct go_batch *go_prefetch_slot(struct go_prefetch *p);
void go_prefetch_submit(struct go_prefetch *p, struct go_batch *b);
/* The oldest batch submitted, read; NULL when none is left.  Released
 * before the next is taken. */
struct go_batch *go_prefetch_next(struct go_prefetch *p);
void go_prefetch_release(struct go_prefetch *p, struct go_batch *b);
/* Ends the read: the threads gone, the batches not taken dropped. */
void go_prefetch_end(struct go_prefetch *p);

#endif
