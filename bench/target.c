/*
 * bench/target: the process bench/run.sh points threadleak, eu-stack and gdb
 * at.  It looks like a server that has leaked N threads:
 *
 *	45% of N   blocked on one condition variable	(bench_condvar)
 *	45% of N   blocked in read() on a pipe nobody writes	(bench_pipe)
 *	the rest   asleep in a one-hour nanosleep		(bench_sleep)
 *	2	   spinning in pure user code, at nice 19 so that on a small
 *		   machine they do not take the CPU from the tool measured
 *		   (none with "idle")					(bench_spin)
 *	16	   in epoll_wait on an epoll fd with nothing ready, counting
 *		   every EINTR they get and going straight back	(bench_epoll)
 *	1	   the signal thread, in sigwait for SIGUSR1
 *	1	   the main thread, in pthread_join once ready
 *
 *	usage: target N [idle]
 *
 * With "idle" it starts no spinners, so that once ready every thread is
 * blocked and the target itself uses no CPU (for measuring the CPU a tool
 * uses while it watches, as `threadleak top` does).
 *
 * Once every thread but the spinners is in state S and has not run for a
 * while (its schedstat run count is steady), it prints one line
 *
 *	ready spin TID TID signal TID
 *	ready spin - - signal TID		(idle: no spinners)
 *
 * naming the threads the benchmark leaves out of its "disturbed" count; the
 * line always has six words.
 * On SIGUSR1 it writes the number of EINTRs the epoll threads have seen to
 * the file named by $BENCH_EINTR_FILE (written to FILE.tmp, then renamed, so
 * the file appears whole).  SIGUSR1 is blocked in every thread and taken by
 * the signal thread with sigwait, so no blocked thread ever runs a handler.
 *
 * Threads get 64 KiB stacks so that 10,000 of them fit.  Each pipe thread has
 * its own pipe while the open-file limit allows, then they share.
 * alarm(3600) ends a forgotten target.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "../testdata/testdata.h"

#define STACK_SIZE (64 * 1024)
#define NSPIN 2
#define NEPOLL 16
#define READY_TIMEOUT_S 120

enum kind { K_CONDVAR, K_PIPE, K_SLEEP, K_SPIN, K_EPOLL };

static const char *const kind_name[] = {
	[K_CONDVAR] = "bench-condvar",
	[K_PIPE] = "bench-pipe",
	[K_SLEEP] = "bench-sleep",
	[K_SPIN] = "bench-spin",
	[K_EPOLL] = "bench-epoll",
};

struct worker {
	enum kind kind;
	int fd;			/* K_PIPE: read end; K_EPOLL: epoll fd */
	_Atomic pid_t tid;
};

static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cv_flag;			/* never set */
static atomic_ulong eintr_count;
static volatile unsigned long spins;
static _Atomic pid_t signal_tid;

static void die(const char *what)
{
	fprintf(stderr, "target: %s: %s\n", what, strerror(errno));
	exit(1);
}

NOINLINE void bench_condvar(void)
{
	pthread_mutex_lock(&cv_lock);
	while (!cv_flag) {
		pthread_cond_wait(&cv, &cv_lock);
		BARRIER();
	}
	pthread_mutex_unlock(&cv_lock);
}

NOINLINE void bench_pipe(int fd)
{
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		BARRIER();
		if (n == 0)
			break;
	}
}

