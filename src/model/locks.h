/*
 * locks: lock cycles (deadlocks) in a snapshot, from each mutex waiter's
 * owner as read from the mutex itself.  Pure; no allocation.
 */
#ifndef THREADLEAK_LOCKS_H
#define THREADLEAK_LOCKS_H

#include "model/snapshot.h"

/*
 * If t waits for a mutex and following owners leads back to t, writes the
 * tids of the cycle (starting with t) into cycle and returns its length;
 * returns 0 otherwise (or when the cycle is longer than max).
 */
int lock_cycle(const struct snapshot *snap, const struct thread *t,
	       int *cycle, int max);
const struct thread *snapshot_find_thread(const struct snapshot *snap, int tid);

#endif
