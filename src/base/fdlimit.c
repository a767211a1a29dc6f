/*
 * fdlimit: see fdlimit.h.  The original limit is a static set once, before
 * any thread starts; the shortage noted is an atomic flag that any thread
 * may set (worker threads read /proc files too).
 */
#include "base/fdlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static struct rlimit original;
static bool raised;
static atomic_int shortage;

void fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	original = rl;
	raised = true;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void fdlimit_restore(void)
{
	if (raised)
		setrlimit(RLIMIT_NOFILE, &original);
}

long fdlimit_current(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (long)rl.rlim_cur;
}

void fdlimit_note(int err)
{
	if (err == EMFILE || err == ENFILE)
		atomic_store(&shortage, err);
}

int fdlimit_short(void)
{
	int err = atomic_load(&shortage);

	if (err)
		return err;
	/* Nothing noted: is there one to be had now? */
	int fd = open("/", O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EMFILE || errno == ENFILE ? errno : 0;
}

void fdlimit_clear(void)
{
	atomic_store(&shortage, 0);
}

void fdlimit_message(int err, char *buf, size_t len)
{
	long n = fdlimit_current();

	if (err == ENFILE)
		snprintf(buf, len, "the system is out of file descriptors (ENFILE)");
	else if (n)
		snprintf(buf, len, "out of file descriptors (ulimit -n %ld)", n);
	else
		snprintf(buf, len, "out of file descriptors");
}
