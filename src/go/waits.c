/*
 * go/waits: see waits.h.
 *
 * The result is an array of (g, what it waits on) sorted by g.  Reads are
 * bounded: at most MAX_FDS descriptors listed, MAX_NODES sudogs visited
 * (a treap being rebuilt while we walk it may loop: the bound ends it).
 * Sudogs are read past the page cache: they lie scattered, and through
 * it nine reads in ten fetched a whole page for 96 bytes (a million
 * parked goroutines, 146,000 sudogs: 0.40 s of CPU in this read, 0.26 s
 * read directly one at a time).  They are read directly, many a call
 * (read_sudogs: one process_vm_readv, an iovec each).
 */
#include "go/waits.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_NODES 1000000
#define PD_READ 64		/* bytes of a pollDesc read */
#define SUDOG_READ 96		/* bytes of a sudog read */
#define SUDOG_BATCH 1024	/* sudogs a read (IOV_MAX iovecs) */
#define TODO_MAX (MAX_NODES / 16)	/* sudogs waiting to be read */

struct entry {
	uint64_t g;
	struct go_wait_on on;
};

struct go_waits {
	struct entry *e;
	size_t n, cap;
};

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static struct entry *add(struct go_waits *w, uint64_t g)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct entry *e = realloc(w->e, nc * sizeof(*e));
		if (!e)
			return NULL;
		w->e = e;
		w->cap = nc;
	}
	struct entry *e = &w->e[w->n++];
	e->g = g;
	e->on = (struct go_wait_on){ -1, false, 0 };
	return e;
}

/* A g pointer in a pollDesc's rg or wg: not nil, pdReady or pdWait. */
static bool is_g(uint64_t v)
{
	return v > 2 && !(v & 7);
}

/* The pollDesc the runtime registered fd with (epoll data): a plain
 * pointer (before 1.21) or a tagged one, the address in the high bits
 * (48 of them until 1.25, 49 since); the one whose fd is fd. */
static bool read_pd(const struct go_layout *l, struct memory *mem, int fd, uint64_t data,
		    unsigned char *pd)
{
	uint64_t cand[3] = { data, (uint64_t)((int64_t)data >> 19 << 3),
			     (uint64_t)((int64_t)data >> 18 << 3) };

	for (int i = 0; i < 3; i++)
		if (cand[i] && !(cand[i] & 7) && memory_read(mem, cand[i], pd, PD_READ) == 0 &&
		    u64(pd + l->pd_fd) == (uint64_t)fd)
			return true;
	return false;
}

/* One epoll fd's set, from /proc/PID/fdinfo/EPFD. */
static int read_epoll(const struct go_layout *l, struct memory *mem, int pid, int epfd,
		      struct go_waits *w)
{
	char path[64], line[256];
	unsigned char pd[PD_READ];

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, epfd);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int fd;
		uint64_t data;
		if (sscanf(line, "tfd: %d events: %*x data: %" SCNx64, &fd, &data) != 2 ||
		    !read_pd(l, mem, fd, data, pd))
			continue;
		uint64_t rg = u64(pd + l->pd_rg), wg = u64(pd + l->pd_wg);
		struct entry *e;
		if (is_g(rg)) {
			if (!(e = add(w, rg)))
				goto oom;
			e->on.fd = fd;
		}
		if (is_g(wg)) {
			if (!(e = add(w, wg)))
				goto oom;
			e->on.fd = fd;
			e->on.write = true;
		}
	}
	fclose(f);
	return 0;
oom:
	fclose(f);
	return -ENOMEM;
}

/* Whether fd of pid is an epoll fd. */
static bool is_epoll(int pid, long fd)
{
	char path[64], link[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, fd);
	ssize_t len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return false;
	link[len] = '\0';
	return strcmp(link, "anon_inode:[eventpoll]") == 0;
}

/*
 * The netpoller's epoll set: its fd from runtime.epfd when the binary
 * has the symbol (and it is an epoll fd), else every epoll fd of the
 * process (a look at each of its fds).
 */
static int read_pollers(const struct go_runtime *rt, struct memory *mem, struct go_waits *w)
{
	int pid = memory_pid(mem), n = 0, rc = 0;
	char path[64];
	struct dirent *de;
	int32_t epfd;

	if (rt->epfd && memory_read_now(mem, rt->epfd, &epfd, sizeof(epfd)) == 0 && epfd >= 0 &&
	    is_epoll(pid, epfd))
		return read_epoll(&rt->lay, mem, pid, epfd, w);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	while (rc == 0 && (de = readdir(d)) && n++ < MAX_FDS) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name)
			continue;
		if (is_epoll(pid, fd))
			rc = read_epoll(&rt->lay, mem, pid, (int)fd, w);
	}
	closedir(d);
	return rc;
}

/* A sudog to read: a node of a semaRoot's treap, or one further down a
 * node's list of waiters on the same semaphore (sema known). */
struct sudog_at {
	uint64_t addr;
	uint64_t sema;
	bool node;
};

/*
 * Reads the n sudogs of at[] (SUDOG_READ bytes each, into buf) from the
 * target now, in as few process_vm_readv calls as there are unreadable
 * ones plus one: a call reads whole iovecs up to the first that fails
 * (process_vm_readv(2)), which is marked in ok[] and skipped.
 */
