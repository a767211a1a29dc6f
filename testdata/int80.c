/*
 * int80: a 64-bit program whose threads make 32-bit (i386) system calls
 * with int 0x80, which the kernel takes with i386 numbers and arguments
 * (pause is 29 there, shmget in the x86_64 table; read is 3, close).
 *
 *	int80 wait	one thread blocks in pause(), one in read() of a pipe
 *			nobody writes, both through int 0x80, each in its
 *			own noinline function; main prints
 *			"expect TID KIND FUNCTION SYSCALL" for each, then
 *			"ready", and blocks in pause() (a 64-bit call)
 *	int80 exit	the pause thread as above; main ends the process
 *			with exit_group(0) through int 0x80: a leak that
 *			`threadleak check` must see
 *
 * A kernel without i386 emulation answers ENOSYS: the program says so on
 * stderr and exits 3.  alarm(300) ends it in any case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testdata.h"

#define NR32_READ 3
#define NR32_PAUSE 29
#define NR32_EXIT_GROUP 252

static volatile pid_t pause_tid, read_tid;
static int pipefd[2];
static char *buf32;		/* below 4 GiB: int 0x80 takes 32-bit pointers */

static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

NOINLINE void *int80_pause(void *arg)
{
	(void)arg;
	pause_tid = tl_gettid();
	for (;;) {
		if (int80(NR32_PAUSE, 0, 0, 0) == -ENOSYS) {
			fprintf(stderr, "int80: the kernel runs no i386 system calls (ENOSYS)\n");
			exit(3);
		}
		BARRIER();
	}
	return NULL;
}

NOINLINE void *int80_read(void *arg)
{
	(void)arg;
	read_tid = tl_gettid();
	for (;;) {
		long n = int80(NR32_READ, pipefd[0], (long)(uintptr_t)buf32, 1);
		if (n != -EINTR)
			break;
		BARRIER();
	}
	return NULL;
}

/* Blocked in its call: /proc/self/task/TID/syscall shows nr, state S. */
static int blocked(pid_t tid, long nr)
{
	char path[64], buf[200];
	long got;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	return tid && tl_read_text(path, buf, sizeof(buf)) == 0 &&
	       sscanf(buf, "%ld", &got) == 1 && got == nr &&
	       tl_thread_state(tid) == 'S';
}

static void wait_blocked(volatile pid_t *tid, long nr)
{
	long deadline = tl_now_ms() + 60000;
	int good = 0;

	while (good < 3) {
		if (tl_now_ms() > deadline) {
			fprintf(stderr, "int80: thread %d never blocked in %ld\n", (int)*tid, nr);
			exit(3);
		}
		good = blocked(*tid, nr) ? good + 1 : 0;
		tl_sleep_ms(5);
	}
}

int main(int argc, char **argv)
{
	pthread_t t;
	int exit_mode = argc > 1 && strcmp(argv[1], "exit") == 0;

	alarm(300);
	setvbuf(stdout, NULL, _IOLBF, 0);
	buf32 = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (buf32 == MAP_FAILED || pipe(pipefd) < 0) {
		fprintf(stderr, "int80: %s\n", strerror(errno));
		return 3;
	}
	if (pthread_create(&t, NULL, int80_pause, NULL) != 0)
		return 3;
	while (!pause_tid)
		tl_sleep_ms(1);
	wait_blocked(&pause_tid, NR32_PAUSE);
	if (exit_mode) {
		printf("done exit\n");
		int80(NR32_EXIT_GROUP, 0, 0, 0);
		return 3;	/* not reached */
	}
	if (pthread_create(&t, NULL, int80_read, NULL) != 0)
		return 3;
	while (!read_tid)
		tl_sleep_ms(1);
	wait_blocked(&read_tid, NR32_READ);
	printf("expect %d signal int80_pause pause\n", (int)pause_tid);
	printf("expect %d read int80_read read\n", (int)read_tid);
	printf("ready\n");
	for (;;)
		pause();
}
