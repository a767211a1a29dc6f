/*
 * capture-threads: the threads of the process and what the kernel says of
 * each, read from /proc before anything disturbs it.
 *
 * The session's struct work array is kept in ascending tid order and
 * grows as tasks are listed (the first listing runs on a thread of its
 * own while the session opens the target).  A thread is observed once per
 * capture: its schedstat run count first, then stat, syscall line, the fd
 * it waits on, wchan and last-run time, on every CPU in parallel.  The
 * run count is the capture's witness: read again after the unwind
 * (validation) or at a session's next refresh, the same count means the
 * thread never ran, so what was read of it still holds.  The schedstat
 * file is kept open and pread, within the budget of descriptors every
 * session of this process shares (kept_fds).
 */
#include "capture/capture-session.h"
#include "target/proc.h"
#include "base/fdlimit.h"
#include "base/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cmp_work(const void *a, const void *b)
{
	int x = ((const struct work *)a)->tid, y = ((const struct work *)b)->tid;

	return (x > y) - (x < y);
}

/* c->w is kept in ascending tid order. */
struct work *capture_find_work(struct capture_session *c, int tid)
{
	struct work key = { .tid = tid };

	if (!c->n)
		return NULL;
	return bsearch(&key, c->w, c->n, sizeof(*c->w), cmp_work);
}

/* The first listing, while the session opens its modules and unwinder
 * (a directory of 10,000 threads takes as long as opening them). */
void *capture_list_in_background(void *arg)
{
	struct capture_session *c = arg;

	c->pre_rc = proc_list_tasks(c->pid, &c->pre_tids, &c->pre_n);
	return NULL;
}

/* The background listing's result, once; false when there is none. */
bool capture_take_background_list(struct capture_session *c, int *rc, int **tids, size_t *n)
{
	if (!c->listing)
		return false;
	pthread_join(c->lister, NULL);
	c->listing = false;
	*rc = c->pre_rc;
	*tids = c->pre_tids;
	*n = c->pre_n;
	c->pre_tids = NULL;
	return true;
}

/* Adds the tasks not yet known; returns how many were added, or -errno. */
int capture_list_new_tasks(struct capture_session *c)
{
	int *tids = NULL;
	size_t ntids = 0, added = 0;
	int rc;

	if (!capture_take_background_list(c, &rc, &tids, &ntids))
		rc = proc_list_tasks(c->pid, &tids, &ntids);
	if (rc < 0)
		return rc;
	size_t old = c->n;
	/* room for all at once: one copy of the array, not one per doubling */
	if (grow_array(&c->w, &c->cap, c->n + ntids, sizeof(*c->w))) {
		free(tids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ntids; i++) {
		struct work key = { .tid = tids[i] };
		if (old && bsearch(&key, c->w, old, sizeof(*c->w), cmp_work))
			continue;
		if (grow_array(&c->w, &c->cap, c->n + 1, sizeof(*c->w))) {
			free(tids);
			return -ENOMEM;
		}
		memset(&c->w[c->n], 0, sizeof(c->w[c->n]));
		c->w[c->n].runs_fd = -1;
		c->w[c->n].snap_index = NO_INDEX;
		c->w[c->n++].tid = tids[i];
		added++;
	}
	free(tids);
	if (added && old)
		qsort(c->w, c->n, sizeof(*c->w), cmp_work);
	return (int)added;
}

/* Descriptors kept open by every session of this process (serve watches
 * several processes), atomic: one budget for them all. */
static long kept_fds;

/* The schedstat run count; the file is kept open and pread, from the
 * observation to the validation of one capture, and across a session's
 * refreshes. */
static int read_runs(struct capture_session *c, struct work *w,
		     struct proc_runs *runs)
{
	if (w->runs_fd < 0) {
		int fd = -EMFILE;
		if (__atomic_add_fetch(&kept_fds, 1, __ATOMIC_RELAXED) <= c->max_kept_fds)
			fd = proc_open_task_file(c->pid, w->tid, "schedstat");
		if (fd < 0)
			__atomic_sub_fetch(&kept_fds, 1, __ATOMIC_RELAXED);
		if (fd == -ESRCH)
			return fd;
		w->runs_fd = fd;	/* -EMFILE and the like: open each time */
	}
	if (w->runs_fd >= 0)
		return proc_pread_runs(w->runs_fd, runs);
	return proc_read_runs(c->pid, w->tid, runs);
}

/* Unchanged: the thread has not run in between. */
static bool same_runs(const struct proc_runs *a, const struct proc_runs *b)
{
	return a->count == b->count && a->ns == b->ns;
}

/* One capture is done with w's schedstat: its descriptor closed. */
void capture_release_runs(struct work *w)
{
	if (w->runs_fd >= 0) {
		close(w->runs_fd);
		w->runs_fd = -1;
		__atomic_sub_fetch(&kept_fds, 1, __ATOMIC_RELAXED);
	}
}

/* A call whose first argument is the fd it waits on. */
static bool fd_call(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_recvfrom: case SYS_recvmsg:
	case SYS_sendto: case SYS_sendmsg: case SYS_accept: case SYS_accept4:
	case SYS_connect: case SYS_epoll_wait: case SYS_epoll_pwait:
	case SYS_recvmmsg: case SYS_sendmmsg:
		return true;
	}
	return false;
}

