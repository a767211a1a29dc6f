/*
 * capture: the session that turns a pid into snapshots (capture.h says
 * the policy): it checks the pid (alive, not a kernel thread, a zombie or
 * ourself, traceable), opens the target's modules, memory and unwinder,
 * runs the phases at each refresh, reports a failure in one line, and
 * closes.  The phases, each over every thread before the next, are in
 * their own files (capture-session.h lists them and the state they
 * share): observe each thread from /proc, in parallel (capture-threads.c);
 * unwind the blocked ones from that alone, validate each by its run
 * count, stop one at a time those that need it (capture-stop.c); list the
 * tasks again for threads that appeared; then symbolize, classify and
 * describe what each waits on (capture-snapshot.c, capture-wait.c), and
 * read a Go program's goroutines (capture-go.c).
 *
 * A session (top) redoes only what changed: a thread whose run count
 * (one pread on a kept descriptor) did not move has not run, so its
 * entry is carried over untouched; tasks are listed again only when one
 * exited or the count moved; and when the process's CPU clock has not
 * moved since the last refresh, no thread ran and the last snapshot
 * stands, aged.  Per-thread state lives in struct work until it becomes
 * a struct thread of the snapshot.
 */
#include "capture/capture-session.h"
#include "base/fdlimit.h"
#include "target/fds.h"
#include "target/memory.h"
#include "target/permission.h"
#include "target/proc.h"
#include "target/ptrace.h"
#include "stacks/symbols.h"
#include "base/util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *errno_text(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* Phase 1: is pid something we can and may capture?  May rewrite *pid to
 * the thread group leader when given a thread id. */
static int check_target(int *pid, bool no_stop, char *err, size_t errlen)
{
	struct proc_stat st;
	long tgid, tracer;
	int rc = proc_read_stat(*pid, 0, &st);

	if (rc == -ESRCH) {
		snprintf(err, errlen, "no process %d", *pid);
		return -ESRCH;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read /proc/%d/stat: %s", *pid,
			 errno_text(rc));
		return rc;
	}
	if (st.flags & PF_KTHREAD_FLAG) {
		snprintf(err, errlen,
			 "%d (%s) is a kernel thread: it has no user-space stack to capture",
			 *pid, st.comm);
		return -EINVAL;
	}
	if (proc_read_status_field(*pid, "Tgid:", &tgid) == 0 && tgid != *pid)
		*pid = (int)tgid;	/* a thread id: capture its process */
	if (*pid == getpid()) {
		snprintf(err, errlen,
			 "%d is threadleak itself: a process cannot capture its own threads",
			 *pid);
		return -EINVAL;
	}
	if (st.state == 'Z' && st.num_threads <= 1) {
		snprintf(err, errlen,
			 "%d is a zombie: it has exited and waits for its parent (pid %d) to reap it; there are no threads to capture",
			 *pid, st.ppid);
		return -EINVAL;
	}
	/* Another tracer's tracees cannot be stopped by us; a capture that
	 * stops nothing reads them all the same (check under strace -f). */
	if (!no_stop &&
	    proc_read_status_field(*pid, "TracerPid:", &tracer) == 0 && tracer != 0 &&
	    tracer != getpid()) {
		char comm[64] = "?";
		struct proc_stat ts;
		if (proc_read_stat((int)tracer, 0, &ts) == 0)
			snprintf(comm, sizeof(comm), "%s", ts.comm);
		snprintf(err, errlen,
			 "%d is already being traced by pid %ld (%s): detach that tracer first",
			 *pid, tracer, comm);
		return -EBUSY;
	}
	/* /proc/PID/syscall needs the same access as ptrace attach. */
	struct proc_syscall sc;
	rc = proc_read_syscall(*pid, *pid, &sc);
	if (rc == -EACCES || rc == -EPERM)
		return permission_error(*pid, err, errlen);
	return 0;
}

void capture_session_close(struct capture_session *c)
{
	int rc, *tids;
	size_t n;

	if (!c)
		return;
	if (capture_take_background_list(c, &rc, &tids, &n) && rc == 0)
		free(tids);
	for (size_t i = 0; i < c->n; i++)
		capture_free_work(&c->w[i]);
	free(c->w);
	free(c->buf);
	if (c->uw_state)
		c->uw->close(c->uw_state);
	fds_close(c->fds);
	go_runtime_close(c->go);
	go_cache_free(c->go_cache);
	free(c->go_note);
	capture_close_python(c);
	symbols_close(c->sym);
	memory_close(c->mem);
	snapshot_free(c->snap);
	free(c);
}