static void read_sudogs(int pid, const struct sudog_at *at, size_t n, unsigned char *buf,
			bool *ok)
{
	struct iovec local[SUDOG_BATCH], remote[SUDOG_BATCH];

	for (size_t i = 0; i < n; i++) {
		local[i] = (struct iovec){ buf + i * SUDOG_READ, SUDOG_READ };
		remote[i] = (struct iovec){ (void *)(uintptr_t)at[i].addr, SUDOG_READ };
		ok[i] = false;
	}
	for (size_t from = 0; from < n;) {
		ssize_t got = process_vm_readv(pid, local + from, (unsigned long)(n - from),
					       remote + from, (unsigned long)(n - from), 0);
		size_t whole = got > 0 ? (size_t)got / SUDOG_READ : 0;
		for (size_t i = 0; i < whole; i++)
			ok[from + i] = true;
		from += whole + 1;	/* past the one that failed */
	}
}

/*
 * The sudogs of runtime.semtable: every waiter and its semaphore.  The
 * treaps and the lists of waiters are walked breadth first, all their
 * frontiers at once, SUDOG_BATCH sudogs a read: a million goroutines on
 * 64 mutexes are 64 lists of 2,000, read in 2,000 calls, not 125,000.
 * Bounds: MAX_NODES sudogs read, TODO_MAX waiting to be.
 */
static int read_semas(const struct go_runtime *rt, struct memory *mem, struct go_waits *w)
{
	const struct go_layout *l = &rt->lay;
	struct sudog_at *todo = malloc(TODO_MAX * sizeof(*todo));
	unsigned char *buf = malloc(SUDOG_BATCH * SUDOG_READ);
	bool ok[SUDOG_BATCH];
	struct sudog_at batch[SUDOG_BATCH];
	size_t ntodo = 0, visited = 0;
	int pid = memory_pid(mem), rc = 0;

	if (!todo || !buf) {
		free(todo);
		free(buf);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < GO_SEMTAB_ROOTS; i++) {
		uint64_t root;
		if (memory_read(mem, rt->semtable + (uint64_t)i * GO_SEMROOT_SIZE + l->semroot_treap,
				&root, 8) == 0 && root)
			todo[ntodo++] = (struct sudog_at){ root, 0, true };
	}
	while (ntodo && visited < MAX_NODES && rc == 0) {
		size_t n = ntodo < SUDOG_BATCH ? ntodo : SUDOG_BATCH;
		if (n > MAX_NODES - visited)
			n = MAX_NODES - visited;
		ntodo -= n;
		memcpy(batch, todo + ntodo, n * sizeof(*batch));
		size_t aligned = 0;	/* an unaligned one is no sudog */
		for (size_t i = 0; i < n; i++)
			if (!(batch[i].addr & 7))
				batch[aligned++] = batch[i];
		n = aligned;
		read_sudogs(pid, batch, n, buf, ok);
		for (size_t i = 0; i < n && rc == 0; i++) {
			const unsigned char *s = buf + i * SUDOG_READ;
			uint64_t sema = batch[i].sema;
			if (!ok[i])
				continue;
			visited++;
			if (batch[i].node) {
				/* its children in the treap */
				uint64_t kids[2] = { u64(s + l->sudog_prev), u64(s + l->sudog_next) };
				for (int k = 0; k < 2; k++)
					if (kids[k] && ntodo < TODO_MAX)
						todo[ntodo++] = (struct sudog_at){ kids[k], 0, true };
				/* it and those waiting on the same semaphore;
				 * elem is two words from 1.26, the pointer in
				 * one of them */
				sema = u64(s + l->sudog_elem);
				if (!sema && l->sudog_waitlink >= l->sudog_elem + 16)
					sema = u64(s + l->sudog_elem + 8);
			}
			uint64_t g = u64(s + l->sudog_g), next = u64(s + l->sudog_waitlink);
			if (g && !(g & 7)) {
				struct entry *e = add(w, g);
				if (!e)
					rc = -ENOMEM;
				else
					e->on.sema = sema;
			}
			if (next && ntodo < TODO_MAX)
				todo[ntodo++] = (struct sudog_at){ next, sema, false };
		}
	}
	free(buf);
	free(todo);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->g < y->g ? -1 : x->g > y->g;
}

struct go_waits *go_waits_read(const struct go_runtime *rt, struct memory *mem, bool fds,
			       bool semas)
{
	struct go_waits *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if ((fds && read_pollers(rt, mem, w) < 0) ||
	    (semas && rt->semtable && read_semas(rt, mem, w) < 0)) {
		go_waits_free(w);
		return NULL;
	}
	if (w->n)
		qsort(w->e, w->n, sizeof(*w->e), cmp_entry);
	return w;
}

bool go_waits_find(const struct go_waits *w, uint64_t g_addr, struct go_wait_on *out)
{
	struct entry key = { .g = g_addr };
	const struct entry *e = w && w->n ? bsearch(&key, w->e, w->n, sizeof(*w->e), cmp_entry) : NULL;

	if (!e)
		return false;
	/* a g both in a poller and on a semaphore: one of them is stale */
	*out = e->on;
	return true;
}

void go_waits_free(struct go_waits *w)
{
	if (!w)
		return;
	free(w->e);
	free(w);
}
