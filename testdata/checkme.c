/*
 * checkme: a program for `threadleak check`, one way of ending per mode.
 *
 *	checkme leak	start_workers() starts one worker that blocks forever
 *			in worker_wait() (a condvar nobody signals) and one
 *			that is joined, and waits until the first is blocked
 *			there; main returns 0: one thread leaked
 *	checkme clean	the same workers, both joined: nothing leaked
 *	checkme late-signal  a detached worker that waits in late_wait() for
 *			SIGUSR1 (sigwait), then ends: main prints "pid N",
 *			waits until the worker blocks, and returns; the test
 *			sends the signal while the exit is held, or never
 *	checkme fail	leaks like "leak", then exits with status 3
 *	checkme many N	leaks N workers, all blocked in worker_wait() before
 *			main returns
 *	checkme children N  forks N children, each leaking a worker like
 *			"leak"; once all N have theirs blocked in worker_wait()
 *			(all alive at once), lets them return, and waits for
 *			them: one thread leaked in each child
 *	checkme churn N	creates and joins N short-lived threads (each spins
 *			a few microseconds), a few at a time; nothing leaked
 *	checkme hold	leaks like "leak", prints "ready", and returns only
 *			once a line (or the end) comes on its standard input
 *	checkme timer	arms a timer that notifies in a thread (SIGEV_THREAD):
 *			glibc's helper thread (timer_helper_thread) is left,
 *			which is glibc's, not a leak
 *	checkme seccomp-listener | seccomp-strict
 *			asks for a seccomp filter with a listener of its own,
 *			or for strict mode, and prints "seccomp: ok" or why
 *			not (under check the kernel refuses both)
 *
 * Each mode prints "done MODE" just before main returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testdata.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile unsigned long sink;

/* The leaked workers that reached worker_wait, and the tids of the first
 * MAX_SEEN, under lock. */
#define MAX_SEEN 4096
static int nwaiting;
static pid_t waiting_tid[MAX_SEEN];

NOINLINE void worker_wait(void)
{
	pthread_mutex_lock(&lock);
	if (nwaiting < MAX_SEEN)
		waiting_tid[nwaiting] = tl_gettid();
	nwaiting++;
	for (;;)
		pthread_cond_wait(&never, &lock);
}

/* Until n leaked workers wait in the condvar: each was counted holding
 * the lock, which only its pthread_cond_wait let go, and sleeps (S) in
 * it.  Then a report made at once finds them all in worker_wait, however
 * long a loaded machine takes to run a new thread. */
static void wait_for_waiters(int n)
{
	for (;;) {
		int seen, blocked = 0;

		pthread_mutex_lock(&lock);
		seen = nwaiting;
		pthread_mutex_unlock(&lock);
		if (seen >= n) {
			for (int i = 0; i < seen && i < MAX_SEEN; i++)
				blocked += tl_thread_state(waiting_tid[i]) == 'S';
			if (blocked >= (seen < MAX_SEEN ? seen : MAX_SEEN))
				return;
		}
		tl_sleep_ms(1);
	}
}

NOINLINE void *leaked_worker(void *arg)
{
	(void)arg;
	worker_wait();
	return NULL;
}

NOINLINE void *short_worker(void *arg)
{
	for (int i = 0; i < 1000; i++)
		sink += (unsigned long)i * (unsigned long)(size_t)arg;
	return NULL;
}

static volatile pid_t late_tid;

NOINLINE void late_wait(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (sigwait(&set, &sig) != 0)
		;
	BARRIER();
}

NOINLINE void *until_signal_worker(void *arg)
{
	(void)arg;
	__atomic_store_n(&late_tid, tl_gettid(), __ATOMIC_SEQ_CST);
	late_wait();
	return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) != 0) {
		perror("pthread_create");
		exit(2);
	}
}

