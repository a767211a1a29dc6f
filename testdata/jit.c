/*
 * jit: threads executing code in anonymous memory, the way a JIT does:
 * one spins in a generated loop, one blocks in pause() issued from
 * generated code (so its innermost frames have no module and no CFI).
 * Prints "code ADDR" (the generated code: the spin loop at ADDR, the
 * pause at ADDR + 16), "expect TID KIND jit" lines and "ready".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned char *code;
static volatile int tids[2];

static void *run_spin(void *arg)
{
	(void)arg;
	tids[0] = (int)syscall(SYS_gettid);
	((void (*)(void))code)();	/* jmp . */
	return NULL;
}

static void *run_pause(void *arg)
{
	(void)arg;
	tids[1] = (int)syscall(SYS_gettid);
	for (;;)
		((void (*)(void))(code + 16))();	/* pause(); ret */
	return NULL;
}

int main(void)
{
	/* jmp . */
	static const unsigned char spin[] = { 0xeb, 0xfe };
	/* mov eax, 34 (pause); syscall; ret */
	static const unsigned char do_pause[] = { 0xb8, 34, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	pthread_t a, b;

	alarm(600);
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(code, spin, sizeof(spin));
	memcpy(code + 16, do_pause, sizeof(do_pause));
	pthread_create(&a, NULL, run_spin, NULL);
	pthread_create(&b, NULL, run_pause, NULL);
	while (!tids[0] || !tids[1])
		usleep(1000);
	usleep(100000);
	printf("code %p\nexpect %d running jit\nexpect %d signal jit\nready\n",
	       (void *)code, tids[0], tids[1]);
	fflush(stdout);
	pause();
	return 0;
}
