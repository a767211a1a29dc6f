/*
 * outfile: temporary file, fsync, rename; see outfile.h.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
	return -e;
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
	/* ".NAME.XXXXXX" beside NAME: the rename stays in one file system. */
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	of->tmp = malloc(strlen(path) + 16);
	if (!of->tmp)
		return fail(path, ENOMEM, err, errlen);
	sprintf(of->tmp, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		int e = errno;
		free(of->tmp);
		of->tmp = NULL;
		fail(path, e, err, errlen);
		out_file_abort(of);
		return -e;
	}
	/* mkstemp makes it 0600; a report is as readable as any file. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
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

int out_file_commit(struct out_file *of, char *err, size_t errlen)
{
	int e = 0;

	if (fflush(of->fp) != 0 || ferror(of->fp))
		e = errno ? errno : EIO;
	if (!e && of->tmp && fsync(fileno(of->fp)) < 0)
		e = errno;
	if (fclose(of->fp) != 0 && !e)
		e = errno ? errno : EIO;
	of->fp = NULL;
	if (!e && of->tmp && rename(of->tmp, of->path) < 0)
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