NOINLINE void start_workers(int leak, int joined)
{
	pthread_t t;

	for (int i = 0; i < leak; i++) {
		start(&t, leaked_worker, NULL);
		pthread_setname_np(t, "worker");
	}
	for (int i = 0; i < joined; i++) {
		start(&t, short_worker, NULL);
		pthread_join(t, NULL);
	}
	wait_for_waiters(leak);
	BARRIER();
}

/* n children, each with a leaked worker, alive together; then they
 * return.  Each tells its worker blocked on the ready pipe, then waits
 * for the go pipe's end. */
static void children(long n)
{
	int ready[2], go[2];
	char c;

	if (pipe(ready) < 0 || pipe(go) < 0) {
		perror("pipe");
		exit(2);
	}
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(2);
		}
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			start_workers(1, 0);
			if (write(ready[1], "r", 1) != 1)
				_exit(2);
			while (read(go[0], &c, 1) > 0)
				;
			printf("done child\n");
			fflush(stdout);
			exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (long i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "children: only %ld of %ld ready\n", i, n);
			exit(2);
		}
	printf("children %ld ready\n", n);
	fflush(stdout);
	close(go[1]);
	for (long i = 0; i < n; i++)
		wait(NULL);
}

NOINLINE void churn(long n)
{
	pthread_t t[4];

	for (long i = 0; i < n; i += 4) {
		for (int k = 0; k < 4; k++)
			start(&t[k], short_worker, (void *)(size_t)(i + k));
		for (int k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
	}
}

static void on_timer(union sigval v)
{
	(void)v;
}

/* A timer that fires in a thread, a minute from now: glibc starts its
 * helper thread at the first such timer, and keeps it. */
static void arm_timer(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD,
			       .sigev_notify_function = on_timer };
	struct itimerspec its = { .it_value = { 60, 0 } };
	timer_t id;

	if (timer_create(CLOCK_MONOTONIC, &ev, &id) < 0 || timer_settime(id, 0, &its, NULL) < 0)
		perror("timer");
}

static int ask_seccomp(bool strict)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };
	long rc;

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (strict)
		rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
	else
		rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (rc < 0) {
		printf("seccomp: %s\n", strerror(errno));
		return 0;
	}
	/* Strict mode: write and _exit only from here on. */
	if (write(STDOUT_FILENO, "seccomp: ok\n", 12) < 0 || strict)
		syscall(SYS_exit, 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 0;
	pthread_t t;

	if (!strcmp(mode, "leak") || !strcmp(mode, "fail")) {
		start_workers(1, 1);
	} else if (!strcmp(mode, "clean")) {
		start_workers(0, 2);
	} else if (!strcmp(mode, "late-signal")) {
		sigset_t set;

		/* blocked in every thread: the worker's sigwait takes it */
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("pid %d\n", (int)getpid());
		start(&t, until_signal_worker, NULL);
		pthread_detach(t);
		while (!late_tid || tl_thread_state(late_tid) != 'S')
			tl_sleep_ms(1);
	} else if (!strcmp(mode, "many") && n > 0) {
		start_workers((int)n, 0);
	} else if (!strcmp(mode, "children") && n > 0) {
		children(n);
	} else if (!strcmp(mode, "churn") && n > 0) {
		churn(n);
	} else if (!strcmp(mode, "hold")) {
		char line[64];
		start_workers(1, 1);
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = '\0';
	} else if (!strcmp(mode, "timer")) {
		arm_timer();
	} else if (!strncmp(mode, "seccomp-", 8)) {
		fflush(stdout);
		return ask_seccomp(!strcmp(mode, "seccomp-strict"));
	} else {
		fprintf(stderr, "usage: checkme leak|clean|late-signal|fail|many N|children N|churn N|hold|timer|seccomp-listener|seccomp-strict\n");
		return 2;
	}
	printf("done %s\n", mode);
	fflush(stdout);
	return strcmp(mode, "fail") ? 0 : 3;
}
