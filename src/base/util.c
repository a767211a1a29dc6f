/*
 * util: small file reading, array growth, a parallel loop; see util.h.
 */
#include "base/util.h"
#include "base/fdlimit.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

static long read_fd_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* /proc files hand over their whole (small) text in one read:
		 * a short read is the end, which saves a second read(2) per
		 * file, 20,000 of them for 10,000 threads. */
		if (len < size - 1)
			break;
	}
	buf[len] = '\0';
	close(fd);
	return (long)len;
}

long read_file_at(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fdlimit_note(errno);
		return -errno;
	}
	return read_fd_all(fd, buf, size);
}

long read_file_buf(const char *path, char *buf, size_t size)
{
	return read_file_at(AT_FDCWD, path, buf, size);
}

size_t count_keys_upto(const void *base, size_t n, size_t elem, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t key;
		memcpy(&key, (const char *)base + mid * elem, sizeof(key));
		if (key <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int grow_array(void *array, size_t *cap, size_t want, size_t elem)
{
	void **p = array;
	size_t ncap = *cap ? *cap : 8;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	void *n = realloc(*p, ncap * elem);
	if (!n)
		return -ENOMEM;
	memset((char *)n + *cap * elem, 0, (ncap - *cap) * elem);
	*p = n;
	*cap = ncap;
	return 0;
}

void release_pages(void *p, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p, end = start + len;

	if (page <= 0 || !p)
		return;
	start = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	end &= ~((uintptr_t)page - 1);
	/* only advice: a failure leaves the pages where they were */
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_DONTNEED);
}

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

struct parallel {
	size_t n;
	atomic_size_t next;
	void (*fn)(void *arg, size_t i);
	void *arg;
	atomic_uchar *done;	/* run_parallel_then: fn(i) has returned */
};

/* One item from the shared counter; false when none is left. */
static bool parallel_one(struct parallel *par)
{
	size_t i = atomic_fetch_add(&par->next, 1);

	if (i >= par->n)
		return false;
	par->fn(par->arg, i);
	if (par->done)
		atomic_store_explicit(&par->done[i], 1, memory_order_release);
	return true;
}

static void *parallel_worker(void *p)
{
	while (parallel_one(p))
		;
	return NULL;
}

static int start_workers(struct parallel *par, int jobs, pthread_t *tids)
{
	int started = 0;

	if (jobs <= 0)
		jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs > 64)
		jobs = 64;
	/* Small batches are not worth a thread start. */
	if ((size_t)jobs > par->n / 64 + 1)
		jobs = (int)(par->n / 64 + 1);
	for (int k = 1; k < jobs; k++)
		if (pthread_create(&tids[started], NULL, parallel_worker, par) == 0)
			started++;
	return started;
}

int run_parallel_then(size_t n, int jobs, void (*fn)(void *arg, size_t i), void *arg,
		      int (*then)(void *arg, size_t i), void *then_arg)
{
	struct parallel par = { .n = n, .fn = fn, .arg = arg };
	pthread_t tids[64];
	int started, rc = 0;

	atomic_init(&par.next, 0);
	par.done = calloc(n ? n : 1, sizeof(*par.done));
	if (!par.done)
		return -ENOMEM;
	started = start_workers(&par, jobs, tids);
	for (size_t k = 0; k < n; k++) {
		/* Not done yet: do one of those left meanwhile, or, when
		 * every one is taken, wait for the thread doing it. */
		while (!atomic_load_explicit(&par.done[k], memory_order_acquire))
			if (!parallel_one(&par))
				sched_yield();
		if (rc == 0)
			rc = then(then_arg, k);
	}
	for (int k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	free(par.done);
	return rc;
}

double cpu_sec(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void run_parallel(size_t n, int jobs, void (*fn)(void *arg, size_t i), void *arg)
{
	struct parallel par = { .n = n, .fn = fn, .arg = arg };
	pthread_t tids[64];
	int started;

	atomic_init(&par.next, 0);
	started = start_workers(&par, jobs, tids);
	parallel_worker(&par);
	for (int k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
}
