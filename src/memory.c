/*
 * memory: process_vm_readv behind a page cache; see memory.h.
 *
 * The cache is an open-addressing table of MEM_SLOTS page entries keyed by
 * page address; page data lives in one arena.  When the table is more than
 * three quarters full it is emptied: simple, bounded (6 MiB), and
 * the unwinder's working set (the current thread's stack pages plus the
 * unwind tables) refills it quickly.
 */
#include "memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE 4096u
#define MEM_SLOTS 2048u		/* power of two */
#define MEM_MAX_PAGES (MEM_SLOTS * 3 / 4)

struct slot {
	uint64_t page;		/* page address + 1; 0 means empty */
	int32_t data;		/* index into arena, -1 unreadable */
};

struct memory {
	int pid;
	size_t used;
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
	return m;
}

void memory_close(struct memory *m)
{
	if (!m)
		return;
	free(m->arena);
	free(m);
}

void memory_reset(struct memory *m)
{
	memset(m->slots, 0, sizeof(m->slots));
	m->used = 0;
}

static inline size_t slot_hash(uint64_t page)
{
	return (size_t)((page / PAGE) * 0x9E3779B97F4A7C15ull >> 40) & (MEM_SLOTS - 1);
}

/* Returns the cached page (NULL if unreadable). */
static const unsigned char *get_page(struct memory *m, uint64_t page)
{
	size_t i = slot_hash(page);

	for (;;) {
		struct slot *s = &m->slots[i];
		if (s->page == page + 1)
			return s->data < 0 ? NULL : m->arena + (size_t)s->data * PAGE;
		if (s->page == 0)
			break;
		i = (i + 1) & (MEM_SLOTS - 1);
	}
	if (m->used >= MEM_MAX_PAGES) {
		memory_reset(m);
		i = slot_hash(page);
	}
	unsigned char *dst = m->arena + m->used * PAGE;
	struct iovec local = { dst, PAGE };
	struct iovec remote = { (void *)(uintptr_t)page, PAGE };
	ssize_t n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
	struct slot *s = &m->slots[i];
	m->fetches++;
	s->page = page + 1;
	if (n != (ssize_t)PAGE) {
		s->data = -1;
		return NULL;
	}
	s->data = (int32_t)m->used++;
	return dst;
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
