/*
 * groups: threads in groups of known sizes that change, on request, in
 * known ways: the target for checking `threadleak diff` against counts
 * that come from the program itself, not from threadleak.
 *
 * Every group runs its own noinline thread function, blocked in its own
 * kind of wait, so that each group has one stack of its own:
 *
 *	alpha	grp_alpha()	condvar wait	2, then 5	(grew +3)
 *	beta	grp_beta()	read of a pipe	4, then 1	(shrank -3)
 *	gamma	grp_gamma()	nanosleep	3, then 3 others (churn)
 *	delta	grp_delta()	sem_wait	2, then 0	(vanished)
 *	epsilon	grp_epsilon()	mutex lock	0, then 4	(appeared)
 *	zeta	grp_zeta()	poll		3, then 3 the same (unchanged)
 *
 * and the main thread waits in main_wait() (sigwaitinfo) in both phases.
 * Each thread is named after its group.
 * Threads of beta, gamma and delta end by pthread_cancel and are joined;
 * the others never end.  At start (phase 1) and after each SIGUSR1 (the
 * next phase: phase 2, then nothing changes any more) the program prints,
 * line-buffered, once every thread it started is surely blocked (state S
 * in its expected system call, over three looks) and every thread it
 * ended has left /proc/self/task:
 *
 *	phase P
 *	member GROUP TID	one per live thread of the group (main: "main")
 *	count GROUP N		one per group, 0 included
 *	threads N		all threads of the process
 *	ready			(phase 1) or "ready P" (later phases)
 *
 * If anything goes wrong it says why on stderr and exits with status 3.
 * alarm(600) ends it in any case.  Build: gcc -g -O2 -Wall -Wextra -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "testdata.h"

#define MAX_MEMBERS 8
#define TIMEOUT_MS 60000

struct member {
	pthread_t thread;
	volatile pid_t tid;	/* set by the thread before it blocks */
	int live;
	int pipe[2];		/* beta: the pipe it reads */
};

struct group {
	const char *name;
	void *(*fn)(void *);
	const long *syscalls;	/* the blocking call, -1 ends */
	struct member m[MAX_MEMBERS];
};

static pthread_mutex_t alpha_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t alpha_cond = PTHREAD_COND_INITIALIZER;
static volatile int alpha_go;		/* never set */
static sem_t delta_sem;			/* never posted */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;	/* main holds it */
static int zeta_pipe[2];		/* never written */

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "groups: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

static void arm(struct member *m)
{
	__atomic_store_n(&m->tid, tl_gettid(), __ATOMIC_SEQ_CST);
}

NOINLINE void *grp_alpha(void *arg)
{
	pthread_mutex_lock(&alpha_lock);
	arm(arg);
	while (!alpha_go)
		pthread_cond_wait(&alpha_cond, &alpha_lock);
	BARRIER();
	pthread_mutex_unlock(&alpha_lock);
	return NULL;
}

