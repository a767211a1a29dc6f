/*
 * dhold: a thread held in uninterruptible sleep (state D) for as long as
 * the test wants, beside a few ordinary blocked threads.
 *
 *	dhold FIFO [WORKERS]
 *
 * The thread "holder" vforks (clone with CLONE_VM | CLONE_VFORK, on a
 * stack of its own): until the child ends, the kernel keeps the holder in
 * a killable wait, state D, where no ptrace stop reaches it.  The child
 * opens FIFO for reading, which blocks until someone opens it for
 * writing (the test: `: >FIFO`), then exits; the holder reaps it and
 * blocks in pause().  The child dies with the holder (PR_SET_PDEATHSIG),
 * so killing the target kills it too.
 *
 * WORKERS threads (default 3, named "worker") wait on a condition variable
 * that is never signalled.  Once the holder is seen in state D inside its
 * clone call, and every worker is blocked (state S), the main thread
 * prints, line-buffered:
 *
 *	holder TID CHILD_PID
 *	worker TID		one per worker
 *	ready
 *
 * then, when the holder is released and has reaped its child:
 *
 *	released TID
 *
 * and blocks in pause() itself (until then it waits in read(), on a pipe
 * the holder writes to).  Setup errors: a line on stderr, exit 3.
 * alarm(600) ends it in any case.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "testdata.h"

#define CHILD_STACK (64 * 1024)
#define MAX_WORKERS 64

static const char *fifo;
static volatile pid_t holder_tid, child_pid;
static int done_pipe[2];	/* the holder writes a byte once released */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int never;

static void die(const char *what)
{
	fprintf(stderr, "dhold: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* The vfork child: shares the holder's memory, so raw system calls only
 * (no errno, no stdio).  Runs on its own stack. */
static int child_main(void *arg)
{
	(void)arg;
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* blocks until the test opens the FIFO for writing */
	long fd = syscall(SYS_openat, AT_FDCWD, fifo, O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0)
		syscall(SYS_close, fd);
	syscall(SYS_exit, 0);
	return 0;
}

NOINLINE static void held_in_vfork(void)
{
	char *stack = malloc(CHILD_STACK);
	int status;

	if (!stack)
		die("malloc");
	holder_tid = tl_gettid();
	/* child_pid is set by the parent only after the vfork ends: the
	 * main thread reads the child from /proc instead (see below). */
	pid_t pid = clone(child_main, stack + CHILD_STACK,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	BARRIER();
	if (pid < 0)
		die("clone");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(stack);
	if (write(done_pipe[1], "x", 1) != 1)
		die("write");
}

NOINLINE static void *holder(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "holder");
	held_in_vfork();
	for (;;)
		pause();
	return NULL;
}

NOINLINE static void *worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "worker");
	pthread_mutex_lock(&mu);
	while (!never)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* The child of the holder: a process whose parent is us, other than any
 * we know.  0 if none yet. */
static pid_t find_child(void)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)holder_tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0)
		return 0;
	return (pid_t)atoi(buf);
}

/* The first number of /proc/self/task/TID/syscall. */
static long syscall_nr(pid_t tid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0)
		return -2;
	return strtol(buf, NULL, 10);
}

int main(int argc, char **argv)
{
	pthread_t th;
	pid_t wtids[MAX_WORKERS];
	int nworkers = argc > 2 ? atoi(argv[2]) : 3;

	if (argc < 2 || nworkers < 0 || nworkers > MAX_WORKERS) {
		fprintf(stderr, "usage: dhold FIFO [WORKERS]\n");
		return 2;
	}
	fifo = argv[1];
	alarm(600);
	if (pipe2(done_pipe, O_CLOEXEC) < 0)
		die("pipe2");
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* workers first, so that their tids can be found in order */
	for (int i = 0; i < nworkers; i++)
		if ((errno = pthread_create(&th, NULL, worker, NULL)))
			die("pthread_create");
	if ((errno = pthread_create(&th, NULL, holder, NULL)))
		die("pthread_create");

	long deadline = tl_now_ms() + 60000;
	for (;;) {
		if (tl_now_ms() > deadline) {
			errno = ETIMEDOUT;
			die("the holder never reached state D in clone");
		}
		if (holder_tid && tl_thread_state(holder_tid) == 'D' &&
		    syscall_nr(holder_tid) == SYS_clone && (child_pid = find_child()))
			break;
		tl_sleep_ms(5);
	}

	/* the workers: every other thread, blocked in state S */
	int n = 0;
	for (;;) {
		int all_s = 1;
		n = 0;
		DIR *dir = opendir("/proc/self/task");
		struct dirent *e;
		if (!dir)
			die("opendir /proc/self/task");
		while ((e = readdir(dir))) {
			pid_t tid = atoi(e->d_name);
			if (tid <= 0 || tid == getpid() || tid == holder_tid)
				continue;
			if (n < MAX_WORKERS)
				wtids[n++] = tid;
			if (tl_thread_state(tid) != 'S' || syscall_nr(tid) != SYS_futex)
				all_s = 0;
		}
		closedir(dir);
		if (n == nworkers && all_s)
			break;
		if (tl_now_ms() > deadline) {
			errno = ETIMEDOUT;
			die("the workers never blocked");
		}
		tl_sleep_ms(5);
	}

	printf("holder %d %d\n", (int)holder_tid, (int)child_pid);
	for (int i = 0; i < n; i++)
		printf("worker %d\n", (int)wtids[i]);
	printf("ready\n");

	char c;
	while (read(done_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	printf("released %d\n", (int)holder_tid);
	for (;;)
		pause();
}
