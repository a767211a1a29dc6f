/*
 * capture: pid -> snapshot, all-stop; see capture.h.
 *
 * Phases, each over every thread before the next:
 *   1. check the pid (exists, not a kernel thread, a zombie or ourself,
 *      traceable) and open the target's modules, memory and unwinder;
 *   2. read each thread's stat, wchan and last-run time, then seize and
 *      interrupt it; list the tasks again until no new thread appears
 *      (a thread created meanwhile is caught by the next listing);
 *   3. wait for each stop (bounded), read registers, unwind to raw pcs;
 *   4. detach everything, giving back any signal that arrived meanwhile;
 *   5. symbolize, classify, describe the objects waited on.
 * Per-thread working state lives in struct work until it becomes a
 * struct thread of the snapshot.
 */
#include "capture.h"
#include "classify.h"
#include "fds.h"
#include "memory.h"
#include "proc.h"
#include "ptrace.h"
#include "symbols.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_RELIST_ROUNDS 64

enum work_state {
	W_LISTED,		/* pre-read done, not seized */
	W_SEIZED,		/* interrupt sent */
	W_STOPPED,		/* in a ptrace stop */
	W_DETACHED,		/* captured and released */
	W_GONE,			/* exited before we could capture it */
	W_NOSTOP,		/* did not stop in time (D state) */
	W_FAILED,		/* could not be seized */
};

struct work {
	int tid;
	enum work_state state;
	struct proc_stat st;
	char wchan[64];
	double exec_start_ms;	/* <0 unknown */
	int pending_sig;
	int seize_err;
	struct cpu_regs regs;
	bool have_regs;
	struct raw_frame *raw;
	int nraw;
	bool complete;
};

struct capture {
	int pid;
	const struct capture_options *opt;
	struct work *w;
	size_t n, cap;
	struct memory *mem;
	struct symbolizer *sym;
	const struct unwind_ops *uw;
	void *uw_state;
	double sched_now_ms;	/* scheduler clock at the start, <0 unknown */
	int exited_meanwhile;
};

static const char *errno_text(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* Reads the Tgid/TracerPid lines of /proc/PID/status. */
static int status_field(int pid, const char *field, long *value)
{
	char path[64], buf[4096];
	long len;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	len = read_file_buf(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	char *p = strstr(buf, field);
	if (!p)
		return -ENODATA;
	*value = strtol(p + strlen(field), NULL, 10);
	return 0;
}

static int permission_error(int pid, char *err, size_t errlen)
{
	long scope = 0;

	proc_read_int_file("/proc/sys/kernel/yama/ptrace_scope", &scope);
	if (geteuid() != 0 && scope >= 1)
		snprintf(err, errlen,
			 "cannot trace %d: Operation not permitted (kernel.yama.ptrace_scope=%ld: run as root, give threadleak CAP_SYS_PTRACE, or set the sysctl to 0)",
			 pid, scope);
	else
		snprintf(err, errlen,
			 "cannot trace %d: Operation not permitted (needs CAP_SYS_PTRACE or the same user as the target)",
			 pid);
	return -EPERM;
}

/* Phase 1: is pid something we can and may capture?  May rewrite *pid to
 * the thread group leader when given a thread id. */
static int check_target(int *pid, char *err, size_t errlen)
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
	if (status_field(*pid, "Tgid:", &tgid) == 0 && tgid != *pid)
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
	if (status_field(*pid, "TracerPid:", &tracer) == 0 && tracer != 0) {
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

static struct work *find_work(struct capture *c, int tid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].tid == tid)
			return &c->w[i];
	return NULL;
}

/* Reads what the kernel says of a thread before we disturb it. */
static void pre_read(struct capture *c, struct work *w)
{
	double ms;

	if (proc_read_stat(c->pid, w->tid, &w->st) < 0) {
		w->state = W_GONE;
		return;
	}
	proc_read_wchan(c->pid, w->tid, w->wchan, sizeof(w->wchan));
	w->exec_start_ms = proc_read_exec_start(c->pid, w->tid, &ms) == 0 ? ms : -1;
}

/* Phase 2: seize every thread, re-listing until the set is stable.
 * Returns 0, -EPERM (nothing seized) or -EINTR. */
static int stop_all(struct capture *c)
{
	size_t seized = 0;

	for (int round = 0; round < MAX_RELIST_ROUNDS; round++) {
		int *tids;
		size_t ntids, added = 0;
		int rc = proc_list_tasks(c->pid, &tids, &ntids);

		if (rc < 0)
			return round == 0 ? rc : 0;
		for (size_t i = 0; i < ntids; i++) {
			if (find_work(c, tids[i]))
				continue;
			if (grow_array(&c->w, &c->cap, c->n + 1, sizeof(*c->w))) {
				free(tids);
				return -ENOMEM;
			}
			struct work *w = &c->w[c->n++];
			memset(w, 0, sizeof(*w));
			w->tid = tids[i];
			added++;
			pre_read(c, w);
			if (w->state == W_GONE)
				continue;
			if (w->st.state == 'Z' || w->st.state == 'X') {
				/* An exited leader whose other threads live on:
				 * nothing to stop, no stack to take. */
				w->state = W_FAILED;
				w->seize_err = -ESRCH;
				continue;
			}
			rc = pt_seize_interrupt(w->tid);
			if (rc == 0) {
				w->state = W_SEIZED;
				seized++;
			} else if (rc == -ESRCH) {
				w->state = W_GONE;
			} else {
				w->state = W_FAILED;
				w->seize_err = rc;
			}
			if (pt_interrupted()) {
				free(tids);
				return -EINTR;
			}
		}
		free(tids);
		if (!added)
			break;
	}
	if (!seized) {
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].state == W_FAILED && c->w[i].seize_err == -EPERM)
				return -EPERM;
	}
	return 0;
}

