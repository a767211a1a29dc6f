/*
 * bench/snapshot-floor: the least a stop-free snapshot can cost in the
 * kernel, as the anchor of `threadleak snapshot` in bench/run.sh.
 *
 *	snapshot-floor PID [FILE...]
 *	snapshot-floor -v PID
 *
 * Lists PID's threads, then for every thread opens, reads (one read of up
 * to 4 KiB) and closes each FILE of /proc/PID/task/TID/, relative to one
 * descriptor of the task directory, on as many threads of its own as there
 * are CPUs, each taking the next thread from a shared counter.  Nothing
 * else: no stacks, no parsing, no output but a count and the time.
 *
 * The default FILEs are those whose contents a snapshot of every thread
 * reports and that nothing else gives: schedstat (whether the thread ran
 * while it was read), stat (state, name, start time, CPU times), syscall
 * (the system call, its arguments, sp and pc to unwind from) and sched
 * (when it last ran: how long it has waited).  Prints
 * "THREADS threads FILES files MS ms".
 *
 * With -v, what a stop-free capture of a thread cannot do without
 * besides: schedstat kept open and read first, the four files, the page
 * of the stack at the sp its syscall line gives (process_vm_readv), and
 * schedstat read again (it did not run: the page is of one moment), then
 * closed.  Prints "THREADS threads FILES files MS ms (validated)".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

static int taskfd, *tids, ntids, next_index, pid, validated;
static const char **files;
static int nfiles;

/* -v: one thread as a stop-free capture must read it */
static long validate(int tid, char *buf, size_t size)
{
	static const char *files4[] = { "stat", "syscall", "sched" };
	char path[64], page[4096];
	unsigned long long sp = 0;
	long reads = 0;

	snprintf(path, sizeof(path), "%d/schedstat", tid);
	int sfd = openat(taskfd, path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return 0;
	reads += pread(sfd, buf, size, 0) > 0;
	for (int f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%d/%s", tid, files4[f]);
		int fd = openat(taskfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, size - 1);
		close(fd);
		if (n <= 0)
			continue;
		reads++;
		buf[n] = '\0';
		/* "nr a1 a2 a3 a4 a5 a6 sp pc" */
		if (f == 1 && buf[0] >= '0' && buf[0] <= '9')
			sscanf(buf, "%*s %*s %*s %*s %*s %*s %*s %llx", &sp);
	}
	if (sp) {
		struct iovec local = { page, sizeof(page) };
		struct iovec remote = { (void *)(uintptr_t)(sp & ~4095ull), sizeof(page) };
		reads += process_vm_readv(pid, &local, 1, &remote, 1, 0) > 0;
	}
	reads += pread(sfd, buf, size, 0) > 0;
	close(sfd);
	return reads;
}

static void *worker(void *arg __attribute__((unused)))
{
	char path[64], buf[4096];
	long reads = 0;

	for (;;) {
		int i = __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED);
		if (i >= ntids)
			break;
		if (validated) {
			reads += validate(tids[i], buf, sizeof(buf));
			continue;
		}
		for (int f = 0; f < nfiles; f++) {
			snprintf(path, sizeof(path), "%d/%s", tids[i], files[f]);
			int fd = openat(taskfd, path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			reads += read(fd, buf, sizeof(buf)) > 0;
			close(fd);
		}
	}
	return (void *)reads;
}

int main(int argc, char **argv)
{
	static const char *defaults[] = { "schedstat", "stat", "syscall", "sched" };
	struct timespec t0, t1;
	char path[64];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), reads = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		validated = 1;
		argv++;
		argc = 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: snapshot-floor PID [FILE...] | -v PID\n");
		return 64;
	}
	pid = atoi(argv[1]);
	files = argc > 2 ? (const char **)argv + 2 : defaults;
	nfiles = argc > 2 ? argc - 2 : 4;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(path, sizeof(path), "/proc/%s/task", argv[1]);
	taskfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = taskfd < 0 ? NULL : fdopendir(dup(taskfd));
	if (!d) {
		perror(path);
		return 2;
	}
	struct dirent *e;
	int cap = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (ntids == cap) {
			cap = cap ? 2 * cap : 1024;
			tids = realloc(tids, (size_t)cap * sizeof(*tids));
			if (!tids)
				return 2;
		}
		tids[ntids++] = atoi(e->d_name);
	}
	closedir(d);
	if (ncpu < 1)
		ncpu = 1;
	pthread_t th[256];
	int n = ncpu > 256 ? 256 : (int)ncpu;
	for (int i = 1; i < n; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	reads += (long)worker(NULL);
	for (int i = 1; i < n; i++) {
		void *r;
		pthread_join(th[i], &r);
		reads += (long)r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%d threads %d files %.1f ms (%ld reads%s)\n", ntids, nfiles,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, reads,
	       validated ? ", validated" : "");
	return 0;
}
