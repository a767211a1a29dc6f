/*
 * permission: the reason for a refused trace; see permission.h.  Reads
 * only what any user may (/proc/PID/status, the owner of /proc/PID, the
 * namespace links where allowed); each check that cannot be made is
 * passed over.
 */
#include "target/permission.h"
#include "target/proc.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_DEPTH 32		/* user namespaces walked up, at most */
#define CAPS_NAMED 4		/* capabilities named, then "N more" */

/* Whether we hold capability cap in our effective set. */
static bool have_cap(cap_value_t cap)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps) {
		cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

/* The hex mask after "FIELD:" in /proc/PID/status (pid 0: ourselves). */
static int status_mask(int pid, const char *field, uint64_t *mask)
{
	char path[64], buf[4096];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	if (read_file_buf(path, buf, sizeof(buf)) < 0)
		return -ENOENT;
	char *p = strstr(buf, field);
	if (!p)
		return -ENOENT;
	*mask = strtoull(p + strlen(field), NULL, 16);
	return 0;
}

/* The capabilities in mask, named ("cap_sys_admin, cap_bpf and 3
 * more"), into buf. */
static void cap_names(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;
	int named = 0, more = 0;

	buf[0] = '\0';
	for (int c = 0; c < 64; c++) {
		if (!(mask >> c & 1))
			continue;
		if (named == CAPS_NAMED) {
			more++;
			continue;
		}
		char *name = cap_to_name((cap_value_t)c);
		int n = snprintf(buf + used, len - used, "%s%s", named ? ", " : "",
				 name ? name : "?");
		cap_free(name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
		named++;
	}
	if (more && used < len)
		snprintf(buf + used, len - used, " and %d more", more);
}

/* Whether we run in the initial user namespace: its uid map maps every
 * uid to itself. */
static bool initial_ns(void)
{
	char buf[256];
	unsigned long inside, outside, count;

	if (read_file_buf("/proc/self/uid_map", buf, sizeof(buf)) < 0)
		return true;
	return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
	       inside == 0 && outside == 0 && count == 4294967295ul;
}

/* Whether pid's user namespace is ours or below ours: false only when
 * known not to be, or when we are in a namespace of our own and may not
 * even look at pid's. */
static bool ns_covers(int pid)
{
	char path[64];
	struct stat own, st;
	bool covered = false;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return initial_ns();
	if (stat("/proc/self/ns/user", &own) < 0) {
		close(fd);
		return true;
	}
	for (int depth = 0; depth < NS_DEPTH; depth++) {
		if (fstat(fd, &st) < 0) {
			covered = true;
			break;
		}
		if (st.st_ino == own.st_ino && st.st_dev == own.st_dev) {
			covered = true;
			break;
		}
		/* EPERM: its parent is outside our namespace; none: the
		 * initial one reached */
		int parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0)
			break;
		close(fd);
		fd = parent;
	}
	close(fd);
	return covered;
}

/* With CAP_SYS_PTRACE: why pid is refused all the same, and the fix. */
static void with_ptrace_cap(int pid, char *why, size_t len)
{
	char path[64];
	struct stat st;

	/* another user's /proc files (DAC, before any ptrace check) */
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno == EACCES && stat(path, &st) == 0 && st.st_uid != geteuid() &&
		 !have_cap(CAP_DAC_READ_SEARCH) && !have_cap(CAP_DAC_OVERRIDE)) {
		snprintf(why, len,
			 "threadleak has CAP_SYS_PTRACE but lacks CAP_DAC_READ_SEARCH, which reading %d's /proc files (uid %u's, mode %04o) needs: give it that too, or run it as uid %u",
			 pid, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_uid);
		return;
	}
	if (!ns_covers(pid)) {
		snprintf(why, len,
			 "threadleak has CAP_SYS_PTRACE, but only in its own user namespace, and %d is in one outside it: run threadleak in %d's user namespace or one above it (the host's)",
			 pid, pid);
		return;
	}
	uint64_t theirs, ours;
	if (status_mask(pid, "\nCapPrm:", &theirs) == 0 &&
	    status_mask(0, "\nCapEff:", &ours) == 0 && (theirs & ~ours)) {
		char names[160];
		cap_names(theirs & ~ours, names, sizeof(names));
		snprintf(why, len,
			 "threadleak has CAP_SYS_PTRACE, but %d holds capabilities it lacks (%s), and the kernel's security modules may refuse a tracer with less: run threadleak with them too",
			 pid, names);
		return;
	}
	snprintf(why, len,
		 "threadleak has CAP_SYS_PTRACE and %d holds no capability it lacks: a security module (AppArmor, SELinux, Yama) or a seccomp filter refuses it",
		 pid);
}

int permission_error(int pid, char *err, size_t errlen)
{
	char why[400];
	long scope = 0;

	proc_read_int_file("/proc/sys/kernel/yama/ptrace_scope", &scope);
	if (have_cap(CAP_SYS_PTRACE))
		with_ptrace_cap(pid, why, sizeof(why));
	else if (geteuid() != 0 && scope >= 1)
		snprintf(why, sizeof(why),
			 "kernel.yama.ptrace_scope=%ld: run as root, give threadleak CAP_SYS_PTRACE, or set the sysctl to 0",
			 scope);
	else
		snprintf(why, sizeof(why), "needs CAP_SYS_PTRACE or the same user as the target");
	snprintf(err, errlen, "cannot trace %d: Operation not permitted (%s)", pid, why);
	return -EPERM;
}