static int regs_in_syscall(const struct cpu_regs *r)
{
	long ax = (long)r->rax;

	/* Stopped inside a blocking call: the kernel will restart it (or
	 * return EINTR).  Anything else means it was in user space. */
	return r->orig_rax >= 0 &&
	       (ax == -512 || ax == -513 || ax == -514 || ax == -516 ||
		ax == -EINTR || ax == -ENOSYS);
}

/* Phase 3: wait for stops, take registers, unwind. */
static int capture_stopped(struct capture *c)
{
	double deadline = now_sec() + c->opt->stop_timeout;
	struct raw_frame *buf = malloc(UNWIND_MAX_FRAMES * sizeof(*buf));

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state != W_SEIZED)
			continue;
		switch (pt_wait_stop(w->tid, deadline, &w->pending_sig)) {
		case PT_STOPPED:
			w->state = W_STOPPED;
			break;
		case PT_EXITED:
			w->state = W_GONE;
			continue;
		case PT_TIMEOUT:
			w->state = W_NOSTOP;
			continue;
		case PT_INTERRUPTED:
			free(buf);
			return -EINTR;
		}
		if (pt_get_regs(w->tid, &w->regs) < 0)
			continue;
		w->have_regs = true;
		bool complete;
		int n = c->uw->unwind(c->uw_state, w->tid, &w->regs, buf,
				      UNWIND_MAX_FRAMES, &complete);
		w->raw = malloc((size_t)(n ? n : 1) * sizeof(*buf));
		if (!w->raw) {
			free(buf);
			return -ENOMEM;
		}
		memcpy(w->raw, buf, (size_t)n * sizeof(*buf));
		w->nraw = n;
		w->complete = complete;
	}
	free(buf);
	return 0;
}

/* Phase 4: release every thread we hold.  Threads that never stopped
 * still have our interrupt pending: give them a moment to stop so they
 * can be detached; any left are released by the kernel when we exit. */
static int release_all(struct capture *c)
{
	int stopped = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state == W_STOPPED) {
			pt_detach(w->tid, w->pending_sig);
			w->state = W_DETACHED;
			stopped++;
		}
	}
	double deadline = now_sec() + 0.2;
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		int sig;
		if (w->state != W_SEIZED && w->state != W_NOSTOP)
			continue;
		/* Sent an interrupt but never waited (interrupted), or timed
		 * out: reap the stop if it came, then detach. */
		enum pt_stop r = pt_wait_stop(w->tid, deadline, &sig);
		if (r == PT_STOPPED) {
			pt_detach(w->tid, sig);
			stopped++;
		}
		if (w->state == W_SEIZED)
			w->state = r == PT_EXITED ? W_GONE : W_NOSTOP;
	}
	return stopped;
}