/* What the kernel says of a thread, read before anything disturbs it.
 * Runs on worker threads: touches only w. */
void capture_observe(struct capture_session *c, struct work *w)
{
	double ms;

	/* The run count first: if it is the same at validation, the thread
	 * did not run after this point, so the syscall line read next and
	 * every stack page read later belong to one blocked moment. */
	w->have_runs = read_runs(c, w, &w->runs) == 0;
	w->runs_at = now_sec();
	if (proc_read_stat(c->pid, w->tid, &w->st) < 0) {
		w->state = W_GONE;
		return;
	}
	w->have_sc = proc_read_syscall(c->pid, w->tid, &w->sc) == 0;
	/* As the program's ABI reads it (an int 0x80 in a 64-bit program is
	 * told by its code later: capture_call_abi()). */
	syscall_decode(c->arch, w->have_sc && !w->sc.running ? w->sc.nr : -1,
		       w->sc.args, &w->call);
	/* The fd it waits on, read here, on every CPU, rather than one by
	 * one when the snapshot is built.  A link too long is read then. */
	w->have_fdlink = w->have_sc && !w->sc.running && fd_call(w->call.x86_64) &&
			 !w->call.nmem_args &&
			 proc_read_fd_link(c->via, (int)w->call.args[0], w->fdlink,
					   sizeof(w->fdlink)) == 0 &&
			 strlen(w->fdlink) < sizeof(w->fdlink) - 1;
	/* The kernel wait point only helps where the syscall says little
	 * (no syscall, restart_syscall); all-stop must read it before the
	 * stop moves it. */
	if (c->opt->all_stop || !w->have_sc || w->call.x86_64 < 0 ||
	    w->call.x86_64 == SYS_restart_syscall)
		proc_read_wchan(c->pid, w->tid, w->wchan, sizeof(w->wchan));
	w->exec_start_ms = -1;
	if (!c->opt->lazy_blocked &&
	    proc_read_exec_start(c->pid, w->tid, &ms) == 0)
		w->exec_start_ms = ms;
	if (w->st.state == 'Z' || w->st.state == 'X') {
		/* An exited leader whose other threads live on. */
		w->state = W_FAILED;
		w->seize_err = -ESRCH;
		return;
	}
	w->state = W_OBSERVED;
}

void capture_observe_job(void *arg, size_t i)
{
	struct capture_session *c = arg;

	if (c->w[i].state == W_NEW)
		capture_observe(c, &c->w[i]);
}

/* The same run count as when observed: it never ran since (see
 * capture_observe()), so its syscall line and stack are what we read. */
