/*
 * escapes: a process whose names would drive a terminal if printed raw.
 *
 *	escapes DIR [exit]
 *
 * Its main thread is named "m\e]0;PWN\ax" (sets a terminal's title), a
 * thread "t\e[2J\r\nFAKE" (clears the screen, forges a line), three more
 * hold every other control byte (0x01 to 0x1f and 0x7f, 15 bytes of name
 * at most each).  One thread blocks reading a fifo DIR/f<ESC>[2J<LF>FAKE,
 * another in accept on a unix socket bound to DIR/s<ESC>]0;PWN<BEL>.
 * The blocking function is named esc_CTRL..._fn, where the Makefile
 * patches the 32 bytes CTRL... of the built binary (symbol table and
 * DWARF) into 0x01..0x1f and 0x7f; so is the file name of its line.
 * Prints "ready" once all of them block; with "exit", main then returns
 * (for check: every thread leaks).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "testdata.h"

static char dir[2048];
static int nready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void ready(void)
{
	pthread_mutex_lock(&lock);
	nready++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

# 100 "CTRLCTRLCTRLCTRLCTRLCTRLCTRLCTRL.c"
NOINLINE void esc_CTRLCTRLCTRLCTRLCTRLCTRLCTRLCTRL_fn(void)
{
	pause();
	BARRIER();
}
# 49 "escapes.c"

static void *named(void *arg)
{
	prctl(PR_SET_NAME, (const char *)arg, 0, 0, 0);
	ready();
	esc_CTRLCTRLCTRLCTRLCTRLCTRLCTRLCTRL_fn();
	return NULL;
}

NOINLINE void read_fifo(int fd)
{
	char c;

	ready();
	if (read(fd, &c, 1) < 0)
		perror("read");
	BARRIER();
}

static void *fifo_reader(void *arg)
{
	char path[4096];

	(void)arg;
	snprintf(path, sizeof(path), "%s/f\033[2J\nFAKE", dir);
	if (mkfifo(path, 0600) < 0)
		perror("mkfifo");
	int fd = open(path, O_RDWR);	/* RDWR: never blocks, never EOF */
	if (fd < 0)
		perror("open fifo");
	read_fifo(fd);
	return NULL;
}

NOINLINE void accept_unix(int s)
{
	ready();
	accept(s, NULL, NULL);
	BARRIER();
}

static void *unix_acceptor(void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)arg;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.90s/s\033]0;PWN\007", dir);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
		perror("unix socket");
	accept_unix(s);
	return NULL;
}

int main(int argc, char **argv)
{
	static char names[4][16];
	pthread_t t;
	int n = 0;

	if (argc < 2 || argc > 3 || strlen(argv[1]) > 90) {
		fprintf(stderr, "usage: escapes DIR [exit]  (DIR of 90 bytes at most)\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	prctl(PR_SET_NAME, "m\033]0;PWN\007x", 0, 0, 0);
	/* every control byte in a name: 0x01..0x1f, 0x7f, 15 a name */
	for (int c = 1, k = 0; c <= 0x20; c++) {
		int b = c == 0x20 ? 0x7f : c;
		names[k][strlen(names[k])] = (char)b;
		if (strlen(names[k]) == 15)
			k++;
	}
	pthread_create(&t, NULL, named, (void *)"t\033[2J\r\nFAKE");
	n++;
	for (int k = 0; k < 3; k++, n++)
		pthread_create(&t, NULL, named, names[k]);
	pthread_create(&t, NULL, fifo_reader, NULL);
	n++;
	pthread_create(&t, NULL, unix_acceptor, NULL);
	n++;
	pthread_mutex_lock(&lock);
	while (nready < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	tl_sleep_ms(50);	/* past the calls that said ready */
	printf("ready\n");
	fflush(stdout);
	if (argc == 3 && !strcmp(argv[2], "exit"))
		return 0;
	esc_CTRLCTRLCTRLCTRLCTRLCTRLCTRLCTRL_fn();
	return 0;
}