/* poll(fds, nfds): name the descriptors of the pollfd array. */
static void describe_pollfds(struct capture *c, struct fd_table *fds,
			     uint64_t addr, uint64_t nfds, struct thread *t)
{
	struct { int32_t fd; int16_t events, revents; } pfd[8];
	size_t n = nfds < 8 ? (size_t)nfds : 8, len = 0;
	char buf[1024], desc[256];

	if (n == 0 || memory_read(c->mem, addr, pfd, n * sizeof(pfd[0])) < 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(buf) - 1; i++) {
		if (pfd[i].fd < 0)
			continue;
		if (t->wait.fd < 0)
			t->wait.fd = pfd[i].fd;
		if (fds_describe(fds, pfd[i].fd, desc, sizeof(desc)) < 0)
			snprintf(desc, sizeof(desc), "?");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d %s",
					len ? ", " : "", pfd[i].fd, desc);
	}
	if (nfds > n && len < sizeof(buf) - 1)
		snprintf(buf + len, sizeof(buf) - len, ", … (%llu fds)",
			 (unsigned long long)nfds);
	if (buf[0])
		t->wait.object = strdup(buf);
}

static void describe_wait(struct capture *c, struct fd_table *fds,
			  struct work *w, struct thread *t)
{
	struct classify_input in = { 0 };
	struct classify_result res;
	bool in_syscall = w->have_regs && regs_in_syscall(&w->regs);

	in.state = w->st.state;
	in.nr = in_syscall ? w->regs.orig_rax : -1;
	in.args = w->regs.args;
	in.wchan = w->wchan;
	in.frames = t->frames;
	in.nframes = t->nframes;
	classify_wait(&in, &res);

	t->wait.kind = res.kind;
	t->wait.syscall = in.nr;
	if (in.nr >= 0) {
		const char *name = syscall_name(in.nr);
		t->wait.syscall_name = name ? strdup(name) : NULL;
	}
	if (res.kind != WAIT_RUNNING && res.kind != WAIT_UNKNOWN &&
	    w->exec_start_ms >= 0 && c->sched_now_ms >= 0 &&
	    c->sched_now_ms >= w->exec_start_ms)
		t->wait.blocked_sec = (c->sched_now_ms - w->exec_start_ms) / 1000.0;
	if (res.kind == WAIT_RUNNING)
		return;
	t->wait.address = res.address;
	if (res.fd >= 0) {
		char desc[512];
		t->wait.fd = res.fd;
		if (fds_describe(fds, res.fd, desc, sizeof(desc)) == 0)
			t->wait.object = strdup(desc);
	}
	if (res.kind == WAIT_POLL && res.address && in.nr != SYS_select &&
	    in.nr != SYS_pselect6) {
		describe_pollfds(c, fds, res.address, w->regs.args[1], t);
		t->wait.address = 0;
	}
	if (res.pthread_mutex && res.address) {
		/* glibc x86_64 pthread_mutex_t: __owner (a tid) at offset 8. */
		int32_t owner;
		if (memory_read(c->mem, res.address + 8, &owner, sizeof(owner)) == 0 &&
		    owner > 0 && find_work(c, owner))
			t->wait.owner = owner;
	}
	if (res.kind == WAIT_JOIN && !t->wait.object && res.address) {
		/* pthread_join waits on the joined thread's tid word. */
		int32_t tid;
		if (memory_read(c->mem, res.address, &tid, sizeof(tid)) == 0 &&
		    tid > 0 && find_work(c, tid))
			t->wait.owner = tid;
	}
}

static const char *work_error(const struct work *w)
{
	switch (w->state) {
	case W_NOSTOP:
		return w->st.state == 'D' ?
			"in uninterruptible sleep (D): did not stop in time, stack not captured" :
			"did not stop in time: stack not captured";
	case W_FAILED:
		if (w->seize_err == -ESRCH)
			return "exited thread group leader: no stack";
		return "could not be attached: stack not captured";
	default:
		return NULL;
	}
}