static int open_target(struct capture_session *c, char *err, size_t errlen)
{
	c->sym = symbols_open(c->via, err, errlen);
	if (!c->sym)	/* out of descriptors: said so, whatever else did */
		return errno == EMFILE || errno == ENFILE ? -errno :
		       errno == ESRCH || errno == ENOENT ? -ESRCH : -EIO;
	c->mem = memory_open(c->via);
	c->fds = fds_open(c->via);
	c->buf = malloc(UNWIND_MAX_FRAMES * sizeof(*c->buf));
	if (!c->mem || !c->fds || !c->buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->uw_state = c->uw->open(c->via, symbols_dwfl(c->sym), c->mem, err,
				  errlen);
	/* A Go program: its goroutines are what leaks, read from memory;
	 * its threads are not stopped (but with --stop). */
	char gerr[256];
	/* (the runtime's layouts are known for 64-bit Go only: a 32-bit Go
	 * program is read as its threads) */
	int grc = c->opt->no_goroutines || c->arch != ARCH_X86_64 ? -ENOENT :
		  go_runtime_open(c->sym, c->mem, &c->go, gerr, sizeof(gerr));
	if (grc == -ENOTSUP || grc == -ESRCH)
		c->go_note = strdup(gerr);
	if (c->go && !(c->go_cache = go_cache_new())) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->no_stop = c->opt->no_stop || ((c->go || c->go_note) && !c->opt->all_stop);
	capture_open_python(c);
	return c->uw_state ? 0 : -EIO;
}

/*
 * What looked like the process gone (a /proc file that would not open),
 * or a failure rc, may be threadleak out of descriptors: when it is (rc
 * or an open failed with EMFILE or ENFILE, or one would now) and the
 * process is still there, err says so and this returns -EMFILE; else 0.
 */
static int fd_shortage(int rc, int pid, char *err, size_t errlen)
{
	int e = rc == -EMFILE || rc == -ENFILE ? -rc : fdlimit_short();
	char what[96];

	if (!e || (kill(pid, 0) < 0 && errno == ESRCH))
		return 0;
	fdlimit_message(e, what, sizeof(what));
	snprintf(err, errlen, "%s: cannot read process %d with so few; raise the limit (ulimit -n)",
		 what, pid);
	return -EMFILE;
}

/* The file the process runs (even deleted or replaced since): an exec
 * changes it, a rebuild of the file on disk does not. */
static int exe_identity(int pid, dev_t *dev, ino_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) < 0)
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int capture_session_open(int pid, const struct capture_options *opt,
			 struct capture_session **out, char *err, size_t errlen)
{
	struct capture_session *c;
	int rc;

