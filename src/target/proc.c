/*
 * proc: /proc readers; see proc.h.
 *
 * The files are tiny, so each reader reads the whole file into a stack
 * buffer and parses it there.  stat is parsed after the last ')' because a
 * thread name may itself contain spaces and parentheses.
 */
#include "target/proc.h"
#include "base/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An open /proc/PID/task of the process being captured: per-thread files
 * are then opened relative to it, a one-component path walk instead of
 * four (measurable at 50,000 opens a snapshot). */
static int task_dir_pid = -1, task_dir_fd = -1;

int proc_open_task_dir(int pid)
{
	int fd;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	proc_close_task_dir();
	task_dir_pid = pid;
	task_dir_fd = fd;
	return 0;
}

void proc_close_task_dir(void)
{
	if (task_dir_fd >= 0)
		close(task_dir_fd);
	task_dir_fd = -1;
	task_dir_pid = -1;
}

/* Reads /proc/PID/task/TID/FILE (or /proc/PID/FILE when tid <= 0). */
static long read_task_file(int pid, int tid, const char *file, char *buf,
			   size_t size)
{
	char path[64];

	if (tid > 0 && pid == task_dir_pid) {
		snprintf(path, sizeof(path), "%d/%s", tid, file);
		return read_file_at(task_dir_fd, path, buf, size);
	}
	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, file);
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return read_file_buf(path, buf, size);
}

/* A missing /proc entry means the task exited: say so uniformly. */
static int gone(long err)
{
	return err == -ENOENT ? -ESRCH : (int)err;
}

int proc_read_stat(int pid, int tid, struct proc_stat *st)
{
	char buf[1024];
	long len;

	/* Never /proc/PID/stat: its CPU and fault sums walk every thread
	 * (over 1 ms at 10,000 threads, each time).  The leader's own line
	 * has the same name, state, flags and thread count. */
	len = read_task_file(pid, tid > 0 ? tid : pid, "stat", buf, sizeof(buf));
	if (len < 0)
		return gone(len);
	char *open = strchr(buf, '(');
	char *close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	size_t clen = (size_t)(close - open - 1);
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, clen);
	st->comm[clen] = '\0';

	/* Fields from 3 on, numbered as in proc(5): 3 state, 4 ppid,
	 * 9 flags, 14 utime, 15 stime, 20 num_threads, 22 starttime,
	 * 31 signal (the thread's pending), 39 processor.  Split by hand: sscanf was a tenth of a capture. */
	char *f[40] = { 0 }, *p = close + 1;
	int nf = 3;
	while (nf < 40 && *p) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		f[nf++] = p;
		while (*p && *p != ' ')
			p++;
	}
	if (nf <= 22)
		return -EINVAL;
	st->state = f[3][0];
	st->ppid = (int)strtol(f[4], NULL, 10);
	st->flags = strtoul(f[9], NULL, 10);
	st->utime = strtoull(f[14], NULL, 10);
	st->stime = strtoull(f[15], NULL, 10);
	st->num_threads = strtol(f[20], NULL, 10);
	st->start_time = strtoull(f[22], NULL, 10);
	st->processor = nf > 39 ? (int)strtol(f[39], NULL, 10) : -1;
	st->sigpending = nf > 31 ? strtoull(f[31], NULL, 10) : 0;
	return 0;
}

bool proc_stat_gone(const struct proc_stat *st)
{
	return st->state == 'Z' || st->state == 'X';
}

bool proc_stat_exiting(const struct proc_stat *st)
{
	return proc_stat_gone(st) || (st->flags & PF_EXITING_FLAG);
}

static bool sigkill_pending(const struct proc_stat *st)
{
	return st->sigpending & (1ULL << (SIGKILL - 1));
}

bool proc_stat_dying(const struct proc_stat *st)
{
	return proc_stat_exiting(st) || sigkill_pending(st);
}

bool proc_process_ending(int pid)
{
	struct proc_stat st;
	int *tids;
	size_t n;
	bool ending = true, killed = false;

	if (proc_read_stat(pid, 0, &st) < 0 || proc_list_tasks(pid, &tids, &n) < 0)
		return true;
	for (size_t i = 0; i < n && !killed; i++) {
		if (proc_read_stat(pid, tids[i], &st) < 0)
			continue;
		killed = sigkill_pending(&st);
		ending = ending && proc_stat_dying(&st);
	}
	free(tids);
	return ending || killed;
}

int proc_live_thread(int pid)
{
	struct proc_stat st;
	int *tids, via = pid;
	size_t n;

	if (proc_read_stat(pid, 0, &st) < 0 || !proc_stat_gone(&st) ||
	    proc_list_tasks(pid, &tids, &n) < 0)
		return pid;
	for (size_t i = 0; i < n && via == pid; i++)
		if (tids[i] != pid && proc_read_stat(pid, tids[i], &st) == 0 &&
		    !proc_stat_gone(&st))
			via = tids[i];
	free(tids);
	return via;
}