/* Phase 5: the snapshot proper. */
static int build_snapshot(struct capture *c, struct snapshot *snap)
{
	struct fd_table *fds = fds_open(c->pid);
	int rc = 0;

	if (!fds)
		return -ENOMEM;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		struct work *w = &c->w[i];
		if (w->state == W_GONE) {
			c->exited_meanwhile++;
			continue;
		}
		struct thread *t = snapshot_add_thread(snap);
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		t->tid = w->tid;
		t->name = strdup(w->st.comm);
		t->state = w->st.state;
		t->utime = w->st.utime;
		t->stime = w->st.stime;
		t->start_time = w->st.start_time;
		t->stopped = w->state == W_DETACHED;
		if (w->nraw)
			rc = symbols_resolve(c->sym, w->raw, w->nraw, t);
		const char *why = work_error(w);
		if (why && w->st.state != 'Z') {
			t->partial = true;
			t->error = strdup(why);
		} else if (w->nraw && !w->complete) {
			t->partial = true;
			/* The unwinder stopped before the outermost frame:
			 * no unwind info for the next caller, or bad memory. */
			if (asprintf(&t->error, "unwinding stopped after %d frame%s",
				     w->nraw, w->nraw == 1 ? "" : "s") < 0)
				t->error = NULL;
		}
		if (t->partial)
			snap->partial = true;
		describe_wait(c, fds, w, t);
	}
	fds_close(fds);
	return rc;
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->w[i].raw);
	free(c->w);
	if (c->uw_state)
		c->uw->close(c->uw_state);
	symbols_close(c->sym);
	memory_close(c->mem);
}

static int open_target(struct capture *c, char *err, size_t errlen)
{
	c->sym = symbols_open(c->pid, err, errlen);
	if (!c->sym)
		return -EIO;
	c->mem = memory_open(c->pid);
	if (!c->mem) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->uw_state = c->uw->open(c->pid, symbols_dwfl(c->sym), c->mem, err,
				  errlen);
	return c->uw_state ? 0 : -EIO;
}

static void fill_header(struct capture *c, struct snapshot *snap)
{
	char buf[4096];
	struct proc_stat st;

	snap->version = SNAPSHOT_VERSION;
	snap->pid = c->pid;
	if (proc_read_stat(c->pid, 0, &st) == 0)
		snap->comm = strdup(st.comm);
	if (proc_read_exe(c->pid, buf, sizeof(buf)) == 0)
		snap->exe = strdup(buf);
	snap->unwinder = strdup(c->uw->name);
	snap->taken_at = (int64_t)time(NULL);
}

int capture_snapshot(int pid, const struct capture_options *opt,
		     struct snapshot **out, char *err, size_t errlen)
{
	struct capture c = { 0 };
	struct snapshot *snap;
	double t0 = now_sec();
	int rc, stopped;

	*out = NULL;
	rc = check_target(&pid, err, errlen);
	if (rc < 0)
		return rc;
	c.pid = pid;
	c.opt = opt;
	c.uw = opt->unwinder ? opt->unwinder : unwind_default();
	if (proc_sched_clock_ms(&c.sched_now_ms) < 0)
		c.sched_now_ms = -1;
	pt_install_signal_guard();

	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fill_header(&c, snap);
	rc = open_target(&c, err, errlen);
	if (rc < 0) {
		if (rc == -EIO && proc_read_stat(pid, 0, &(struct proc_stat){0}) == -ESRCH) {
			snprintf(err, errlen, "process %d exited during the snapshot", pid);
			rc = -ESRCH;
		}
		goto out_free;
	}

	rc = stop_all(&c);
	if (rc == 0)
		rc = capture_stopped(&c);
	stopped = release_all(&c);
	snap->threads_stopped = stopped;
	if (rc == -EINTR || pt_interrupted()) {
		snprintf(err, errlen,
			 "interrupted by %s; every thread of %d was released",
			 strsignal(pt_interrupted()), pid);
		rc = -EINTR;
		goto out_free;
	}
	if (rc == -EPERM) {
		rc = permission_error(pid, err, errlen);
		goto out_free;
	}
	if (rc < 0) {
		snprintf(err, errlen, "capture of %d failed: %s", pid, errno_text(rc));
		goto out_free;
	}
	rc = build_snapshot(&c, snap);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (snap->nthreads == 0) {
		snprintf(err, errlen, "process %d exited during the snapshot", pid);
		rc = -ESRCH;
		goto out_free;
	}
	if (snap->partial)
		snap->note = strdup("some threads could not be captured completely; see their errors");
	snap->capture_ms = (now_sec() - t0) * 1000.0;
	capture_free(&c);
	*out = snap;
	return 0;

out_free:
	capture_free(&c);
	snapshot_free(snap);
	return rc;
}