	*out = NULL;
	rc = check_target(&pid, opt->no_stop, err, errlen);
	if (rc < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->pid = pid;
	c->opt = opt;
	c->uw = opt->unwinder ? opt->unwinder : unwind_default();
	c->via = proc_live_thread(pid);
	exe_identity(c->via, &c->exe_dev, &c->exe_ino);
	/* 64-bit or 32-bit: how its system calls and stacks are read.  An
	 * unreadable program is taken for 64-bit (its threads are listed
	 * all the same). */
	const char *what;
	rc = proc_read_arch(c->via, &c->arch, &what);
	if (rc == -ENOTSUP) {
		snprintf(err, errlen,
			 "%d runs %s code: threadleak reads x86_64 and i386 (32-bit) processes only",
			 pid, what);
		free(c);
		return rc;
	}
	if (rc < 0)
		c->arch = ARCH_X86_64;
	/* Only a capture that may stop threads must release them before a
	 * signal ends us; one that stops nothing leaves the caller's own
	 * handlers alone (check's: a signal ends it at once). */
	if (!opt->no_stop)
		pt_install_signal_guard();
	c->persistent = true;
	c->max_kept_fds = capture_kept_fd_budget();
	/* cleared before the lister starts: a shortage it meets is noted */
	fdlimit_clear();
	c->listing = pthread_create(&c->lister, NULL, capture_list_in_background, c) == 0;
	rc = open_target(c, err, errlen);
	if (rc < 0) {
		/* Its map, memory or modules unreadable because it is exiting,
		 * or has exited; or we are out of descriptors. */
		if (rc != -ENOMEM && fd_shortage(rc, pid, err, errlen) < 0) {
			rc = -EMFILE;
		} else if (rc == -ESRCH || (rc == -EIO && proc_process_ending(pid))) {
			snprintf(err, errlen, "process %d exited during the snapshot", pid);
			rc = -ESRCH;
		}
		capture_session_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Session, no thread ran: the last snapshot stands, a refresh later.
 * Only the waits change; the CPU times' read times do not (the watch
 * knows they still hold). */
static void age_snapshot(struct capture_session *c)
{
	struct snapshot *snap = c->snap;

	for (size_t i = 0; i < snap->nthreads; i++)
		capture_waited_longer(c, &snap->threads[i]);
	snap->taken_at = (int64_t)time(NULL);
	snap->threads_stopped = 0;
	c->refreshes++;
}

int capture_session_refresh(struct capture_session *c,
			    const struct snapshot **out, char *err,
			    size_t errlen)
{
	struct snapshot *snap;
	double t0 = now_sec();
	int rc, pid = c->pid;

	*out = NULL;
	fdlimit_clear();
	/* Before any per-thread read: see capture_check_known().  The clock sums
	 * every thread's CPU time, a walk over them in the kernel that can
	 * cost as much as reading each one: a process that keeps running
	 * (two misses in a row) is asked again only every few refreshes,
	 * and a single capture (snapshot) never asks. */
	uint64_t cpu_ns = 0;
	bool ask = c->persistent && !c->opt->all_stop &&
		   (c->clock_misses < 2 || c->refreshes % CLOCK_RETRY >= CLOCK_RETRY - 2);
	bool have_cpu = ask && proc_process_cpu_ns(pid, &cpu_ns) == 0;
	bool quiet = have_cpu && c->have_cpu && cpu_ns == c->cpu_ns;
	if (have_cpu && c->have_cpu)
		c->clock_misses = quiet ? 0 : c->clock_misses + 1;
	c->cpu_ns = cpu_ns;
	c->have_cpu = have_cpu;
	c->prev_refresh_at = c->refresh_at;
	c->refresh_at = t0;
	/* A first capture compares every thread with the clocks as they
	 * were before it began; later refreshes measure them when needed. */
	c->clock_stale = c->refreshes > 0;
	if (!c->clock_stale)
		proc_sched_clock_ms(c->sched_now_ms, 256);
	if (proc_uptime(&c->uptime) < 0)
		c->uptime = -1;
	c->threads_stopped = 0;
	c->stop_ms_total = c->stop_ms_max = 0;
	c->killed_held = false;
	c->recaptured = 0;
	c->unchanged = false;
	memory_reset(c->mem);
	fds_forget(c->fds);

	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = capture_fill_header(c, snap);
	if (rc < 0)
		goto exited;
	dev_t dev = 0;
	ino_t ino = 0;
	if (exe_identity(c->via, &dev, &ino) == 0 &&
	    (dev != c->exe_dev || ino != c->exe_ino)) {
		snprintf(err, errlen, "process %d now runs another program (%s)",
			 pid, snap->exe ? snap->exe : "?");
		rc = -ESTALE;
		goto out_free;
	}
	if (proc_open_task_dir(pid) < 0)
		goto exited;
	if (c->refreshes && !c->opt->all_stop)
		capture_check_known(c, rc, quiet);
	else
		c->need_list = true;
	if (c->unchanged) {
		proc_close_task_dir();
		snapshot_free(snap);
		age_snapshot(c);
		/* Nothing ran, but more last-run times may be read. */
		if (c->unread_waits && capture_fill_oldest(c, c->snap) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		c->snap->capture_ms = (now_sec() - t0) * 1000.0;
		*out = c->snap;
		return 0;
	}
	rc = c->opt->all_stop ? capture_all_stop(c) : capture_gently(c);
	proc_close_task_dir();
	/* Threads interrupted but not yet stopped: detach them as they stop. */
	pt_release_pending(0.2);
	snap->threads_stopped = c->threads_stopped;
	if (rc == -EINTR || pt_interrupted()) {
		snprintf(err, errlen,
			 "interrupted by %s; every thread of %d was released",
			 strsignal(pt_interrupted()), pid);
		rc = -EINTR;
		goto out_free;
	}
	if (rc == -EPERM) {
		/* none seized: another tracer's, or not ours to trace */
		char comm[64];
		for (size_t i = 0; i < c->n; i++) {
			long tracer = c->w[i].state == W_FAILED ?
				      capture_tracer_of(c->w[i].tid, comm, sizeof(comm)) : 0;
			if (tracer) {
				snprintf(err, errlen,
					 "cannot stop thread %d of %d: traced by pid %ld (%s): detach that tracer first",
					 c->w[i].tid, pid, tracer, comm);
				rc = -EBUSY;
				goto out_free;
			}
		}
		rc = permission_error(pid, err, errlen);
		goto out_free;
	}
	if (rc == -ESRCH || rc == -ENOENT)
		goto exited;
	if (rc < 0) {
		if (fd_shortage(rc, pid, err, errlen) == 0)
			snprintf(err, errlen, "capture of %d failed: %s", pid, errno_text(rc));
		else
			rc = -EMFILE;
		goto out_free;
	}
	rc = capture_read_python(c, snap);
	if (rc == 0)
		rc = capture_build_snapshot(c, snap);
	if (rc == 0)
		rc = capture_python_done(c, snap);
	if (rc == 0 && c->opt->lazy_blocked && !c->opt->all_stop)
		rc = capture_fill_oldest(c, snap);
	if (rc == 0 && (c->go || c->go_note))
		rc = capture_add_goroutines(c, snap);
	/* A thread stopped for its goroutine that did not stop in time:
	 * detached as it stops, now, not at the next refresh. */
	if (c->go && !c->opt->no_stop)
		pt_release_pending(0.2);
	if (rc == 0 && c->go)
		rc = capture_remake_stopped(c, snap);
	snap->threads_stopped = c->threads_stopped;
	snap->stop_ms_total = c->stop_ms_total;
	snap->stop_ms_max = c->stop_ms_max;
	if (rc == 0 && pt_interrupted()) {
		snprintf(err, errlen,
			 "interrupted by %s; every thread of %d was released",
			 strsignal(pt_interrupted()), pid);
		rc = -EINTR;
		goto out_free;
	}
	if (rc == 0 && c->opt->modules)
		rc = symbols_modules(c->sym, snap);
	if (rc == -ESRCH)
		goto exited;
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (snap->nthreads == 0)
		goto exited;
	/* Exited while we captured: what we saw is of a dead process,
	 * never a snapshot that looks whole. */
	struct proc_stat fin;
	bool vanished = false;	/* a thread ended during the capture */
	for (size_t i = 0; i < c->n && !vanished; i++)
		vanished = c->w[i].state == W_GONE;
	if (c->killed_held || proc_read_stat(pid, 0, &fin) < 0 ||
	    ((vanished || proc_stat_dying(&fin)) && proc_process_ending(pid)))
		goto exited;
	if (snap->partial && !snap->note)	/* not the goroutines' own */
		snap->note = strdup("some threads could not be captured completely; see their errors");
	snap->capture_ms = (now_sec() - t0) * 1000.0;
	snapshot_free(c->snap);
	c->snap = snap;
	c->refreshes++;
	*out = snap;
	return 0;

exited:
	rc = fd_shortage(0, pid, err, errlen);
	if (rc < 0)
		goto out_free;
	snprintf(err, errlen, "process %d exited%s", pid,
		 c->refreshes ? "" : " during the snapshot");
	rc = -ESRCH;
out_free:
	proc_close_task_dir();
	/* the pool the last snapshot's goroutines point into goes back */
	if (c->snap && snap)
		snapshot_adopt_pool(c->snap, snap, SIZE_MAX);
	snapshot_free(snap);
	return rc;
}

bool capture_session_unchanged(const struct capture_session *c)
{
	return c->unchanged;
}

size_t capture_session_recaptured(const struct capture_session *c)
{
	return c->recaptured;
}

int capture_snapshot(int pid, const struct capture_options *opt,
		     struct snapshot **out, char *err, size_t errlen)
{
	struct capture_session *c;
	const struct snapshot *snap;
	int rc;

	*out = NULL;
	rc = capture_session_open(pid, opt, &c, err, errlen);
	if (rc < 0)
		return rc;
	c->persistent = false;	/* one capture */
	rc = capture_session_refresh(c, &snap, err, errlen);
	if (rc == 0) {
		*out = c->snap;
		c->snap = NULL;
	}
	capture_session_close(c);
	return rc;
}
