/*
 * go/gread: the reads of a batch of g's and of their stacks' tops, each
 * in one process_vm_readv of many pieces.
 *
 * A million goroutines are a million g's and a million stacks, each
 * stack in pages of its own: what costs is the kernel's walk to each
 * page, not the bytes, so a batch is read in as few calls as its memory
 * allows.  These functions keep no state but the buffers they are given:
 * the reader threads (go/prefetch.h) call them side by side.
 */
#ifndef THREADLEAK_GO_GREAD_H
#define THREADLEAK_GO_GREAD_H

#include "go/runtime.h"
#include "go/unwind.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GO_BATCH 512		/* g's read together */
#define GO_WINDOW 2048		/* of a g's stack read with it */
/* Two g's closer than this are read in one piece (go_read_gs). */
#define GO_GATHER_GAP 512
#define GO_GATHER_BYTES ((size_t)GO_BATCH * (GO_G_MAX + GO_GATHER_GAP))

/*
 * Reads bytes [lo, hi) of n (at most GO_BATCH) g's at addrs into the same
 * place of bufs[i * GO_G_MAX]; ok[i] says which were read.  gather:
 * GO_GATHER_BYTES of room.
 */
void go_read_gs(int pid, const uint64_t *addrs, size_t n, size_t lo, size_t hi,
		unsigned char *bufs, bool *ok, unsigned char *gather);

/*
 * The top of the stack of each of n g's read whole in b (those with
 * ok[j]), from its saved sp up to GO_WINDOW bytes, not past the stack's
 * end, into bufs[j * GO_WINDOW]; win[j] says where it is, its len 0 when
 * it was not read (the walk reads from memory then).  Call it after the
 * g's are read: then every page of it is read after its g.
 */
void go_read_windows(int pid, const struct go_layout *l, const unsigned char *b,
		     const bool *ok, size_t n, unsigned char *bufs, struct go_window *win);

#endif
