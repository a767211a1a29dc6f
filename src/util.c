/*
 * util: small file reading, array growth, a parallel loop; see util.h.
 */
#include "util.h"

#include <errno.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
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

	if (fd < 0)
		return -errno;
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
};

static void *parallel_worker(void *p)
{
	struct parallel *par = p;
	size_t i;

	while ((i = atomic_fetch_add(&par->next, 1)) < par->n)
		par->fn(par->arg, i);
	return NULL;
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
	int started = 0;

	atomic_init(&par.next, 0);
	if (jobs <= 0)
		jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs > 64)
		jobs = 64;
	/* Small batches are not worth a thread start. */
	if ((size_t)jobs > n / 64 + 1)
		jobs = (int)(n / 64 + 1);
	for (int k = 1; k < jobs; k++)
		if (pthread_create(&tids[started], NULL, parallel_worker, &par) == 0)
			started++;
	parallel_worker(&par);
	for (int k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
}
