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
/* The pid it reads. */
int memory_pid(const struct memory *m);
void memory_reset(struct memory *m);
/* Reads len bytes at addr into buf.  0, or -EFAULT when any is unreadable. */
int memory_read(struct memory *m, uint64_t addr, void *buf, size_t len);
/* The same, from the target now, past the cache: to see whether what was
 * read has changed since (a goroutine that ran meanwhile). */
int memory_read_now(struct memory *m, uint64_t addr, void *buf, size_t len);
/*
 * A copy of the target's memory taken at one moment, for an unwind done
 * later while the target runs on: check copies a creating thread's stack
 * while it waits, lets it go on, and unwinds the copy on another thread.
 * memory_copy_pages() reads the pages covering len bytes at addr (at most
 * MEM_COPY_PAGES) into buf, stopping at the first unreadable page, and
 * returns the bytes copied (whole pages, from addr's page) or -errno.  It
 * needs no handle.  memory_install() puts such a copy in m's cache, where
 * later reads find it.
 */
#define MEM_PAGE 4096u
#define MEM_COPY_PAGES 8
long memory_copy_pages(int pid, uint64_t addr, size_t len, void *buf);
void memory_install(struct memory *m, uint64_t addr, const void *buf, size_t len);
/* Statistics for the benchmark: pages fetched, reads served. */
void memory_stats(const struct memory *m, uint64_t *fetches, uint64_t *reads);

#endif
