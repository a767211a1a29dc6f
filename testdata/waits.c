/*
 * waits: a target that gets one thread stuck in each kind of wait that
 * threadleak classifies, in the manner of strace's test programs.
 *
 * Every stuck thread runs its own noinline, noclone function with a
 * distinctive name, so that name must appear in the thread's stack.  Once a
 * thread is surely blocked (its /proc/self/task/TID/syscall shows the
 * expected system call, on the expected futex word where that is known,
 * and its state is 'S'), the main thread prints, line-buffered:
 *
 *	expect TID KIND FUNCTION	one per thread (main thread included)
 *	owner TID OWNER_TID		for mutex waiters: who holds that mutex
 *	group N FUNCTION		N identical threads (the condvar pool)
 *	ready
 *
 * and blocks itself in main_wait() (pause: kind "signal").  Should a
 * blocking call ever fail with EINTR (a tracer disturbed it: threadleak
 * must not), the thread writes "eintr TID FUNCTION" to stdout and blocks
 * again; the tests look for such lines.
 *
 * If anything goes wrong during setup the program says why on stderr and
 * exits with status 3 without printing "ready"; alarm(300) ends it in any
 * case.  Build: gcc -Wall -Wextra -g -O2 -pthread (and -O0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "testdata.h"

#define STUCK NOINLINE

#define POOL_SIZE 5
#define SETUP_TIMEOUT_MS 60000

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "waits: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

/* Reports a disturbed blocking call; async-signal-safe and lock-free. */
static void report_eintr(const char *function)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "eintr %d %s\n", (int)tl_gettid(),
			 function);

	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0) {
		/* nothing useful to do */
	}
}

/*
 * One record per stuck thread, filled by main before the thread starts
 * (what to expect) and by the thread (its tid, then "armed" just before
 * its blocking call).
 */
struct stuck {
	const char *kind;
	const char *function;
	void *(*fn)(void *);
	const long *syscalls;		/* acceptable syscall numbers, -1 ends */
	uintptr_t addr_lo, addr_hi;	/* futex word range, 0 = don't check */
	int running;			/* expected state R, not S */
	volatile pid_t tid;
	volatile int armed;
	pthread_t thread;
	struct stuck *owner;		/* mutex waiters: the owner's record */
	pid_t owner_tid;		/* or the owner's tid, when not a record */
};

static void arm(struct stuck *s)
{
	s->tid = tl_gettid();
	__atomic_store_n(&s->armed, 1, __ATOMIC_SEQ_CST);
}

/* ---- the objects threads get stuck on ---- */

static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static volatile int never;	/* the condition nobody ever makes true */
static sem_t sem;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t deadlock_barrier;
static int read_pipe[2], write_pipe[2], poll_pipe[2], select_pipe[2];
static int epoll_pipe[2];
static int sockpair[2];
static int epfd;
static int accept_fd;
static int connect_listen_fd;
static struct sockaddr_un connect_addr;
static socklen_t connect_addrlen;
static volatile unsigned long spin_counter;

/* ---- the stuck functions, one per wait kind ---- */

STUCK void *stuck_in_mutex(void *arg)
{
	arm(arg);
	pthread_mutex_lock(&held_mutex);	/* main holds it forever */
	BARRIER();
	pthread_mutex_unlock(&held_mutex);
	return NULL;
}

STUCK void *stuck_in_condvar(void *arg)
{
	pthread_mutex_lock(&cv_mutex);
	arm(arg);
	while (!never)
		pthread_cond_wait(&cv, &cv_mutex);
	BARRIER();
	pthread_mutex_unlock(&cv_mutex);
	return NULL;
}

