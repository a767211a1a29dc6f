/*
 * go/goroutines: the read, the unwind and the check; see goroutines.h.
 *
 * The g's are read in batches (one process_vm_readv for up to BATCH of
 * them), unwound through the page cache, then read again in a batch to
 * see which moved meanwhile; those are unwound again from a fresh cache.
 */
#include "goroutines.h"
#include "unwind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define BATCH 512
#define MAX_GS (1u << 24)
#define G_MAX 512		/* bytes of a g read, at most */

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Reads n g's (their first size bytes) at addrs into bufs[i * G_MAX];
 * ok[i] says which were read.  Needs the pid: past the cache. */
static void read_gs(int pid, const uint64_t *addrs, size_t n, size_t size,
		    unsigned char *bufs, bool *ok)
{
	struct iovec local[BATCH], remote[BATCH];

	for (size_t i = 0; i < n; i++) {
		local[i] = (struct iovec){ bufs + i * G_MAX, size };
		remote[i] = (struct iovec){ (void *)(uintptr_t)addrs[i], size };
	}
	ssize_t got = n ? process_vm_readv(pid, local, n, remote, n, 0) : 0;
	size_t whole = got > 0 ? (size_t)got / size : 0;
	for (size_t i = 0; i < n; i++) {
		/* Past the first unreadable one, one by one. */
		ok[i] = i < whole ||
			(i > whole && process_vm_readv(pid, &local[i], 1, &remote[i], 1, 0) ==
			 (ssize_t)size);
	}
}

static bool parked(unsigned st)
{
	return st == GO_WAITING || st == GO_RUNNABLE || st == GO_PREEMPTED ||
	       st == GO_LEAKED;
}

/* Fills g from its bytes; false for a goroutine that is not there (dead,
 * idle, an extra M's). */
static bool fill(const struct go_runtime *rt, struct memory *mem, uint64_t addr,
		 const unsigned char *b, struct go_goroutine *g)
{
	const struct go_layout *l = &rt->lay;
	unsigned st = (unsigned)(u64(b + l->status) & 0xffffffffu) & ~(unsigned)GO_SCAN;

	if (st == GO_IDLE || st == GO_DEAD || st == GO_DEADEXTRA)
		return false;
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	g->status = st;
	g->goid = (int64_t)u64(b + l->goid);
	g->reason = b[l->waitreason];
	g->waitsince = (int64_t)u64(b + l->waitsince);
	g->gopc = u64(b + l->gopc);
	g->startpc = u64(b + l->startpc);
	if (l->parent_goid)
		g->parent = (int64_t)u64(b + l->parent_goid);
	uint64_t m = u64(b + l->m), procid;
	if (m && (st == GO_RUNNING || st == GO_SYSCALL) &&
	    memory_read(mem, m + l->m_procid, &procid, 8) == 0)
		g->tid = (int)procid;
	return true;
}

/* What identifies a parked g's state: moved if any differs. */
static bool same(const struct go_runtime *rt, const unsigned char *a, const unsigned char *b)
{
	const struct go_layout *l = &rt->lay;

	return memcmp(a + l->status, b + l->status, 4) == 0 &&
	       memcmp(a + l->goid, b + l->goid, 8) == 0 &&
	       memcmp(a + l->sched + l->buf_sp, b + l->sched + l->buf_sp, 8) == 0 &&
	       memcmp(a + l->sched + l->buf_pc, b + l->sched + l->buf_pc, 8) == 0 &&
	       memcmp(a + l->syscallsp, b + l->syscallsp, 8) == 0 &&
	       memcmp(a + l->syscallpc, b + l->syscallpc, 8) == 0;
}

static void unwind_one(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, const unsigned char *b,
		       struct go_goroutine *g, struct raw_frame *buf)
{
	const struct go_layout *l = &rt->lay;
	uint64_t pc, sp;

	free(g->raw);
	g->raw = NULL;
	g->nraw = 0;
	g->complete = false;
	if (parked(g->status)) {
		pc = u64(b + l->sched + l->buf_pc);
		sp = u64(b + l->sched + l->buf_sp);
	} else if (g->status == GO_SYSCALL) {
		pc = u64(b + l->syscallpc);
		sp = u64(b + l->syscallsp);
	} else {
		return;	/* running: on a CPU, its saved context stale */
	}
	if (!pc || !sp)
		return;
	int n = go_unwind(sym, mem, pc, sp, buf, GO_MAX_FRAMES, &g->complete);
	/* A goroutine in a system call stopped in the call itself: its pc
	 * is a return address, as every frame's above it. */
	if (n > 0 && g->status == GO_SYSCALL)
		buf[0].return_address = true;
	if (n > 0 && (g->raw = malloc((size_t)n * sizeof(*g->raw)))) {
		memcpy(g->raw, buf, (size_t)n * sizeof(*g->raw));
		g->nraw = n;
	}
}

