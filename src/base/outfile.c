/*
 * outfile: an unnamed file, fsync, link; see outfile.h.
 *
 * The text is written to an O_TMPFILE file in FILE's directory: it has no
 * name until the commit, so a SIGKILL, a crash or a full disk leaves
 * nothing behind.  The commit links it in through /proc/self/fd (linkat
 * with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH): straight at FILE
 * when there is none, else at a temporary name renamed over FILE, so that
 * FILE is always the old text or the whole new one.  Where the file
 * system or the kernel has no O_TMPFILE, or /proc is not mounted, a named
 * ".NAME.XXXXXX" is written and renamed as before.
 */
#include "base/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
	return -e;
}

/* ".NAME.XXXXXX" beside NAME (the rename stays in one file system), the
 * X's left to fill; NULL when out of memory. */
static char *tmp_template(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	char *t = malloc(strlen(path) + 16);

	if (t)
		sprintf(t, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	return t;
}

/* The unnamed file in path's directory: its fd, or -errno. */
static int open_unnamed(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, proc[64];
	int fd;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	/* The mode is applied with the umask, as open(O_CREAT) does. */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	free(dir);
	if (fd < 0)
		return -errno;
	/* Linked in through /proc at the commit: make sure it is there. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (access(proc, F_OK) < 0) {
		close(fd);
		return -EOPNOTSUPP;
	}
	return fd;
}

/* Today's way: a named temporary file.  fd or -errno. */
static int open_named(struct out_file *of)
{
	int fd;

	of->tmp = tmp_template(of->path);
	if (!of->tmp)
		return -ENOMEM;
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		int e = errno;
		free(of->tmp);
		of->tmp = NULL;
		return -e;
	}
	/* mkstemp makes it 0600; a report is as readable as any file. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	return fd;
}

int out_file_open(struct out_file *of, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(of, 0, sizeof(*of));
	of->path = strdup(path);
	if (!of->path)
		return fail(path, ENOMEM, err, errlen);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fail(path, EISDIR, err, errlen);
		out_file_abort(of);
		return -EISDIR;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		of->fp = fopen(path, "w");
		if (!of->fp) {
			int e = errno;
			fail(path, e, err, errlen);
			out_file_abort(of);
			return -e;
		}
		return 0;
	}
	fd = open_unnamed(path);
	/* No O_TMPFILE here: EOPNOTSUPP (the file system), EISDIR or
	 * EINVAL (an older kernel). */
	if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL)
		fd = open_named(of);
	else
		of->unnamed = fd >= 0;
	if (fd < 0) {
		fail(path, -fd, err, errlen);
		out_file_abort(of);
		return fd;
	}
	of->fp = fdopen(fd, "w");
	if (!of->fp) {
		int e = errno;
		close(fd);
		fail(path, e, err, errlen);
		out_file_abort(of);
		return -e;
	}
	return 0;
}

/* Fills the X's of a template with letters. */
static void fill_x(char *t)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *x = t + strlen(t) - 6;
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() << 32 ^
		     (uintptr_t)t;
	}
	for (int i = 0; i < 6; i++, r /= sizeof(set) - 1)
		x[i] = set[r % (sizeof(set) - 1)];
}

/* Gives the unnamed file fd the name FILE.  0 or -errno. */
static int link_unnamed(struct out_file *of, int fd)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, of->path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* FILE is there: a name of its own first, then one rename over it. */
	of->tmp = tmp_template(of->path);
	if (!of->tmp)
		return -ENOMEM;
	for (int tries = 0;; tries++) {
		fill_x(of->tmp);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, of->tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST || tries == 100) {
			int e = errno;
			free(of->tmp);
			of->tmp = NULL;
			return -e;
		}
	}
	if (rename(of->tmp, of->path) < 0)
		return -errno;		/* the caller unlinks of->tmp */
	free(of->tmp);
	of->tmp = NULL;
	return 0;
}

int out_file_commit(struct out_file *of, char *err, size_t errlen)
{
	int e = 0, fd = fileno(of->fp);
	bool sync = of->tmp || of->unnamed;

	if (fflush(of->fp) != 0 || ferror(of->fp))
		e = errno ? errno : EIO;
	if (!e && sync && fsync(fd) < 0)
		e = errno;
	/* Linked while the descriptor is still open. */
	if (!e && of->unnamed)
		e = -link_unnamed(of, fd);
	if (fclose(of->fp) != 0 && !e)
		e = errno ? errno : EIO;
	of->fp = NULL;
	if (!e && !of->unnamed && of->tmp && rename(of->tmp, of->path) < 0)
		e = errno;
	if (e) {
		fail(of->path, e, err, errlen);
		out_file_abort(of);
		return -e;
	}
	free(of->tmp);
	free(of->path);
	memset(of, 0, sizeof(*of));
	return 0;
}

void out_file_abort(struct out_file *of)
{
	if (of->fp)
		fclose(of->fp);
	if (of->tmp)
		unlink(of->tmp);
	free(of->tmp);
	free(of->path);
	memset(of, 0, sizeof(*of));
}
