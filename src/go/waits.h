/*
 * go/waits: what parked goroutines wait on, beyond the runtime's reason,
 * read from its memory like the goroutines themselves:
 *
 *  - a goroutine in "IO wait" waits on a file descriptor the runtime's
 *    poller watches: each fd in the poller's epoll set (its fdinfo in
 *    /proc lists the fd and the data the runtime gave it: its pollDesc,
 *    a plain or, from 1.21, a tagged pointer) has a pollDesc whose rg
 *    and wg name the goroutine waiting to read or to write;
 *  - a goroutine in sync.Mutex.Lock (and the other semaphore waits)
 *    sleeps on a sudog in runtime.semtable: 251 roots, each a treap of
 *    sudogs by semaphore address, each with a list of the others waiting
 *    on the same one.  The address is the mutex's semaphore field.
 *
 * Each is read only when some goroutine waits so.  semtable is found by
 * its symbol, or in a stripped binary from runtime.semacquire1's code
 * (go/runtime.h).
 */
#ifndef THREADLEAK_GO_WAITS_H
#define THREADLEAK_GO_WAITS_H

#include <stdbool.h>
#include <stdint.h>

#include "go/runtime.h"

struct go_waits;

struct go_wait_on {
	int fd;			/* -1: none known */
	bool write;		/* waits to write fd (else to read) */
	uint64_t sema;		/* the semaphore's address, 0: none known */
};

/* What the goroutines wait on; fds and semas say which to read.  NULL
 * when out of memory (an empty result is not NULL). */
struct go_waits *go_waits_read(const struct go_runtime *rt, struct memory *mem, bool fds,
			       bool semas);
/* What the goroutine whose g is at g_addr waits on; false: nothing known. */
bool go_waits_find(const struct go_waits *w, uint64_t g_addr, struct go_wait_on *out);
void go_waits_free(struct go_waits *w);

#endif
