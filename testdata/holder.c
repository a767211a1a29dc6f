/*
 * holder: a process that holds threadleak mid-capture for as long as the
 * test wants, so that a test can act (signal threadleak, end the target)
 * at a moment it knows to be inside the capture, without a lucky sleep.
 *
 *	usage: holder FIFO [NSLEEP [NSPIN]]	defaults: 8 sleepers, 0 spinners
 *
 * One thread (vfork_holder) calls vfork(2) in a loop.  While the child
 * lives, the parent thread waits in the kernel, killable only (state D):
 * no ptrace interrupt stops it, so threadleak, which must stop it to
 * unwind it (glibc's vfork keeps the return address in a register, not
 * on the stack), waits for that stop until its --timeout.  The child
 * reads one byte from FIFO (opened read-write here, so that it never sees
 * an end of file) and exits: each byte the test writes releases one
 * vfork, and the holder prints "released N" and goes into the next one.
 * The child is killed when the holder dies (the target killed, or its
 * exit_group while held), so none is left reading the fifo.
 *
 * NSLEEP threads sleep in nanosleep (sleep_worker), NSPIN spin in user
 * code (spin_worker).  The main thread waits for SIGUSR1 in sigwaitinfo
 * (every thread blocks it) and then calls exit(0): exit_group at a moment
 * the test chooses, from a thread threadleak does not stop.
 *
 * Prints "holder TID" and then "ready" once every sleeper is asleep and
 * the holder is in its first vfork.  alarm(600) ends it.
 *
 *	holder --once FIFO [NSLEEP [NSPIN]]
 *
 * One vfork only, and one whose stack unwinds once the thread is stopped:
 * held_in_vfork calls glibc's clone (CLONE_VM | CLONE_VFORK, CFI and all)
 * on a stack of its own, the child (PR_SET_PDEATHSIG too) reads one byte
 * of FIFO and exits; the holder, released, prints "released 1" and then
 * blocks in pause() for good (state S, no further hold).  Same output
 * otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testdata.h"

struct worker {
	volatile pid_t tid;
	pthread_t thread;
};

static int fifo_fd = -1;
static int once;		/* --once: one vfork, by clone, then pause */
static volatile unsigned long spins;

