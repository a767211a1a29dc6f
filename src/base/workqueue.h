/*
 * workqueue: items handed by one producer to one worker thread, done in
 * the order given.
 *
 * For work that must not delay the producer: `check` answers a thread
 * creation as soon as it has copied what it needs, and the creator is
 * woken on our CPU (supervise.c), so anything done before we block again
 * delays it.  The unwind of that copy is done here, on another thread.
 *
 * The items live in a ring of fixed-size slots owned by the queue: the
 * producer fills the next free slot in place (no copy), then pushes it.
 * When every slot is taken the producer waits: memory stays bounded
 * however fast items come.  The worker blocks every signal.
 *
 * Items are done in batches: a wake-up costs more than most items (a
 * futex call, a context switch, an interrupt to another CPU).  The first
 * item pushed to an idle worker wakes it for a nap of WORKQUEUE_NAP_MS;
 * the nap ends early when half the slots are full (or on drain or
 * close); then it does all that waits, and sleeps again when none does.
 * So an item may wait that long: fine for work nobody waits on.
 */
#ifndef THREADLEAK_WORKQUEUE_H
#define THREADLEAK_WORKQUEUE_H

#include <stddef.h>

#define WORKQUEUE_NAP_MS 10

struct workqueue;

/* Starts the worker, which calls fn(arg, item) for each item pushed.
 * 0 or -errno. */
int workqueue_open(struct workqueue **out, size_t item_size, size_t nitems,
		   void (*fn)(void *arg, void *item), void *arg);
/* Producer: the slot to fill next; waits while every slot is taken. */
void *workqueue_next(struct workqueue *q);
/* Producer: hands the slot returned by workqueue_next() to the worker. */
void workqueue_push(struct workqueue *q);
/* Waits until every item pushed is done: afterwards, and until the next
 * push, what the worker's function touches can be used by the caller.
 * A NULL queue has nothing to wait for. */
void workqueue_drain(struct workqueue *q);
/* Drains, stops the worker and frees the queue (NULL: nothing). */
void workqueue_close(struct workqueue *q);

#endif
