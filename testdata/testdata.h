/*
 * testdata.h: what every program that gets itself stuck needs: functions
 * that really appear on the stack (never inlined, cloned or tail-called),
 * a compiler barrier after a blocking call, and the few helpers the
 * programs that check their own threads' states share (static inline:
 * a program that does not use one does not get it).
 */
#ifndef THREADLEAK_TESTDATA_H
#define THREADLEAK_TESTDATA_H

/* noipa: no inlining, no cloning (.constprop/.isra), no identical-code
 * folding.  BARRIER keeps the call before it from being a tail call. */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline, used))
#else
#define NOINLINE __attribute__((noipa, noinline, used))
#endif
#define BARRIER() __asm__ volatile("" ::: "memory")

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline pid_t tl_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static inline long tl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void tl_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A small /proc file, NUL-terminated; 0 or -1. */
static inline int tl_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The state letter of one of our threads ('S', 'R', ...), '?' if unknown. */
static inline char tl_thread_state(pid_t tid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

#endif
