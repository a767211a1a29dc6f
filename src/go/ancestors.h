/*
 * go/ancestors: where a goroutine's chain of `go` statements began, as
 * the runtime records it when GODEBUG has tracebackancestors=N at start.
 *
 * newproc1 then gives each new g an `ancestors` pointer (*[]ancestorInfo,
 * runtime2.go): element 0 is its creator, as it was at the `go`
 * statement (the pcs of its stack then, its goid, its own gopc), then
 * the creator's own ancestors, up to N.  The layout is the same in
 * every release 1.19 to 1.27 (runtime2.go):
 *
 *	type ancestorInfo struct {	// 40 bytes
 *		pcs  []uintptr		// 0: ptr, 8: len, 16: cap
 *		goid int64		// 24 (uint64 from 1.23)
 *		gopc uintptr		// 32
 *	}
 *
 * The pcs are return addresses (gcallers; from 1.21 an inlined frame
 * has its own entry, its call's pc + 1): look each up at pc - 1.  They
 * stay valid after the ancestors end: the runtime copies them.
 *
 * Everything is read from the target and bounded: at most
 * GO_ANCESTORS_MAX ancestors and GO_ANCESTOR_PCS pcs of each (Go keeps
 * 100 pcs before 1.21, 50 since).
 */
#ifndef THREADLEAK_GO_ANCESTORS_H
#define THREADLEAK_GO_ANCESTORS_H

#include <stdint.h>

#include "target/memory.h"

#define GO_ANCESTORS_MAX 64
#define GO_ANCESTOR_PCS 100
#define GO_ANCESTOR_SIZE 40	/* sizeof(runtime.ancestorInfo), amd64 */

struct go_ancestor {
	int64_t goid;		/* the ancestor goroutine (maybe ended) */
	uint64_t gopc;		/* the `go` statement that created it */
	int npcs;
	uint64_t pcs[GO_ANCESTOR_PCS];	/* its stack at the `go` statement,
					   innermost first */
};

/*
 * The ancestors at addr (a g's `ancestors` field: *[]ancestorInfo),
 * nearest first, into out[0..max): their number, 0 when addr is 0, or
 * -EFAULT when unreadable, -EINVAL when it does not look like one.
 */
int go_read_ancestors(struct memory *mem, uint64_t addr, struct go_ancestor *out, int max);

#endif
