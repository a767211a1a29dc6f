/*
 * memory: reads of the target's memory with process_vm_readv, through a
 * cache of whole pages.
 *
 * Unwinders read eight bytes at a time, mostly from a few stack pages and
 * from .eh_frame; fetching each page once turns thousands of syscalls into
 * a handful.  Unreadable pages are cached as such.  The cache is bounded
 * (it is emptied when full) and memory_reset() drops it when the target
 * may have run since (the next capture).  The caller owns the handle.
 */
#ifndef THREADLEAK_MEMORY_H
#define THREADLEAK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct memory;

struct memory *memory_open(int pid);
void memory_close(struct memory *m);
void memory_reset(struct memory *m);
/* Reads len bytes at addr into buf.  0, or -EFAULT when any is unreadable. */
int memory_read(struct memory *m, uint64_t addr, void *buf, size_t len);
/*
 * Fetches the pages covering len bytes at addr (at most MEM_PREFETCH_PAGES)
 * in one call, so that later reads see them as they are now even if the
 * target runs on: check copies a creating thread's stack this way before
 * letting it go on, and unwinds it afterwards.  Stops at the first
 * unreadable page.  0 or -errno.
 */
#define MEM_PREFETCH_PAGES 8
int memory_prefetch(struct memory *m, uint64_t addr, size_t len);
/* Statistics for the benchmark: pages fetched, reads served. */
void memory_stats(const struct memory *m, uint64_t *fetches, uint64_t *reads);

#endif