/* Reads n hex words ("0x7f..." or "7f...") from *p; false if short. */
static bool hex_words(char *p, uint64_t **out, int n)
{
	for (int i = 0; i < n; i++) {
		char *end;
		*out[i] = strtoull(p, &end, 16);
		if (end == p)
			return false;
		p = end;
	}
	return true;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int proc_list_tasks(int pid, int **tids, size_t *n)
{
	char path[64];
	DIR *dir;
	struct dirent *de;
	int *arr = NULL;
	size_t len = 0, cap = 0;

	*tids = NULL;	/* none, on an error too */
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return gone(-errno);
	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (grow_array(&arr, &cap, len + 1, sizeof(*arr))) {
			closedir(dir);
			free(arr);
			return -ENOMEM;
		}
		arr[len++] = atoi(de->d_name);
	}
	closedir(dir);
	if (len)	/* an exiting process can list none: arr is NULL */
		qsort(arr, len, sizeof(*arr), cmp_int);
	*tids = arr;
	*n = len;
	return 0;
}

static int parse_syscall(const char *buf, struct proc_syscall *sc)
{
	memset(sc, 0, sizeof(*sc));
	if (strncmp(buf, "running", 7) == 0) {
		sc->running = true;
		sc->nr = -1;
		return 0;
	}
	char *p, *end;
	sc->nr = strtol(buf, &end, 10);
	if (end == buf)
		return -EINVAL;
	p = end;
	if (sc->nr == -1) {
		/* "-1 sp pc": blocked, but not in a system call */
		uint64_t *w[] = { &sc->sp, &sc->pc };
		return hex_words(p, w, 2) ? 0 : -EINVAL;
	}
	uint64_t *a = sc->args;
	uint64_t *w[] = { &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &sc->sp, &sc->pc };
	return hex_words(p, w, 8) ? 0 : -EINVAL;
}

int proc_read_syscall(int pid, int tid, struct proc_syscall *sc)
{
	char buf[256];
	long len;

	len = read_task_file(pid, tid, "syscall", buf, sizeof(buf));
	if (len < 0)
		return gone(len);
	return parse_syscall(buf, sc);
}

int proc_read_wchan(int pid, int tid, char *buf, size_t size)
{
	long len;

	len = read_task_file(pid, tid, "wchan", buf, size);
	if (len < 0)
		return gone(len);
	if (strcmp(buf, "0") == 0)
		buf[0] = '\0';
	return 0;
}

static int parse_exec_start(const char *buf, long len, double *ms)
{
	if (len < 0)
		return gone(len);
	const char *p = strstr(buf, "se.exec_start");
	if (!p || !(p = strchr(p, ':')))
		return -ENODATA;
	*ms = strtod(p + 1, NULL);
	return 0;
}

int proc_read_exec_start(int pid, int tid, double *ms)
{
	char buf[4096];
	long len = read_task_file(pid, tid, "sched", buf, sizeof(buf));

	return parse_exec_start(buf, len, ms);
}

int proc_sched_clock_ms(double *now_ms, int ncpu)
{
	cpu_set_t old, one;
	int measured = 0;

	for (int cpu = 0; cpu < ncpu; cpu++)
		now_ms[cpu] = -1;
	if (sched_getaffinity(0, sizeof(old), &old) < 0)
		return 0;
	for (int cpu = 0; cpu < ncpu && cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			continue;
		/* Our exec_start is refreshed when we are scheduled in on
		 * this CPU: yield first so that it is no older than now. */
		sched_yield();
		char buf[4096];
		long len = read_file_buf("/proc/thread-self/sched", buf, sizeof(buf));
		if (parse_exec_start(buf, len, &now_ms[cpu]) == 0)
			measured++;
	}
	sched_setaffinity(0, sizeof(old), &old);
	return measured;
}

/* "NS DELAY COUNT\n", split by hand: top parses 10,000 a refresh. */
static int parse_runs(const char *buf, struct proc_runs *r)
{
	unsigned long long v[3];
	const char *p = buf;

	for (int i = 0; i < 3; i++) {
		char *end;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v[i] = strtoull(p, &end, 10);
		p = end;
	}
	r->ns = v[0];
	r->count = v[2];
	return 0;
}