NOINLINE void *spin_worker(void *arg)
{
	struct worker *w = arg;

	__atomic_store_n(&w->tid, tl_gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		spins++;
	return NULL;
}

NOINLINE void *sleep_worker(void *arg)
{
	struct worker *w = arg;

	__atomic_store_n(&w->tid, tl_gettid(), __ATOMIC_SEQ_CST);
	for (;;) {
		struct timespec ts = { .tv_sec = 100000, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
		BARRIER();
	}
	return NULL;
}

/*
 * hold_vfork(fd, stack_top, pid): vfork on another stack, in code with no
 * CFI, so that nothing /proc shows (sp, pc, the syscall's arguments)
 * unwinds it: threadleak must stop the thread to read its registers, in
 * both modes.  The child dies with its parent (PR_SET_PDEATHSIG, and
 * at once if pid, our own, is no longer its parent), else reads one byte
 * of fd and exits; the parent returns the child's pid (or -errno).
 * x86_64 Linux only, as threadleak is.
 */
long hold_vfork(int fd, void *stack_top, pid_t pid);
__asm__(
	"	.text\n"
	"	.globl hold_vfork\n"
	"	.type hold_vfork, @function\n"
	"hold_vfork:\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	mov %rsp, %r12\n"	/* our own stack, kept in a register */
	"	mov %rdi, %rbx\n"	/* fd */
	"	mov %rdx, %r13\n"	/* our pid */
	"	mov %rsi, %rsp\n"	/* the other stack: all zeros */
	"	mov $58, %eax\n"	/* SYS_vfork */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 3f\n"
	"	mov $157, %eax\n"	/* child: SYS_prctl(PR_SET_PDEATHSIG, SIGKILL) */
	"	mov $1, %edi\n"
	"	mov $9, %esi\n"
	"	syscall\n"
	"	mov $110, %eax\n"	/* SYS_getppid: the parent died already? */
	"	syscall\n"
	"	cmp %rax, %r13\n"
	"	jne 2f\n"
	"1:	xor %eax, %eax\n"	/* SYS_read(fd, sp - 16, 1) */
	"	mov %rbx, %rdi\n"
	"	lea -16(%rsp), %rsi\n"
	"	mov $1, %edx\n"
	"	syscall\n"
	"	cmp $-4, %rax\n"	/* EINTR */
	"	je 1b\n"
	"2:	mov $60, %eax\n"	/* SYS_exit(0) */
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	hlt\n"
	"3:	mov %r12, %rsp\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	ret\n"
	"	.size hold_vfork, .-hold_vfork\n");

static char hold_stack[64 * 1024] __attribute__((aligned(16)));

NOINLINE pid_t hold_once(void)
{
	long rc = hold_vfork(fifo_fd, hold_stack + sizeof(hold_stack), getpid());

	BARRIER();
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (pid_t)rc;
}

/* --once: the vfork child of held_in_vfork.  It shares the holder's
 * memory, so raw system calls only; it runs on its own stack. */
static int once_child(void *arg)
{
	char c;
	long rc;

	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* the parent died already: nobody would ever release us */
	if (syscall(SYS_getppid) != (long)(size_t)arg)
		syscall(SYS_exit, 0);
	do
		rc = syscall(SYS_read, fifo_fd, &c, 1);
	while (rc == -1 && errno == EINTR);
	syscall(SYS_exit, 0);
	return 0;
}

/* --once: one vfork through glibc's clone, whose parent side has CFI:
 * stopped on its way out of the kernel, the holder's stack unwinds
 * through here and vfork_holder. */
NOINLINE pid_t held_in_vfork(void)
{
	pid_t pid = clone(once_child, hold_stack + sizeof(hold_stack),
			  CLONE_VM | CLONE_VFORK | SIGCHLD,
			  (void *)(size_t)getpid());

	BARRIER();
	return pid;
}

NOINLINE void *vfork_holder(void *arg)
{
	struct worker *w = arg;
	unsigned long n;

	__atomic_store_n(&w->tid, tl_gettid(), __ATOMIC_SEQ_CST);
	if (once) {
		pid_t pid = held_in_vfork();

		if (pid < 0) {
			fprintf(stderr, "holder: clone: %s\n", strerror(errno));
			exit(3);
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		printf("released 1\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	for (n = 1;; n++) {
		pid_t pid = hold_once();

		if (pid < 0) {
			fprintf(stderr, "holder: vfork: %s\n", strerror(errno));
			exit(3);
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		printf("released %lu\n", n);
		fflush(stdout);
	}
	return NULL;
}

NOINLINE void main_wait(const sigset_t *set)
{
	for (;;) {
		if (sigwaitinfo(set, NULL) == SIGUSR1)
			exit(0);
		BARRIER();
	}
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 0 || n > 100000) {
		fprintf(stderr, "holder: bad %s count: %s\n", what, s);
		exit(64);
	}
	return n;
}

int main(int argc, char **argv)
{
	long nsleep, nspin, i, tries;
	struct worker *w;
	pthread_attr_t attr;
	sigset_t set;

	alarm(600);
	if (argc > 1 && strcmp(argv[1], "--once") == 0) {
		once = 1;
		argv++;
		argc--;
	}
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: holder [--once] FIFO [NSLEEP [NSPIN]]\n");
		return 64;
	}
	fifo_fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0) {
		fprintf(stderr, "holder: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	nsleep = argc > 2 ? parse_count(argv[2], "sleeper") : 8;
	nspin = argc > 3 ? parse_count(argv[3], "spinner") : 0;
	w = calloc((size_t)(nsleep + nspin) + 1, sizeof(*w));
	if (!w) {
		fprintf(stderr, "holder: out of memory\n");
		return 3;
	}
	/* SIGUSR1 blocked in every thread: only sigwaitinfo takes it */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (i = 0; i <= nsleep + nspin; i++) {
		void *(*fn)(void *) = i == nsleep + nspin ? vfork_holder :
				      i < nspin ? spin_worker : sleep_worker;
		int err = pthread_create(&w[i].thread, &attr, fn, &w[i]);

		if (err) {
			fprintf(stderr, "holder: pthread_create: %s\n", strerror(err));
			return 3;
		}
	}
	/* every sleeper asleep, every spinner started, the holder in vfork
	 * (state D) (10 s at most each) */
	for (i = 0; i <= nsleep + nspin; i++) {
		for (tries = 0; tries < 10000; tries++) {
			pid_t tid = __atomic_load_n(&w[i].tid, __ATOMIC_SEQ_CST);
			char want = i == nsleep + nspin ? 'D' : i < nspin ? 0 : 'S';

			if (tid && (!want || tl_thread_state(tid) == want))
				break;
			usleep(1000);
		}
		if (tries == 10000) {
			fprintf(stderr, "holder: thread %ld did not start\n", i);
			return 3;
		}
	}
	printf("holder %d\nready\n", (int)w[nsleep + nspin].tid);
	fflush(stdout);
	main_wait(&set);
	return 0;
}
