/*
 * bench/scan-floor: the least a refresh that looks at every thread can
 * cost, as an anchor for `threadleak top` in bench/run.sh.
 *
 *	scan-floor PID FRAMES
 *
 * Opens every thread's /proc/PID/task/TID/schedstat once and keeps it open
 * (as top does), then FRAMES times, one second apart, reads each again with
 * one pread, and nothing else: no listing, no stacks, no output but a
 * count.  Its CPU share over the run, measured like top's, is the cost of
 * a per-thread check alone on this machine.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rlimit rl;
	char path[64], buf[128];
	int *fds = NULL, n = 0, cap = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: scan-floor PID FRAMES\n");
		return 64;
	}
	int frames = atoi(argv[2]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(path, sizeof(path), "/proc/%s/task", argv[1]);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return 2;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/schedstat", e->d_name);
		int fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			fds = realloc(fds, (size_t)cap * sizeof(*fds));
			if (!fds)
				return 1;
		}
		fds[n++] = fd;
	}
	long reads = 0;
	for (int f = 0; f < frames; f++) {
		if (f)
			sleep(1);
		for (int i = 0; i < n; i++)
			reads += pread(fds[i], buf, sizeof(buf), 0) > 0;
	}
	printf("%d threads, %ld reads\n", n, reads);
	return 0;
}