NOINLINE void *grp_beta(void *arg)
{
	struct member *m = arg;
	char c;

	arm(m);
	while (read(m->pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	BARRIER();
	return NULL;
}

NOINLINE void *grp_gamma(void *arg)
{
	arm(arg);
	for (;;)
		sleep(3600);
	BARRIER();
	return NULL;
}

NOINLINE void *grp_delta(void *arg)
{
	arm(arg);
	while (sem_wait(&delta_sem) < 0 && errno == EINTR)
		;
	BARRIER();
	return NULL;
}

NOINLINE void *grp_epsilon(void *arg)
{
	arm(arg);
	pthread_mutex_lock(&held);
	BARRIER();
	pthread_mutex_unlock(&held);
	return NULL;
}

NOINLINE void *grp_zeta(void *arg)
{
	struct pollfd p = { .fd = zeta_pipe[0], .events = POLLIN };

	arm(arg);
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	BARRIER();
	return NULL;
}

static const long futex_calls[] = { SYS_futex, -1 };
static const long read_calls[] = { SYS_read, -1 };
static const long sleep_calls[] = {
#ifdef SYS_nanosleep
	SYS_nanosleep,
#endif
#ifdef SYS_clock_nanosleep
	SYS_clock_nanosleep,
#endif
	-1
};
static const long poll_calls[] = {
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_ppoll
	SYS_ppoll,
#endif
	-1
};

enum { ALPHA, BETA, GAMMA, DELTA, EPSILON, ZETA, NGROUPS };

static struct group groups[NGROUPS] = {
	[ALPHA] = { "alpha", grp_alpha, futex_calls, { { 0 } } },
	[BETA] = { "beta", grp_beta, read_calls, { { 0 } } },
	[GAMMA] = { "gamma", grp_gamma, sleep_calls, { { 0 } } },
	[DELTA] = { "delta", grp_delta, futex_calls, { { 0 } } },
	[EPSILON] = { "epsilon", grp_epsilon, futex_calls, { { 0 } } },
	[ZETA] = { "zeta", grp_zeta, poll_calls, { { 0 } } },
};

/* 1 when thread tid is in state S in one of syscalls. */
static int is_blocked(pid_t tid, const long *syscalls)
{
	char path[64], buf[200];
	const long *sc;
	long nr;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%ld", &nr) != 1)
		return 0;
	for (sc = syscalls; *sc >= 0 && *sc != nr; sc++)
		;
	return *sc >= 0 && tl_thread_state(tid) == 'S';
}

static void wait_blocked(struct group *g, struct member *m)
{
	long deadline = tl_now_ms() + TIMEOUT_MS;
	int good = 0;

	while (good < 3) {
		pid_t tid = __atomic_load_n(&m->tid, __ATOMIC_SEQ_CST);

		if (tl_now_ms() > deadline)
			die("a %s thread (tid %d) did not block within %d ms", g->name,
			    (int)tid, TIMEOUT_MS);
		good = tid && is_blocked(tid, g->syscalls) ? good + 1 : 0;
		tl_sleep_ms(1);
	}
}

/* Starts n more threads of group gi, each surely blocked on return. */
static void start(int gi, int n)
{
	struct group *g = &groups[gi];

	for (int i = 0; i < MAX_MEMBERS && n > 0; i++) {
		struct member *m = &g->m[i];
		int err;

		if (m->live)
			continue;
		memset(m, 0, sizeof(*m));
		if (gi == BETA && pipe(m->pipe) < 0)
			die("pipe: %s", strerror(errno));
		err = pthread_create(&m->thread, NULL, g->fn, m);
		if (err)
			die("pthread_create: %s", strerror(err));
		m->live = 1;
		pthread_setname_np(m->thread, g->name);
		wait_blocked(g, m);
		n--;
	}
	if (n)
		die("group %s is full", g->name);
}

/* Ends n threads of group gi (cancelled, joined, gone from /proc). */
static void end(int gi, int n)
{
	struct group *g = &groups[gi];

	for (int i = 0; i < MAX_MEMBERS && n > 0; i++) {
		struct member *m = &g->m[i];
		char path[64];
		long deadline = tl_now_ms() + TIMEOUT_MS;
		int err;

		if (!m->live)
			continue;
		err = pthread_cancel(m->thread);
		if (!err)
			err = pthread_join(m->thread, NULL);
		if (err)
			die("ending a %s thread: %s", g->name, strerror(err));
		m->live = 0;
		if (gi == BETA) {
			close(m->pipe[0]);
			close(m->pipe[1]);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d", (int)m->tid);
		while (access(path, F_OK) == 0) {
			if (tl_now_ms() > deadline)
				die("ended %s thread %d still in /proc", g->name, (int)m->tid);
			tl_sleep_ms(1);
		}
		n--;
	}
	if (n)
		die("group %s has too few threads to end", g->name);
}

static void report(int phase)
{
	int total = 1;

	printf("phase %d\n", phase);
	printf("member main %d\n", (int)getpid());
	for (int gi = 0; gi < NGROUPS; gi++) {
		int n = 0;

		for (int i = 0; i < MAX_MEMBERS; i++)
			if (groups[gi].m[i].live) {
				printf("member %s %d\n", groups[gi].name, (int)groups[gi].m[i].tid);
				n++;
			}
		printf("count %s %d\n", groups[gi].name, n);
		total += n;
	}
	printf("threads %d\n", total);
	if (phase == 1)
		printf("ready\n");
	else
		printf("ready %d\n", phase);
}

/* Waits for the next SIGUSR1 (blocked in every thread). */
NOINLINE void main_wait(const sigset_t *set)
{
	siginfo_t si;

	while (sigwaitinfo(set, &si) < 0)
		if (errno != EINTR)
			die("sigwaitinfo: %s", strerror(errno));
	BARRIER();
}

int main(void)
{
	sigset_t set;

	alarm(600);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("pthread_sigmask failed");
	if (sem_init(&delta_sem, 0, 0) < 0 || pipe(zeta_pipe) < 0)
		die("setup: %s", strerror(errno));
	pthread_mutex_lock(&held);

	start(ALPHA, 2);
	start(BETA, 4);
	start(GAMMA, 3);
	start(DELTA, 2);
	start(ZETA, 3);
	report(1);

	for (int phase = 2;; phase++) {
		main_wait(&set);
		if (phase == 2) {
			start(ALPHA, 3);
			end(BETA, 3);
			end(GAMMA, 3);
			start(GAMMA, 3);
			end(DELTA, 2);
			start(EPSILON, 4);
		}
		report(phase);
	}
}