STUCK void *stuck_in_sem(void *arg)
{
	arm(arg);
	for (;;) {
		if (sem_wait(&sem) == 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_join(void *arg)
{
	struct stuck *s = arg;

	arm(s);
	pthread_join(s->owner->thread, NULL);	/* the sleeping thread */
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_pipe_read(void *arg)
{
	char c;

	arm(arg);
	for (;;) {
		ssize_t n = read(read_pipe[0], &c, 1);

		if (n >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_pipe_write(void *arg)
{
	static char buf[4096];

	arm(arg);
	for (;;) {		/* the pipe is full: blocks */
		ssize_t n = write(write_pipe[1], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			report_eintr(__func__);
		else if (n < 0)
			break;
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_socket_recv(void *arg)
{
	char buf[64];

	arm(arg);
	for (;;) {
		ssize_t n = recv(sockpair[0], buf, sizeof(buf), 0);

		if (n >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_poll(void *arg)
{
	struct pollfd pfd = { .fd = poll_pipe[0], .events = POLLIN };

	arm(arg);
	for (;;) {
		int n = poll(&pfd, 1, -1);

		if (n >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_select(void *arg)
{
	arm(arg);
	for (;;) {
		fd_set rfds;
		int n;

		FD_ZERO(&rfds);
		FD_SET(select_pipe[0], &rfds);
		n = select(select_pipe[0] + 1, &rfds, NULL, NULL, NULL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_epoll(void *arg)
{
	struct epoll_event ev;

	arm(arg);
	for (;;) {
		int n = epoll_wait(epfd, &ev, 1, -1);

		if (n >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_accept(void *arg)
{
	arm(arg);
	for (;;) {
		int fd = accept(accept_fd, NULL, NULL);

		if (fd >= 0) {
			close(fd);
			break;
		}
		if (errno == EINTR)
			report_eintr(__func__);
		else if (errno != ECONNABORTED)
			break;
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_connect(void *arg)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return NULL;
	arm(arg);
	for (;;) {	/* the listener's backlog is full: blocks */
		int r = connect(fd, (struct sockaddr *)&connect_addr,
				connect_addrlen);

		if (r == 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
		else if (errno != EAGAIN)
			break;
	}
	BARRIER();
	close(fd);
	return NULL;
}

STUCK void *stuck_in_sleep(void *arg)
{
	arm(arg);
	for (;;) {
		struct timespec ts = { .tv_sec = 100000, .tv_nsec = 0 };

		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			report_eintr(__func__);
		BARRIER();
	}
	return NULL;
}

STUCK void *stuck_in_waitpid(void *arg)
{
	pid_t parent = getpid();
	pid_t child;

	fflush(NULL);
	child = fork();
	if (child < 0)
		return NULL;
	if (child == 0) {
		/* only async-signal-safe calls in the child of a threaded parent */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		alarm(300);
		for (;;)
			pause();
	}
	arm(arg);
	for (;;) {
		int st;
		pid_t r = waitpid(child, &st, 0);

		if (r >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
		else
			break;
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_sigwait(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);	/* blocked in every thread */
	arm(arg);
	for (;;) {
		/* sigwaitinfo, not sigwait: glibc's sigwait hides EINTR */
		if (sigwaitinfo(&set, NULL) >= 0)
			break;
		if (errno == EINTR)
			report_eintr(__func__);
	}
	BARRIER();
	return NULL;
}

STUCK void *stuck_in_spin(void *arg)
{
	arm(arg);
	for (;;)
		spin_counter++;	/* pure user code, never a system call */
	return NULL;
}

STUCK void *deadlock_a(void *arg)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&deadlock_barrier);
	arm(arg);
	pthread_mutex_lock(&lock_b);	/* held by deadlock_b */
	BARRIER();
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

STUCK void *deadlock_b(void *arg)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&deadlock_barrier);
	arm(arg);
	pthread_mutex_lock(&lock_a);	/* held by deadlock_a */
	BARRIER();
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

STUCK void *pool_worker(void *arg)
{
	pthread_mutex_lock(&pool_mutex);
	arm(arg);
	while (!never)
		pthread_cond_wait(&pool_cond, &pool_mutex);
	BARRIER();
	pthread_mutex_unlock(&pool_mutex);
	return NULL;
}

STUCK void main_wait(void)
{
	for (;;) {
		pause();	/* no handlers: never returns */
		BARRIER();
	}
}

/* ---- setup ---- */

static void make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
}

static void setup_objects(void)
{
	struct sockaddr_in sin;
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[4096];
	int flags, n;

	if (sem_init(&sem, 0, 0) < 0)
		die("sem_init: %s", strerror(errno));
	if (pthread_barrier_init(&deadlock_barrier, NULL, 2))
		die("pthread_barrier_init failed");
	make_pipe(read_pipe);
	make_pipe(write_pipe);
	make_pipe(poll_pipe);
	make_pipe(select_pipe);
	make_pipe(epoll_pipe);

	/* fill write_pipe so that the next write blocks */
	flags = fcntl(write_pipe[1], F_GETFL);
	if (fcntl(write_pipe[1], F_SETFL, flags | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	memset(buf, 'x', sizeof(buf));
	for (n = 0; n < 100000; n++) {
		if (write(write_pipe[1], buf, sizeof(buf)) < 0)
			break;
	}
	if (errno != EAGAIN)
		die("filling a pipe: %s", strerror(errno));
	/* top up any partial page, one byte at a time */
	while (write(write_pipe[1], buf, 1) == 1)
		;
	if (fcntl(write_pipe[1], F_SETFL, flags & ~O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockpair) < 0)
		die("socketpair: %s", strerror(errno));

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	ev.data.fd = epoll_pipe[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, epoll_pipe[0], &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));

	accept_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (accept_fd < 0)
		die("socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(accept_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind 127.0.0.1:0: %s", strerror(errno));
	if (listen(accept_fd, 16) < 0)
		die("listen: %s", strerror(errno));

	/* an abstract AF_UNIX listener with a full backlog */
	memset(&connect_addr, 0, sizeof(connect_addr));
	connect_addr.sun_family = AF_UNIX;
	n = snprintf(connect_addr.sun_path + 1, sizeof(connect_addr.sun_path) - 1,
		     "threadleak-waits-%d", (int)getpid());
	connect_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	connect_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect_listen_fd < 0)
		die("socket: %s", strerror(errno));
	if (bind(connect_listen_fd, (struct sockaddr *)&connect_addr,
		 connect_addrlen) < 0)
		die("bind unix: %s", strerror(errno));
	if (listen(connect_listen_fd, 0) < 0)
		die("listen: %s", strerror(errno));
	for (n = 0; n < 1000; n++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&connect_addr,
			    connect_addrlen) < 0) {
			if (errno != EAGAIN)
				die("filling a backlog: %s", strerror(errno));
			close(fd);
			break;
		}
		/* keep fd open: it occupies the backlog */
	}
	if (n == 1000)
		die("could not fill a unix socket backlog");
}

/* Returns 1 when s's thread is blocked in one of its expected calls. */
static int is_blocked(const struct stuck *s, char *why, size_t whylen)
{
	char path[64], buf[200];
	long nr;
	unsigned long a0;
	const long *sc;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)s->tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "%ld 0x%lx", &nr, &a0) != 2) {
		snprintf(why, whylen, "syscall is \"%s\"", buf);
		return 0;
	}
	for (sc = s->syscalls; *sc >= 0; sc++)
		if (*sc == nr)
			ok = 1;
	if (!ok) {
		snprintf(why, whylen, "in syscall %ld, not the expected one", nr);
		return 0;
	}
	if (s->addr_lo && (a0 < s->addr_lo || a0 >= s->addr_hi)) {
		snprintf(why, whylen, "in futex on 0x%lx, not on [0x%lx, 0x%lx)",
			 a0, (unsigned long)s->addr_lo, (unsigned long)s->addr_hi);
		return 0;
	}
	if (tl_thread_state(s->tid) != 'S') {
		snprintf(why, whylen, "state %c, not S", tl_thread_state(s->tid));
		return 0;
	}
	return 1;
}

static void wait_until_stuck(const struct stuck *s)
{
	long deadline = tl_now_ms() + SETUP_TIMEOUT_MS;
	char why[256] = "not started";
	int good = 0;

	while (tl_now_ms() < deadline) {
		if (!__atomic_load_n(&s->armed, __ATOMIC_SEQ_CST)) {
			snprintf(why, sizeof(why), "not started");
			good = 0;
		} else if (s->running) {
			return;
		} else if (is_blocked(s, why, sizeof(why))) {
			if (++good >= 3)	/* stable over three looks */
				return;
		} else {
			good = 0;
		}
		tl_sleep_ms(5);
	}
	die("thread %d (%s) did not get stuck: %s", (int)s->tid, s->function, why);
}

/* ---- syscall sets; -1 terminates ---- */

#define END -1
static const long sc_futex[] = { SYS_futex,
#ifdef SYS_futex_time64
	SYS_futex_time64,
#endif
#ifdef SYS_futex_waitv
	SYS_futex_waitv,
#endif
	END };
static const long sc_read[] = { SYS_read, SYS_readv, END };
static const long sc_write[] = { SYS_write, SYS_writev, END };
/* i386 glibc (built for kernels older than 4.3) makes its socket calls
 * through socketcall */
#ifdef SYS_socketcall
#define SOCKETCALL SYS_socketcall,
#else
#define SOCKETCALL
#endif
static const long sc_recv[] = { SOCKETCALL SYS_recvfrom, SYS_recvmsg, SYS_read, END };
static const long sc_poll[] = {
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_ppoll_time64
	SYS_ppoll_time64,
#endif
	SYS_ppoll, END };
static const long sc_select[] = {
#ifdef SYS_select
	SYS_select,
#endif
#ifdef SYS_pselect6_time64
	SYS_pselect6_time64,
#endif
	SYS_pselect6, END };
static const long sc_epoll[] = {
#ifdef SYS_epoll_wait
	SYS_epoll_wait,
#endif
	SYS_epoll_pwait,
#ifdef SYS_epoll_pwait2
	SYS_epoll_pwait2,
#endif
	END };
static const long sc_accept[] = { SOCKETCALL
#ifdef SYS_accept
	SYS_accept,
#endif
	SYS_accept4, END };
static const long sc_connect[] = { SOCKETCALL SYS_connect, END };
static const long sc_sleep[] = {
#ifdef SYS_nanosleep
	SYS_nanosleep,
#endif
#ifdef SYS_clock_nanosleep_time64
	SYS_clock_nanosleep_time64,
#endif
	SYS_clock_nanosleep, END };
static const long sc_wait[] = {
#ifdef SYS_wait4
	SYS_wait4,
#endif
	SYS_waitid, END };
static const long sc_sigwait[] = {
#ifdef SYS_rt_sigtimedwait_time64
	SYS_rt_sigtimedwait_time64,
#endif
	SYS_rt_sigtimedwait, END };

#define RANGE(obj) (uintptr_t)&(obj), (uintptr_t)&(obj) + sizeof(obj)
#define EXACT(obj) (uintptr_t)&(obj), (uintptr_t)&(obj) + 1

enum {
	T_MUTEX, T_CONDVAR, T_SEM, T_SLEEP, T_JOIN, T_PIPE_READ, T_PIPE_WRITE,
	T_RECV, T_POLL, T_SELECT, T_EPOLL, T_ACCEPT, T_CONNECT, T_WAITPID,
	T_SIGWAIT, T_SPIN, T_DEADLOCK_A, T_DEADLOCK_B, T_POOL,
	T_COUNT = T_POOL + POOL_SIZE
};

static struct stuck threads[T_COUNT];

static void define(int i, const char *kind, const char *function,
		   void *(*fn)(void *), const long *syscalls,
		   uintptr_t lo, uintptr_t hi)
{
	threads[i].kind = kind;
	threads[i].function = function;
	threads[i].fn = fn;
	threads[i].syscalls = syscalls;
	threads[i].addr_lo = lo;
	threads[i].addr_hi = hi;
}

static void start(int i)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&threads[i].thread, &attr, threads[i].fn, &threads[i]);
	pthread_attr_destroy(&attr);
	if (err)
		die("pthread_create: %s", strerror(err));
}

int main(void)
{
	sigset_t set;
	pid_t main_tid = tl_gettid();
	int i;

	alarm(300);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* SIGUSR1 stays blocked everywhere: stuck_in_sigwait waits for it */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("pthread_sigmask failed");

	setup_objects();
	pthread_mutex_lock(&held_mutex);	/* held by main for good */

	define(T_MUTEX, "mutex", "stuck_in_mutex", stuck_in_mutex, sc_futex,
	       EXACT(held_mutex));
	threads[T_MUTEX].owner_tid = main_tid;
	define(T_CONDVAR, "condvar", "stuck_in_condvar", stuck_in_condvar,
	       sc_futex, RANGE(cv));
	define(T_SEM, "futex", "stuck_in_sem", stuck_in_sem, sc_futex, RANGE(sem));
	define(T_SLEEP, "sleep", "stuck_in_sleep", stuck_in_sleep, sc_sleep, 0, 0);
	define(T_JOIN, "join", "stuck_in_join", stuck_in_join, sc_futex, 0, 0);
	threads[T_JOIN].owner = &threads[T_SLEEP];	/* whom it joins */
	define(T_PIPE_READ, "read", "stuck_in_pipe_read", stuck_in_pipe_read,
	       sc_read, 0, 0);
	define(T_PIPE_WRITE, "write", "stuck_in_pipe_write", stuck_in_pipe_write,
	       sc_write, 0, 0);
	define(T_RECV, "read", "stuck_in_socket_recv", stuck_in_socket_recv,
	       sc_recv, 0, 0);
	define(T_POLL, "poll", "stuck_in_poll", stuck_in_poll, sc_poll, 0, 0);
	define(T_SELECT, "poll", "stuck_in_select", stuck_in_select, sc_select,
	       0, 0);
	define(T_EPOLL, "epoll", "stuck_in_epoll", stuck_in_epoll, sc_epoll, 0, 0);
	define(T_ACCEPT, "accept", "stuck_in_accept", stuck_in_accept, sc_accept,
	       0, 0);
	define(T_CONNECT, "connect", "stuck_in_connect", stuck_in_connect,
	       sc_connect, 0, 0);
	define(T_WAITPID, "wait", "stuck_in_waitpid", stuck_in_waitpid, sc_wait,
	       0, 0);
	define(T_SIGWAIT, "signal", "stuck_in_sigwait", stuck_in_sigwait,
	       sc_sigwait, 0, 0);
	define(T_SPIN, "running", "stuck_in_spin", stuck_in_spin, sc_futex, 0, 0);
	threads[T_SPIN].running = 1;
	define(T_DEADLOCK_A, "mutex", "deadlock_a", deadlock_a, sc_futex,
	       EXACT(lock_b));
	threads[T_DEADLOCK_A].owner = &threads[T_DEADLOCK_B];
	define(T_DEADLOCK_B, "mutex", "deadlock_b", deadlock_b, sc_futex,
	       EXACT(lock_a));
	threads[T_DEADLOCK_B].owner = &threads[T_DEADLOCK_A];
	for (i = T_POOL; i < T_COUNT; i++)
		define(i, "condvar", "pool_worker", pool_worker, sc_futex,
		       RANGE(pool_cond));

	/* the sleeper first: the joiner needs its pthread_t */
	start(T_SLEEP);
	for (i = 0; i < T_COUNT; i++)
		if (i != T_SLEEP)
			start(i);
	for (i = 0; i < T_COUNT; i++)
		wait_until_stuck(&threads[i]);

	for (i = 0; i < T_COUNT; i++) {
		const struct stuck *s = &threads[i];

		printf("expect %d %s %s\n", (int)s->tid, s->kind, s->function);
		if (s->owner_tid)
			printf("owner %d %d\n", (int)s->tid, (int)s->owner_tid);
		else if (s->owner && !strcmp(s->kind, "mutex"))
			printf("owner %d %d\n", (int)s->tid, (int)s->owner->tid);
	}
	printf("group %d pool_worker\n", POOL_SIZE);
	printf("expect %d signal main_wait\n", (int)main_tid);
	printf("ready\n");
	fflush(stdout);
	main_wait();
	return 0;
}
