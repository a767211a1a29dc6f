/*
 * util: the few generic helpers every module needs: reading a small file
 * whole, and growing arrays.  Nothing here knows about threads.
 */
#ifndef THREADLEAK_UTIL_H
#define THREADLEAK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Reads the whole of a small /proc file into buf, NUL-terminated.
 * Returns the length read or -errno.  A short read is taken as the end
 * (true of /proc's small files, not of pipes).
 */
long read_file_buf(const char *path, char *buf, size_t size);
/* Same for a file relative to a directory fd. */
long read_file_at(int dirfd, const char *path, char *buf, size_t size);

/*
 * Grows *array (of elements of size elem) so that it holds at least
 * want elements; *cap is updated.  Returns 0 or -ENOMEM.
 */
int grow_array(void *array, size_t *cap, size_t want, size_t elem);
/*
 * Gives the kernel back the pages wholly inside [p, p + len) of a large
 * allocation whose bytes there will not be read again (the part of an
 * array already consumed): they stop counting in our RSS until touched,
 * and read as zeroes then.  The allocation is still freed as usual.
 */
void release_pages(void *p, size_t len);

/*
 * In an array of n elements of size elem, sorted by a uint64_t key that
 * is each element's first member: how many have key <= x (the index of
 * the first one above x).
 */
size_t count_keys_upto(const void *base, size_t n, size_t elem, uint64_t x);

/* Monotonic clock in seconds / milliseconds. */
double now_sec(void);
/* CPU time this process has used (user + system, all threads), seconds. */
double cpu_sec(void);

/*
 * Calls fn(arg, i) for every i in [0, n) on up to jobs threads (0: one per
 * CPU), the calling thread among them.  fn must only touch item i.
 */
void run_parallel(size_t n, int jobs, void (*fn)(void *arg, size_t i), void *arg);
/*
 * The same, and a pipeline behind it: then(then_arg, k) is called on the
 * calling thread for k = 0, 1, ... in order, each as soon as fn(arg, k)
 * has returned, while the other threads go on with the next items (the
 * calling thread does items too while it waits).  then may touch what
 * fn(k) touched, nothing of items not yet done.  After a then that
 * returns < 0 no other is called; returns that, else 0 (-ENOMEM: nothing
 * was called).
 */
int run_parallel_then(size_t n, int jobs, void (*fn)(void *arg, size_t i), void *arg,
		      int (*then)(void *arg, size_t i), void *then_arg);

/*
 * Open addressing with linear probing, deletion by backward shift: after
 * slot hole is emptied, the entry at slot j of the same run stays where it
 * is when its home slot lies cyclically in (hole, j]; else it moves into
 * the hole, which moves to j.
 */
static inline bool probe_stays(size_t hole, size_t j, size_t home)
{
	return hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
}

/* Basename without modifying or allocating. */
const char *path_base(const char *path);

#endif