NOINLINE void bench_sleep(void)
{
	for (;;) {
		struct timespec ts = { .tv_sec = 3600, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
		BARRIER();
	}
}

NOINLINE void bench_spin(void)
{
	for (;;)
		spins++;
}

NOINLINE void bench_epoll(int epfd)
{
	struct epoll_event ev;

	for (;;) {
		int n = epoll_wait(epfd, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			atomic_fetch_add(&eintr_count, 1);
		BARRIER();
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	pthread_setname_np(pthread_self(), kind_name[w->kind]);
	switch (w->kind) {
	case K_CONDVAR:
		bench_condvar();
		break;
	case K_PIPE:
		bench_pipe(w->fd);
		break;
	case K_SLEEP:
		bench_sleep();
		break;
	case K_SPIN:
		/* nice 19: spin, but leave the CPU to the tool being measured */
		setpriority(PRIO_PROCESS, (id_t)atomic_load(&w->tid), 19);
		bench_spin();
		break;
	case K_EPOLL:
		bench_epoll(w->fd);
		break;
	}
	BARRIER();
	return NULL;
}

static void write_eintr_file(void)
{
	const char *path = getenv("BENCH_EINTR_FILE");
	char tmp[4096];
	FILE *f;

	if (!path || !*path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lu\n", atomic_load(&eintr_count));
	if (fclose(f) == 0)
		rename(tmp, path);
}

static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	atomic_store(&signal_tid, (pid_t)syscall(SYS_gettid));
	pthread_setname_np(pthread_self(), "bench-signal");
	for (;;) {
		if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
			write_eintr_file();
	}
	return NULL;
}

/* State letter and run count (3rd field of schedstat) of one task. */
static int task_info(pid_t tid, char *state, unsigned long long *runs)
{
	char path[128], buf[512], *p;
	unsigned long long a, b;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	*state = p[2];

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu %llu", &a, &b, runs) != 3)
		return -1;
	return 0;
}

static int excluded(pid_t tid, const pid_t *skip, int nskip)
{
	for (int i = 0; i < nskip; i++)
		if (skip[i] == tid)
			return 1;
	return 0;
}

/*
 * Settled: every thread but those in skip is in S, and no run count changed
 * since the previous call.  prev is indexed by tid (pid_max entries).
 */
static int settled(const pid_t *skip, int nskip, unsigned long long *prev,
		   size_t nprev, int *nthreads, int *why_state)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int ok = 1, count = 0;

	if (!d)
		die("/proc/self/task");
	*why_state = 0;
	while ((de = readdir(d))) {
		unsigned long long runs;
		char state;
		pid_t tid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		tid = (pid_t)atoi(de->d_name);
		count++;
		if (excluded(tid, skip, nskip))
			continue;
		if (task_info(tid, &state, &runs) < 0) {
			ok = 0;
			continue;
		}
		if (state != 'S') {
			ok = 0;
			(*why_state)++;
		}
		if ((size_t)tid < nprev) {
			if (prev[tid] != runs)
				ok = 0;
			prev[tid] = runs;
		}
	}
	closedir(d);
	*nthreads = count;
	return ok;
}

static void start_thread(pthread_attr_t *attr, struct worker *w)
{
	pthread_t t;
	int err = pthread_create(&t, attr, worker_main, w);

	if (err) {
		errno = err;
		die("pthread_create");
	}
}

int main(int argc, char **argv)
{
	int n, ncond, npipe, nsleep, npipes, pfd[2], epfd, err, nthreads = 0, bad = 0;
	int nspin = NSPIN;
	struct worker *workers, *w;
	pthread_attr_t attr;
	pthread_t sig_thread;
	struct epoll_event ev;
	struct rlimit rl;
	sigset_t set;
	pid_t skip[NSPIN + 2];
	int nskip = 0, *pipe_fds;
	unsigned long long *prev;
	size_t nprev = 1 << 22;
	time_t deadline;

	if (argc == 3 && !strcmp(argv[2], "idle"))
		nspin = 0;
	if (argc < 2 || argc > 3 || (argc == 3 && nspin) ||
	    (n = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: target N [idle]\n");
		return 2;
	}
	alarm(3600);
	ncond = n * 45 / 100;
	npipe = n * 45 / 100;
	nsleep = n - ncond - npipe;

	/* Every thread inherits this mask: SIGUSR1 goes to sigwait only. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (err) {
		errno = err;
		die("pthread_sigmask");
	}

	/* One pipe per pipe thread while the open-file limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	npipes = npipe;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)npipes * 2 + 64 > rl.rlim_cur)
		npipes = (int)((rl.rlim_cur - 64) / 2);
	if (npipes < 1)
		npipes = 1;
	pipe_fds = calloc((size_t)npipes, sizeof(*pipe_fds));
	workers = calloc((size_t)n + NSPIN + NEPOLL, sizeof(*workers));
	prev = calloc(nprev, sizeof(*prev));
	if (!pipe_fds || !workers || !prev)
		die("calloc");
	for (int i = 0; i < npipes; i++) {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			die("pipe2");
		pipe_fds[i] = pfd[0];	/* pfd[1] stays open: read never ends */
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = pfd[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, pfd[0], &ev) < 0)
		die("epoll_ctl");

	pthread_attr_init(&attr);
	if ((err = pthread_attr_setstacksize(&attr, STACK_SIZE))) {
		errno = err;
		die("pthread_attr_setstacksize");
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

	err = pthread_create(&sig_thread, NULL, signal_main, &set);
	if (err) {
		errno = err;
		die("pthread_create");
	}

	w = workers;
	for (int i = 0; i < n; i++, w++) {
		w->kind = i < ncond ? K_CONDVAR : i < ncond + npipe ? K_PIPE : K_SLEEP;
		if (w->kind == K_PIPE)
			w->fd = pipe_fds[(i - ncond) % npipes];
		start_thread(&attr, w);
	}
	for (int i = 0; i < NEPOLL; i++, w++) {
		w->kind = K_EPOLL;
		w->fd = epfd;
		start_thread(&attr, w);
	}
	for (int i = 0; i < nspin; i++, w++) {
		w->kind = K_SPIN;
		start_thread(&attr, w);
	}

	/* Wait for every tid, then for every thread to sit still in S. */
	deadline = time(NULL) + READY_TIMEOUT_S;
	for (int i = 0; i < n + nspin + NEPOLL; i++)
		while (!atomic_load(&workers[i].tid)) {
			if (time(NULL) > deadline)
				goto timeout;
			usleep(1000);
		}
	while (!atomic_load(&signal_tid))
		usleep(1000);
	for (int i = n + NEPOLL; i < n + NEPOLL + nspin; i++)
		skip[nskip++] = atomic_load(&workers[i].tid);
	skip[nskip++] = (pid_t)syscall(SYS_gettid);	/* main, polling now */
	for (int stable = 0; stable < 3;) {
		if (settled(skip, nskip, prev, nprev, &nthreads, &bad))
			stable++;
		else
			stable = 0;
		if (time(NULL) > deadline)
			goto timeout;
		usleep(100 * 1000);
	}
	fprintf(stderr, "target: %d threads: %d condvar, %d pipe (%d pipes), "
		"%d sleep, %d epoll, %d spin, signal, main\n", nthreads, ncond,
		npipe, npipes, nsleep, NEPOLL, nspin);
	printf("ready spin");
	for (int i = 0; i < NSPIN; i++)
		if (i < nspin)
			printf(" %d", (int)skip[i]);
		else
			printf(" -");
	printf(" signal %d\n", (int)atomic_load(&signal_tid));
	fflush(stdout);
	free(prev);
	pthread_join(sig_thread, NULL);
	return 0;

timeout:
	fprintf(stderr, "target: threads not all blocked after %d s "
		"(%d not in S)\n", READY_TIMEOUT_S, bad);
	return 1;
}
