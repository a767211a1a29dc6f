/*
 * go/gread: see gread.h.
 *
 * The runtime allocates g's side by side in spans, so a batch of g's is
 * a few runs of memory: g's closer than GO_GATHER_GAP are read as one run
 * into a gather buffer, the bytes between them too, then copied out.  A
 * run read in one piece is read in order, which the CPU's prefetcher
 * follows (a g read alone costs its cache misses in full), and the kernel
 * pins a run's pages once.  Measured on 100,000 parked goroutines, top
 * -d 1: 70 ms a refresh rather than 81.  Past a run that cannot be read,
 * g by g.
 *
 * A parked goroutine's frames lie in the first few hundred bytes above
 * its saved sp: the window read there lets the walk take them from it
 * (go_unwind_in) instead of reading a page of memory each (4 KiB copied
 * a goroutine: most of a million goroutines' snapshot time).
 */
#include "go/gread.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

struct piece {
	uint64_t addr;
	size_t i;
};

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void go_read_gs(int pid, const uint64_t *addrs, size_t n, size_t lo, size_t hi,
		unsigned char *bufs, bool *ok, unsigned char *gather)
{
	struct iovec local[GO_BATCH], remote[GO_BATCH];
	struct piece p[GO_BATCH];
	size_t run_of[GO_BATCH], nr = 0, used = 0, size = hi - lo;

	for (size_t i = 0; i < n; i++)
		p[i] = (struct piece){ addrs[i] + lo, i };
	/* cppcheck-suppress uninitvar ; p[0..n) is set just above */
	qsort(p, n, sizeof(*p), cmp_piece);
	for (size_t j = 0; j < n; j++) {
		uint64_t at = p[j].addr;
		/* cppcheck-suppress uninitvar ; remote[nr - 1] is read only when nr > 0 */
		uint64_t start = nr ? (uint64_t)(uintptr_t)remote[nr - 1].iov_base : 0;
		uint64_t end = nr ? start + remote[nr - 1].iov_len : 0;
		size_t grow = at + size > end ? at + size - end : 0;
		if (nr && at >= start && at <= end + GO_GATHER_GAP &&
		    used + grow <= GO_GATHER_BYTES) {
			remote[nr - 1].iov_len += grow;
			local[nr - 1].iov_len += grow;
			used += grow;
		} else {
			local[nr] = (struct iovec){ gather + used, size };
			remote[nr] = (struct iovec){ (void *)(uintptr_t)at, size };
			used += size;
			nr++;
		}
		run_of[j] = nr - 1;
	}
	ssize_t got = nr ? process_vm_readv(pid, local, nr, remote, nr, 0) : 0;
	size_t whole = 0, sum = 0;	/* runs read whole: before the first short one */
	while (whole < nr && got > 0 && sum + local[whole].iov_len <= (size_t)got)
		sum += local[whole++].iov_len;
	for (size_t j = 0; j < n; j++) {
		size_t i = p[j].i, k = run_of[j];
		unsigned char *dst = bufs + i * GO_G_MAX + lo;
		if (k < whole) {
			size_t off = p[j].addr - (uint64_t)(uintptr_t)remote[k].iov_base;
			memcpy(dst, (unsigned char *)local[k].iov_base + off, size);
			ok[i] = true;
		} else {
			struct iovec l1 = { dst, size }, r1 = { (void *)(uintptr_t)p[j].addr, size };
			ok[i] = process_vm_readv(pid, &l1, 1, &r1, 1, 0) == (ssize_t)size;
		}
	}
}

void go_read_windows(int pid, const struct go_layout *l, const unsigned char *b,
		     const bool *ok, size_t n, unsigned char *bufs, struct go_window *win)
{
	struct iovec local[GO_BATCH], remote[GO_BATCH];
	size_t idx[GO_BATCH], nr = 0;

	for (size_t j = 0; j < n; j++) {
		const unsigned char *g = b + j * GO_G_MAX;
		win[j] = (struct go_window){ 0 };
		if (!ok[j])
			continue;
		uint32_t st;
		memcpy(&st, g + l->status, 4);
		st &= ~(uint32_t)GO_SCAN;
		uint64_t sp = go_status_parked(st) ? u64(g + l->sched + l->buf_sp) :
			      st == GO_SYSCALL ? u64(g + l->syscallsp) : 0;
		uint64_t hi = u64(g + l->stack_hi);
		if (!sp || sp >= hi || (sp & 7))
			continue;
		size_t len = hi - sp < GO_WINDOW ? (size_t)(hi - sp) : GO_WINDOW;
		win[j] = (struct go_window){ sp, bufs + j * GO_WINDOW, 0 };
		local[nr] = (struct iovec){ bufs + j * GO_WINDOW, len };
		remote[nr] = (struct iovec){ (void *)(uintptr_t)sp, len };
		idx[nr++] = j;
	}
	ssize_t got = nr ? process_vm_readv(pid, local, nr, remote, nr, 0) : 0;
	size_t sum = 0;
	for (size_t k = 0; k < nr && got > 0; k++) {
		/* cppcheck-suppress uninitvar ; local[0..nr) is set in the loop above */
		if (sum + local[k].iov_len > (size_t)got)
			break;	/* the rest: from memory */
		sum += local[k].iov_len;
		win[idx[k]].len = local[k].iov_len;
	}
}