int proc_process_cpu_ns(int pid, uint64_t *ns)
{
	clockid_t clock;
	struct timespec ts;
	int rc = clock_getcpuclockid(pid, &clock);

	if (rc != 0)
		return -rc;
	if (clock_gettime(clock, &ts) < 0)
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

int proc_read_runs(int pid, int tid, struct proc_runs *r)
{
	char buf[128];
	long len = read_task_file(pid, tid, "schedstat", buf, sizeof(buf));

	if (len < 0)
		return gone(len);
	return parse_runs(buf, r);
}

int proc_open_task_file(int pid, int tid, const char *file)
{
	char path[64];
	int fd;

	if (pid == task_dir_pid) {
		snprintf(path, sizeof(path), "%d/%s", tid, file);
		fd = openat(task_dir_fd, path, O_RDONLY | O_CLOEXEC);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, file);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return fd < 0 ? gone(-errno) : fd;
}

/* The file again from its start, NUL-terminated (a seq_file regenerates
 * it when read at offset 0). */
static int pread_whole(int fd, char *buf, size_t size)
{
	ssize_t len = pread(fd, buf, size - 1, 0);

	if (len < 0)
		return gone(-errno);
	buf[len] = '\0';
	return 0;
}

int proc_pread_runs(int fd, struct proc_runs *r)
{
	char buf[128];
	int rc = pread_whole(fd, buf, sizeof(buf));

	return rc < 0 ? rc : parse_runs(buf, r);
}

int proc_pread_syscall(int fd, struct proc_syscall *sc)
{
	char buf[256];
	int rc = pread_whole(fd, buf, sizeof(buf));

	return rc < 0 ? rc : parse_syscall(buf, sc);
}

static int read_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0)
		return gone(-errno);
	buf[n] = '\0';
	return 0;
}

int proc_read_fd_link(int pid, int fd, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return read_link(path, buf, size);
}

int proc_read_exe(int pid, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return read_link(path, buf, size);
}

int proc_read_arch(int pid, enum arch *arch, const char **what)
{
	unsigned char h[20];	/* e_ident, e_type, e_machine */
	char path[64];
	ssize_t n;
	int fd;

	*what = "unknown";
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone(-errno);
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n < 0)
		return -errno;
	if (n < (ssize_t)sizeof(h) || memcmp(h, "\x7f" "ELF", 4) != 0 || h[5] != 1) {
		*what = "not a little-endian ELF file";
		return -ENOTSUP;
	}
	unsigned machine = h[18] | (unsigned)h[19] << 8;
	if (h[4] == 2 && machine == 62) {	/* ELFCLASS64, EM_X86_64 */
		*arch = ARCH_X86_64;
		return 0;
	}
	if (h[4] == 1 && machine == 3) {	/* ELFCLASS32, EM_386 */
		*arch = ARCH_I386;
		return 0;
	}
	*what = h[4] == 1 && machine == 62 ? "x32" : "a foreign machine's";
	return -ENOTSUP;
}

/* The line of /proc/PID/status that field starts, in buf: *line points
 * past the field's name, the line's end made a NUL. */
static int status_line(int pid, const char *field, char *buf, size_t size, char **line)
{
	char path[64], key[64];
	long len;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	len = read_file_buf(path, buf, size);
	if (len < 0)
		return gone(len);
	/* At a line start: a thread's name (the first line) may hold anything. */
	snprintf(key, sizeof(key), "\n%s", field);
	char *p = strstr(buf, key);
	if (!p)
		return -ENODATA;
	*line = p + strlen(key);
	char *nl = strchr(*line, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

int proc_read_status_field(int pid, const char *field, long *value)
{
	char buf[4096], *line;
	int rc = status_line(pid, field, buf, sizeof(buf), &line);

	if (rc == 0)
		*value = strtol(line, NULL, 10);
	return rc;
}

int proc_read_nspid(int pid, int *nspid)
{
	char buf[4096], *line, *end;
	int rc = status_line(pid, "NSpid:", buf, sizeof(buf), &line);
	long v = 0;

	if (rc < 0)
		return rc;
	/* one pid per namespace, the outermost first: the last is its own */
	for (;;) {
		long n = strtol(line, &end, 10);
		if (end == line)
			break;
		v = n;
		line = end;
	}
	if (v <= 0 || v > INT_MAX)
		return -ENODATA;
	*nspid = (int)v;
	return 0;
}

int proc_read_cgroup(int pid, struct cgroup_info *info)
{
	char path[64], buf[CGROUP_TEXT_MAX + 2];	/* longer: refused */
	long len;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	len = read_file_buf(path, buf, sizeof(buf));
	if (len < 0) {
		memset(info, 0, sizeof(*info));
		return gone(len);
	}
	return cgroup_parse(buf, (size_t)len, info);
}

int proc_read_int_file(const char *path, long *value)
{
	char buf[64];
	long len = read_file_buf(path, buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	*value = strtol(buf, NULL, 10);
	return 0;
}

int proc_uptime(double *sec)
{
	char buf[128];
	long len = read_file_buf("/proc/uptime", buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	*sec = strtod(buf, NULL);
	return 0;
}

uint64_t proc_start_time(int pid)
{
	struct proc_stat st;

	return proc_read_stat(pid, pid, &st) == 0 ? st.start_time : 0;
}
