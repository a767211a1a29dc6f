/*
 * go-entries: a Go process's goroutines as entries of its snapshot.
 *
 * Each goroutine read (go/goroutines.h) becomes a thread entry with a goid:
 * its status or wait reason in the runtime's words and the wait kind they
 * classify as, how long it has waited, its stack and "created by" frames
 * symbolized from the binary's tables, the wrappers Go's own tracebacks
 * hide left out, and, in a system call, the wait of the thread running it
 * (its fd and what that is); in IO wait, the fd and peer it waits on, on a
 * semaphore (sync.Mutex.Lock...) the lock (go/waits.h).  The runtime's own goroutines are marked
 * go_system, as runtime.isSystemGoroutine does.
 *
 * Goroutines pile up by the thousand on the same stack: each distinct
 * stack (its raw frames, creator and start) is symbolized once per
 * snapshot, and its entries share one pooled frame array (snapshot.h:
 * frames_pooled).  Every entry is pooled.  In a session (top), one that
 * has not run since the last refresh keeps its entry: moved, not made
 * again.
 */
#ifndef THREADLEAK_GO_ENTRIES_H
#define THREADLEAK_GO_ENTRIES_H

#include "go/goroutines.h"
#include "target/fds.h"
#include "model/snapshot.h"

/*
 * Appends the goroutines to snap, after its threads, and counts them in
 * snap->ngoroutines.  prev: the snapshot of the last read through cache
 * (a session's), or NULL: the entries of goroutines that have not run
 * since are moved from it as they were, its pool with them
 * (snapshot_adopt_pool); free prev before snap.  Returns 0; -ENOMEM; or another -errno with a
 * one-line reason in err when they could not be read at all.  Goroutines
 * not captured whole are partial and make snap partial.
 */
int go_add_entries(const struct go_runtime *rt, struct symbolizer *sym, struct memory *mem,
		   struct fd_table *fds, struct go_cache *cache, struct snapshot *snap,
		   struct snapshot *prev, char *err, size_t errlen);

#endif