int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_goroutine **out, size_t *n,
		       char *err, size_t errlen)
{
	const struct go_layout *l = &rt->lay;
	unsigned char hdr[24];
	struct go_goroutine *gs = NULL;
	size_t count = 0, cap = 0;
	int pid = memory_pid(mem), rc = 0;

	*out = NULL;
	*n = 0;
	if (memory_read_now(mem, rt->allgs, hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "cannot read runtime.allgs");
		return -EFAULT;
	}
	uint64_t arr = u64(hdr), len = u64(hdr + 8);
	if (len > MAX_GS || (len && !arr)) {
		snprintf(err, errlen, "runtime.allgs is not a slice of goroutines (length %llu)",
			 (unsigned long long)len);
		return -EINVAL;
	}
	uint64_t *addrs = malloc(BATCH * sizeof(*addrs));
	unsigned char *b1 = malloc((size_t)BATCH * G_MAX), *b2 = malloc((size_t)BATCH * G_MAX);
	bool *ok1 = malloc(BATCH), *ok2 = malloc(BATCH);
	struct raw_frame *buf = malloc(GO_MAX_FRAMES * sizeof(*buf));
	size_t *idx = malloc(BATCH * sizeof(*idx));
	if (!addrs || !b1 || !b2 || !ok1 || !ok2 || !buf || !idx) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t at = 0; at < len; at += BATCH) {
		size_t k = len - at < BATCH ? (size_t)(len - at) : BATCH;
		if (memory_read_now(mem, arr + 8 * at, addrs, k * 8) < 0)
			break;	/* allgs grew and moved meanwhile: what we have */
		read_gs(pid, addrs, k, l->g_size, b1, ok1);
		size_t first = count;
		for (size_t i = 0; i < k; i++) {
			if (!ok1[i])
				continue;
			if (count == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				struct go_goroutine *ng = realloc(gs, nc * sizeof(*ng));
				if (!ng) {
					snprintf(err, errlen, "out of memory");
					rc = -ENOMEM;
					goto out;
				}
				gs = ng;
				cap = nc;
			}
			if (!fill(rt, mem, addrs[i], b1 + i * G_MAX, &gs[count]))
				continue;
			idx[count - first] = i;
			unwind_one(rt, sym, mem, b1 + i * G_MAX, &gs[count], buf);
			count++;
		}
		/* Which moved while we unwound: read them again, from a cache
		 * that has forgotten their stacks. */
		for (int retry = 0; retry <= GO_RETRIES; retry++) {
			read_gs(pid, addrs, k, l->g_size, b2, ok2);
			bool any = false;
			for (size_t j = first; j < count; j++) {
				size_t i = idx[j - first];
				struct go_goroutine *g = &gs[j];
				if (!ok2[i] || same(rt, b1 + i * G_MAX, b2 + i * G_MAX) ||
				    g->status == GO_RUNNING) {
					g->moved = false;
					continue;
				}
				if (retry == GO_RETRIES) {
					g->moved = true;
					free(g->raw);
					g->raw = NULL;
					g->nraw = 0;
					continue;
				}
				if (!any)
					memory_reset(mem);
				any = true;
				memcpy(b1 + i * G_MAX, b2 + i * G_MAX, l->g_size);
				free(g->raw);
				g->raw = NULL;
				if (!fill(rt, mem, addrs[i], b1 + i * G_MAX, g))
					g->status = GO_DEAD;	/* ended meanwhile */
				else
					unwind_one(rt, sym, mem, b1 + i * G_MAX, g, buf);
			}
			if (!any)
				break;
		}
	}
	/* Those that ended while we read. */
	size_t kept = 0;
	for (size_t j = 0; j < count; j++) {
		if (gs[j].status == GO_DEAD) {
			free(gs[j].raw);
			continue;
		}
		gs[kept++] = gs[j];
	}
	count = kept;
out:
	free(addrs);
	free(b1);
	free(b2);
	free(ok1);
	free(ok2);
	free(buf);
	free(idx);
	if (rc < 0) {
		go_goroutines_free(gs, count);
		return rc;
	}
	*out = gs;
	*n = count;
	return 0;
}

void go_goroutines_free(struct go_goroutine *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		free(g[i].raw);
	free(g);
}