void capture_validate(struct capture_session *c, struct work *w)
{
	struct proc_runs runs;

	if (read_runs(c, w, &runs) < 0) {
		w->state = W_GONE;
		return;
	}
	if (w->have_runs && same_runs(&runs, &w->runs)) {
		w->state = W_CAPTURED;
		return;
	}
	/* It ran: what we unwound may be torn.  Observe and try again. */
	free(w->raw);
	w->raw = NULL;
	w->nraw = 0;
	w->state = W_NEW;
}

/* Whether threads may have been created since the tasks were listed: the
 * process has more than those known alive.  A thread created while
 * another ended goes unseen, as one created after the last listing
 * would: the snapshot is of the moment of its listing.  Cheaper than the
 * listing itself (one read against a directory of every thread). */
bool capture_maybe_newcomers(struct capture_session *c)
{
	struct proc_stat st;
	long alive = 0;

	if (proc_read_stat(c->pid, 0, &st) < 0)
		return false;	/* it exited: nothing new */
	for (size_t i = 0; i < c->n; i++)
		alive += c->w[i].state != W_GONE && c->w[i].st.state != 'Z' &&
			 c->w[i].st.state != 'X';
	return st.num_threads > alive;
}

void capture_free_work(struct work *w)
{
	free(w->raw);
	free(w->prev_raw);
	capture_release_runs(w);
	capture_python_forget(w);
}

/* Session: which known threads ran since the last refresh?  Runs on worker
 * threads: touches only its item. */
static void check_job(void *arg, size_t i)
{
	struct capture_session *c = arg;
	struct work *w = &c->w[i];
	struct proc_runs runs;
	int rc = read_runs(c, w, &runs);

	if (rc == -ESRCH) {
		w->state = W_GONE;
		return;
	}
	if (rc == 0 && w->have_runs && same_runs(&runs, &w->runs) && capture_settled(w) &&
	    w->snap_index != NO_INDEX) {
		w->state = W_KEPT;
		return;
	}
	/* It ran: capture it again, keeping the old stack for
	 * adopt_previous() (capture-stop.c). */
	free(w->prev_raw);
	w->prev_raw = w->raw;
	w->nprev = w->nraw;
	w->prev_complete = w->complete && w->state == W_CAPTURED;
	int fd = w->runs_fd, tid = w->tid;
	struct raw_frame *prev = w->prev_raw;
	int nprev = w->nprev;
	bool prev_complete = w->prev_complete;
	memset(w, 0, sizeof(*w));
	w->tid = tid;
	w->runs_fd = fd;
	w->snap_index = NO_INDEX;
	w->prev_raw = prev;
	w->nprev = nprev;
	w->prev_complete = prev_complete;
	w->state = W_NEW;
}

/* Session: drops exited threads; returns how many there were. */
static size_t drop_gone(struct capture_session *c)
{
	size_t kept = 0, gone = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->w[i].state == W_GONE) {
			capture_free_work(&c->w[i]);
			gone++;
		} else {
			c->w[kept++] = c->w[i];
		}
	}
	c->n = kept;
	return gone;
}

/* A session keeps one schedstat descriptor per thread open, as many as the
 * open-file limit allows with room to spare for everything else. */
long capture_kept_fd_budget(void)
{
	long n = fdlimit_current();

	if (n == 0)
		return 1L << 20;
	return n > 512 ? n - 512 : 0;
}

/* Phase 0 of a later refresh: what ran, what exited, what may be new.
 * quiet: the process's CPU clock has not moved since the last refresh
 * began, so none of its threads ran since: nothing was created, exited or
 * changed, and with the same thread count no thread is read at all. */
void capture_check_known(struct capture_session *c, int nthreads, bool quiet)
{
	if (quiet && (size_t)nthreads == c->n && c->all_settled) {
		c->need_list = false;
		c->unchanged = true;
		return;
	}
	run_parallel(c->n, c->opt->jobs, check_job, c);
	size_t gone = drop_gone(c);
	c->need_list = gone || (size_t)nthreads != c->n;
}
