/*
 * go/runtime: which Go runtime a process runs, and where its scheduler
 * keeps the goroutines, read from outside without stopping it.
 *
 * The version comes from the binary's build information (.go.buildinfo,
 * as `go version FILE` reads it), or else from the "go1.N" string the
 * runtime keeps.  The layouts of runtime.g, gobuf and m are known per
 * minor version, 1.19 to 1.27 (GO-RUNTIME.md; the tests check them
 * against the DWARF of the binaries that have it); a newer version's
 * come from its DWARF (go/layout-dwarf.h), else from the runtime's own
 * type descriptors (go/layout-types.h), which stripped binaries keep.
 * Go before 1.19 is refused with one line that says so.  The scheduler's data:
 * runtime.allgs (a slice of *g) and runtime.waitReasonStrings (an array
 * of Go strings, read from the process: the numbering changes between
 * versions), found by their ELF symbols, or in a stripped binary by
 * scanning the data sections for what only they look like.
 *
 * Memory: go_runtime_open() returns an object the caller frees with
 * go_runtime_close().
 */
#ifndef THREADLEAK_GO_RUNTIME_H
#define THREADLEAK_GO_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/memory.h"
#include "stacks/symbols.h"

#define GO_G_MAX 512	/* bytes of a g read, at most */
#define GO_SEMTAB_ROOTS 251	/* runtime.semtable: semTabSize roots, */
#define GO_SEMROOT_SIZE 64	/* each padded to a cache line */

/* Byte offsets, amd64. */
struct go_layout {
	unsigned g_size;	/* bytes read of a g: past every field below */
	unsigned hot_lo, hot_hi;	/* the bytes that change while it
					   lives: m to waitreason */
	unsigned stack_lo, stack_hi, m, sched, syscallsp, syscallpc;
	unsigned status, goid, waitsince, waitreason, gopc, startpc;
	unsigned parent_goid;	/* 0: the version has none (before 1.21) */
	unsigned ancestors;	/* *[]ancestorInfo (GODEBUG=tracebackancestors) */
	unsigned labels;	/* pprof labels: unsafe.Pointer, 0: none */
	unsigned buf_sp, buf_pc, buf_g, buf_bp;	/* in gobuf (sched) */
	unsigned m_procid, m_curg;
	/* What a goroutine waits on (go/waits.h): runtime.pollDesc's fd
	 * and waiting g's, runtime.sudog's links and semaRoot's treap. */
	unsigned pd_fd, pd_rg, pd_wg;
	unsigned sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_waitlink;
	unsigned semroot_treap;
};

/* Goroutine statuses (runtime2.go), the scan bit cleared. */
enum {
	GO_IDLE = 0, GO_RUNNABLE = 1, GO_RUNNING = 2, GO_SYSCALL = 3,
	GO_WAITING = 4, GO_DEAD = 6, GO_COPYSTACK = 8, GO_PREEMPTED = 9,
	GO_LEAKED = 10,		/* 1.26: blocked on what nothing can reach */
	GO_DEADEXTRA = 11,	/* 1.26: an extra M's, waiting for cgo */
	GO_SCAN = 0x1000,
};

struct go_runtime {
	char version[32];	/* "go1.19.8" */
	int minor;		/* 19 */
	struct go_layout lay;
	uint64_t allgs;		/* run-time address of the allgs slice header */
	char **reasons;		/* waitReasonStrings, read from the process */
	size_t nreasons;
	bool by_scan;		/* allgs found by scanning: no symbols */
	bool test;		/* a test binary (go test's): it has testing.(*M).Run */
	bool dwarf_layout;	/* lay is from the binary's DWARF */
	char layouts[32];	/* where lay is from: "built-in", "dwarf",
				   "types" (go/layout-types.h) */
	uint64_t epfd;		/* run-time address of runtime.epfd (the
				   netpoller's epoll fd, an int32), 0: no
				   symbol (go/waits then looks at every fd) */
	uint64_t semtable;	/* run-time address of runtime.semtable (by its
				   symbol, or from semacquire1's code), 0 */
};

/*
 * 0 and *out for a Go program; -ENOENT for a process that runs no Go
 * code; -ENOTSUP (err names the version) for a Go whose layouts are not
 * known; -ESRCH when its goroutines cannot be found (err says why).
 */
int go_runtime_open(struct symbolizer *sym, struct memory *mem,
		    struct go_runtime **out, char *err, size_t errlen);
void go_runtime_close(struct go_runtime *rt);

/* The Go version of a Go program ("go1.27.3") into buf, even one whose
 * layouts are not known: 0, or -ENOENT. */
int go_version_of(struct symbolizer *sym, char *buf, size_t size);
/* The runtime's name of wait reason i, or NULL. */
const char *go_wait_reason(const struct go_runtime *rt, unsigned i);
/* The runtime's name of a status ("chan receive" comes from the reason):
 * "runnable", "running", "syscall", "waiting", ... */
const char *go_status_name(unsigned status);
/* Whether status (scan bit or not) is one a g has. */
bool go_status_known(unsigned status);
/* Whether a g of status (scan bit cleared) is parked: not on a CPU, its
 * saved context (g.sched) where it stands (waiting, runnable, preempted,
 * leaked). */
bool go_status_parked(unsigned status);

#endif
