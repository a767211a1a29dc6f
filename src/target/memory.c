/*
 * memory: process_vm_readv behind a page cache; see memory.h.
 *
 * The cache is an open-addressing table of MEM_SLOTS page entries keyed by
 * page address; page data lives in one arena.  When the table is more than
 * three quarters full (unreadable pages count: they take slots too) it is
 * emptied: simple, bounded (6 MiB), and
 * the unwinder's working set (the current thread's stack pages plus the
 * unwind tables) refills it quickly.  A slot counts only if it carries the
 * current generation, so emptying is a counter increment, not a 32 KiB
 * clear (check empties it at every thread creation).
 */
#include "target/memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE MEM_PAGE
#define MEM_SLOTS 2048u		/* power of two */
#define MEM_MAX_PAGES (MEM_SLOTS * 3 / 4)

struct slot {
	uint64_t page;		/* page address + 1; 0 means empty */
	int32_t data;		/* index into arena, -1 unreadable */
	uint32_t gen;		/* empty unless it is the memory's gen */
};

struct memory {
	int pid;
	uint32_t gen;
	size_t used;		/* arena pages in use */
	size_t filled;		/* slots in use, unreadable pages too: the
				   table must never fill, or a lookup would
				   probe for ever */
	struct slot slots[MEM_SLOTS];
	unsigned char *arena;	/* MEM_MAX_PAGES pages */
	uint64_t fetches, reads;
};

struct memory *memory_open(int pid)
{
	struct memory *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->arena = malloc((size_t)MEM_MAX_PAGES * PAGE);
	if (!m->arena) {
		free(m);
		return NULL;
	}
	m->pid = pid;
	m->gen = 1;
	return m;
}

void memory_close(struct memory *m)
{
	if (!m)
		return;
	free(m->arena);
	free(m);
}

int memory_pid(const struct memory *m)
{
	return m->pid;
}

int memory_read_now(struct memory *m, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(m->pid, &local, 1, &remote, 1, 0) == (ssize_t)len ?
	       0 : -EFAULT;
}

void memory_reset(struct memory *m)
{
	if (++m->gen == 0) {	/* wrapped: old slots could look current */
		memset(m->slots, 0, sizeof(m->slots));
		m->gen = 1;
	}
	m->used = 0;
	m->filled = 0;
}

static inline size_t slot_hash(uint64_t page)
{
	return (size_t)((page / PAGE) * 0x9E3779B97F4A7C15ull >> 40) & (MEM_SLOTS - 1);
}

/* The slot of page, or the empty slot where it would go. */
static struct slot *find_slot(struct memory *m, uint64_t page)
{
	for (size_t i = slot_hash(page);; i = (i + 1) & (MEM_SLOTS - 1)) {
		struct slot *s = &m->slots[i];
		if (s->gen != m->gen || s->page == page + 1)
			return s;
	}
}

/* Records page as unreadable (data < 0) or as the next arena page. */
static void fill_slot(struct memory *m, struct slot *s, uint64_t page, bool readable)
{
	if (s->gen != m->gen)
		m->filled++;
	s->page = page + 1;
	s->gen = m->gen;
	s->data = readable ? (int32_t)m->used++ : -1;
}

/* Returns the cached page (NULL if unreadable). */
static const unsigned char *get_page(struct memory *m, uint64_t page)
{
	struct slot *s = find_slot(m, page);

	if (s->gen == m->gen)
		return s->data < 0 ? NULL : m->arena + (size_t)s->data * PAGE;
	if (m->used >= MEM_MAX_PAGES || m->filled >= MEM_MAX_PAGES) {
		memory_reset(m);
		s = find_slot(m, page);
	}
	unsigned char *dst = m->arena + m->used * PAGE;
	struct iovec local = { dst, PAGE };
	struct iovec remote = { (void *)(uintptr_t)page, PAGE };
	ssize_t n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
	m->fetches++;
	fill_slot(m, s, page, n == (ssize_t)PAGE);
	return n == (ssize_t)PAGE ? dst : NULL;
}

long memory_copy_pages(int pid, uint64_t addr, size_t len, void *buf)
{
	uint64_t page = addr & ~(uint64_t)(PAGE - 1);
	size_t n = (size_t)((addr + len - page + PAGE - 1) / PAGE);

	if (n > MEM_COPY_PAGES)
		n = MEM_COPY_PAGES;
	/* One iovec per page: the call stops at the first page it cannot
	 * read and returns what it read before. */
	struct iovec local[MEM_COPY_PAGES], remote[MEM_COPY_PAGES];
	for (size_t i = 0; i < n; i++) {
		local[i] = (struct iovec){ (unsigned char *)buf + i * PAGE, PAGE };
		remote[i] = (struct iovec){ (void *)(uintptr_t)(page + i * PAGE), PAGE };
	}
	ssize_t got = process_vm_readv(pid, local, (unsigned long)n, remote,
				       (unsigned long)n, 0);
	if (got < 0)
		return -errno;
	return (long)(got / PAGE * PAGE);
}

void memory_install(struct memory *m, uint64_t addr, const void *buf, size_t len)
{
	uint64_t page = addr & ~(uint64_t)(PAGE - 1);

	if (m->used + len / PAGE > MEM_MAX_PAGES || m->filled + len / PAGE > MEM_MAX_PAGES)
		memory_reset(m);
	for (size_t off = 0; off + PAGE <= len; off += PAGE) {
		struct slot *s = find_slot(m, page + off);
		if (s->gen != m->gen || s->data < 0)
			fill_slot(m, s, page + off, true);
		memcpy(m->arena + (size_t)s->data * PAGE,
		       (const unsigned char *)buf + off, PAGE);
	}
}

int memory_read(struct memory *m, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;

	m->reads++;
	while (len) {
		uint64_t page = addr & ~(uint64_t)(PAGE - 1);
		size_t off = (size_t)(addr - page);
		size_t n = PAGE - off < len ? PAGE - off : len;
		const unsigned char *p = get_page(m, page);
		if (!p)
			return -EFAULT;
		memcpy(out, p + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

void memory_stats(const struct memory *m, uint64_t *fetches, uint64_t *reads)
{
	*fetches = m->fetches;
	*reads = m->reads;
}
