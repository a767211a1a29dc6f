/*
 * capture: pid -> snapshot; see capture.h for the policy.
 *
 * Phases, each over every thread before the next:
 *   1. check the pid (exists, not a kernel thread, a zombie or ourself,
 *      traceable) and open the target's modules, memory and unwinder;
 *   2. observe: each thread's stat, syscall line, run count, last-run time
 *      and wchan, read in parallel on every CPU (reading /proc/TID/syscall
 *      waits for the task to be off-CPU, ~20 us each);
 *   3. unwind blocked threads from what was observed, stopping nothing,
 *      each as soon as it is observed (the others are being observed
 *      meanwhile);
 *   4. validate it at once: read the run count again; a thread that ran
 *      meanwhile is captured again;
 *   5. stop, one at a time, the threads that need it (running, not
 *      unwindable without all registers, not validated), unless a stop
 *      would break their call with EINTR;
 *   6. list the tasks again and capture threads that appeared meanwhile;
 *   7. symbolize, classify, describe the objects waited on; a Go
 *      program's goroutines, each running one read in a stop of its
 *      thread (capture-go.c), whose entry is then made again.
 * A session (top) runs these phases again at each refresh, but only for
 * threads that changed: phase 0 reads every known thread's run count
 * through a descriptor kept open (one pread); a thread whose count did not
 * move has not run, so its stack, wait and frames are carried over to the
 * new snapshot as they were, untouched.  Tasks are listed again only when
 * a thread exited or the thread count moved.  Before phase 0, one read of
 * the process's CPU clock: when it has not moved since the last refresh
 * began, no thread ran and the count is the same, the last snapshot
 * stands (aged) and no thread is read at all.
 * With all_stop, phase 3-5 become: seize every thread (re-listing until no
 * new one appears), unwind each from its registers, release all together.
 * Per-thread working state lives in struct work until it becomes a
 * struct thread of the snapshot.
 */
#include "capture/capture-session.h"
#include "capture/classify.h"
#include "base/fdlimit.h"
#include "target/fds.h"
#include "stacks/fpguess.h"
#include "stacks/pclntab.h"
#include "model/locks.h"
#include "go/unwind.h"
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static int cmp_work(const void *a, const void *b)
{
	int x = ((const struct work *)a)->tid, y = ((const struct work *)b)->tid;

	return (x > y) - (x < y);
}

/* c->w is kept in ascending tid order. */
struct work *find_work(struct capture_session *c, int tid)
{
	struct work key = { .tid = tid };

	if (!c->n)
		return NULL;
	return bsearch(&key, c->w, c->n, sizeof(*c->w), cmp_work);
}

/* Adds the tasks not yet known; returns how many were added, or -errno. */
/* The first listing, while the session opens its modules and unwinder
 * (a directory of 10,000 threads takes as long as opening them). */
static void *list_in_background(void *arg)
{
	struct capture_session *c = arg;

	c->pre_rc = proc_list_tasks(c->pid, &c->pre_tids, &c->pre_n);
	return NULL;
}

/* The background listing's result, once; false when there is none. */
static bool take_background_list(struct capture_session *c, int *rc, int **tids, size_t *n)
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

static int list_new_tasks(struct capture_session *c)
{
	int *tids = NULL;
	size_t ntids = 0, added = 0;
	int rc;

	if (!take_background_list(c, &rc, &tids, &ntids))
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
static void observe(struct capture_session *c, struct work *w)
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
	 * told by its code later: call_abi()). */
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

static void observe_job(void *arg, size_t i)
{
	struct capture_session *c = arg;

	if (c->w[i].state == W_NEW)
		observe(c, &c->w[i]);
}

/* The same run count as when observed: it never ran since (see
 * observe()), so its syscall line and stack are what we read. */
static void validate(struct capture_session *c, struct work *w)
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

static int keep_frames(struct capture_session *c, struct work *w, int n, bool complete)
{
	free(w->raw);
	w->raw = malloc((size_t)(n ? n : 1) * sizeof(*w->raw));
	if (!w->raw)
		return -ENOMEM;
	memcpy(w->raw, c->buf, (size_t)n * sizeof(*w->raw));
	w->nraw = n;
	w->complete = complete;
	return 0;
}

int unwind_regs(struct capture_session *c, struct work *w)
{
	bool complete;
	uint64_t pc = w->regs.r[REG_DW_RIP], sp = w->regs.r[REG_DW_RSP];
	unsigned word = arch_word(w->regs.arch);

	/* Go code: the binary's own table unwinds it, stripped or not, from
	 * sp and pc alone (go/unwind.h). */
	if (go_unwind_covers(c->sym, pc)) {
		int n = go_unwind(c->sym, c->mem, pc, sp, c->buf, UNWIND_MAX_FRAMES,
				  &complete);
		if (n > 0)
			return keep_frames(c, w, n, complete);
	}
	int n = c->uw->unwind(c->uw_state, w->tid, &w->regs, c->buf,
			      UNWIND_MAX_FRAMES, &complete);
	/* Stopped in code of no module we know: one mapped since (dlopen)? */
	if (!complete && n > 0 && symbols_cover(c->sym, c->buf[n - 1].pc))
		n = c->uw->unwind(c->uw_state, w->tid, &w->regs, c->buf,
				  UNWIND_MAX_FRAMES, &complete);
	/* C into Go (cgo): Go's traceback ends at its stack switch. */
	bool cut;
	n = go_unwind_trim(c->sym, c->buf, n, &cut);
	complete |= cut;
	/* Stopped in clone or clone3 just past the system call.  The child
	 * (clone returned 0 there) has an empty stack: its parent's unwind
	 * info would read garbage above.  The parent: glibc's unwind info
	 * ends before that instruction, and nothing is pushed in between,
	 * so its caller's return address is at sp (x86_64); i386 pushes
	 * ebx and esi first: from the byte before its int 0x80 (2 bytes),
	 * whose row of the unwind info says so (as check.c does). */
	if (n >= 1 && w->stopped && symbols_is_clone(c->sym, &c->buf[0])) {
		if (w->regs.rax == 0) {
			n = 1;
			complete = true;
		} else if (!complete && w->regs.arch == ARCH_I386) {
			struct cpu_regs r = w->regs;
			r.r[REG_DW_RIP] = pc - 3;
			n = c->uw->unwind(c->uw_state, w->tid, &r, c->buf,
					  UNWIND_MAX_FRAMES, &complete);
			c->buf[0] = (struct raw_frame){ pc, false };
		} else if (!complete) {
			struct cpu_regs r = w->regs;
			uint64_t ra = 0;
			if (memory_read(c->mem, sp, &ra, word) == 0) {
				r.r[REG_DW_RSP] = sp + word;
				r.r[REG_DW_RIP] = ra;
				n = 1 + c->uw->unwind(c->uw_state, w->tid, &r, c->buf + 1,
						      UNWIND_MAX_FRAMES - 1, &complete);
				c->buf[1].return_address = true;
			}
		}
	}
	/* Not whole from sp and pc: frame-pointer code wants rbp. */
	if (n > 0 && !(complete && symbols_is_stack_end(c->sym, &c->buf[n - 1])))
		n = fpguess_unwind(c->uw, c->uw_state, w->tid, &w->regs, c->buf,
				   UNWIND_MAX_FRAMES, n, &complete, c->mem, c->sym);
	return keep_frames(c, w, n, complete);
}

static int regs_in_syscall(const struct cpu_regs *r)
{
	long ax = r->arch == ARCH_I386 ? (int32_t)r->rax : (long)r->rax;

	/* Stopped inside a blocking call: the kernel will restart it (or
	 * return EINTR).  Anything else means it was in user space. */
	return r->orig_rax >= 0 &&
	       (ax == -512 || ax == -513 || ax == -514 || ax == -516 ||
		ax == -EINTR || ax == -ENOSYS);
}

/*
 * The ABI of the system call a thread blocks in (or was stopped in): a
 * 32-bit program's are i386 calls; a 64-bit one's too where its code made
 * the call with int 0x80 (cd 80, the two bytes before the pc: the kernel
 * then takes i386 numbers and arguments, and shows them so in
 * /proc/TID/syscall).  sysenter and syscall from 32-bit code are i386
 * calls as well, and 64-bit code's syscall (0f 05) is not.
 */
static enum arch call_abi(struct capture_session *c, enum arch code, uint64_t pc)
{
	unsigned char insn[2];

	if (code == ARCH_I386 || c->arch == ARCH_I386)
		return ARCH_I386;
	if (pc >= 2 && memory_read(c->mem, pc - 2, insn, sizeof(insn)) == 0 &&
	    insn[0] == 0xcd && insn[1] == 0x80)
		return ARCH_I386;
	return ARCH_X86_64;
}

/* The registers a blocked thread's syscall line gives away. */
static void regs_from_syscall(struct capture_session *c, const struct proc_syscall *sc,
			      struct cpu_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->arch = c->arch;
	r->r[REG_DW_RSP] = sc->sp;
	r->r[REG_DW_RIP] = sc->pc;
	r->valid = 1u << REG_DW_RSP | 1u << REG_DW_RIP;
	r->orig_rax = sc->nr;
	if (sc->nr >= 0) {
		/* The syscall arguments are the registers at the syscall
		 * (i386: ebx ecx edx esi edi ebp, callee-saved but ecx, edx:
		 * what unwinds frame-pointer code). */
		const int *argreg = regs_arg_slots(call_abi(c, r->arch, sc->pc));
		for (int k = 0; k < 6; k++) {
			r->r[argreg[k]] = sc->args[k];
			r->valid |= 1u << argreg[k];
			r->args[k] = sc->args[k];
		}
	}
}

/* A socketcall's arguments, from the caller's stack. */
static void read_mem_args(struct capture_session *c, struct syscall_call *call)
{
	uint32_t words[6];

	if (call->nmem_args > 0 && call->nmem_args <= 6 &&
	    memory_read(c->mem, call->mem_args, words,
			(size_t)call->nmem_args * sizeof(words[0])) == 0)
		syscall_decode_mem(call, words);
}

/* The call a blocked thread's syscall line shows, decoded in its ABI. */
static void syscall_line_call(struct capture_session *c, const struct work *w,
			      struct syscall_call *call)
{
	*call = w->call;
	if (call->nr >= 0 && call_abi(c, c->arch, w->sc.pc) != call->abi)
		syscall_decode(ARCH_I386, w->sc.nr, w->sc.args, call);
	read_mem_args(c, call);
}

static bool is_blocked(const struct work *w)
{
	return w->have_sc && !w->sc.running && w->sc.sp && w->sc.pc &&
	       w->st.state != 'R';
}

/* Would a ptrace stop make this thread's blocking call fail with EINTR? */
bool stop_is_unsafe(struct capture_session *c, const struct work *w)
{
	struct syscall_call call;
	bool sock = false;
	char link[64];

	if (!is_blocked(w) || w->sc.nr < 0)
		return false;
	syscall_line_call(c, w, &call);
	long nr = call.x86_64;
	if (nr == SYS_read || nr == SYS_write || nr == SYS_readv || nr == SYS_writev)
		sock = w->have_fdlink && call.abi == w->call.abi ?
		       strncmp(w->fdlink, "socket:", 7) == 0 :
		       proc_read_fd_link(c->via, (int)call.args[0], link,
					 sizeof(link)) == 0 &&
		       strncmp(link, "socket:", 7) == 0;
	return stop_would_eintr(nr, sock);
}

/*
 * Session: a thread that needed a stop last time (its stack does not unwind
 * from sp and pc alone, even with a frame-base guess) and is blocked again at
 * the same place: when what sp and pc give is the start of the stack the
 * stop gave, the rest is that stack too, and a second stop is spared.
 */
static void adopt_previous(struct work *w)
{
	if (!w->prev_raw || !w->prev_complete || w->nraw == 0 ||
	    w->nraw > w->nprev)
		return;
	for (int i = 0; i < w->nraw; i++)
		if (w->raw[i].pc != w->prev_raw[i].pc)
			return;
	free(w->raw);
	w->raw = w->prev_raw;
	w->nraw = w->nprev;
	w->complete = true;
	w->prev_raw = NULL;
	w->nprev = 0;
}

/* Phase 3: unwind a blocked thread from its syscall line; the result
 * (complete or not) waits for validation. */
static int capture_nostop(struct capture_session *c, struct work *w)
{
	if (!is_blocked(w))
		return 0;
	w->attempts++;
	regs_from_syscall(c, &w->sc, &w->regs);
	w->have_regs = true;
	w->state = W_UNWOUND;
	int rc = unwind_regs(c, w);
	/* Without callee-saved registers (rbp...) an unwinder may stop early
	 * and still call it the end: only a stack that ends where threads
	 * begin is whole. */
	if (rc == 0 && w->complete && w->nraw &&
	    !symbols_is_stack_end(c->sym, &w->raw[w->nraw - 1]))
		w->complete = false;
	if (rc == 0 && !w->complete)
		adopt_previous(w);
	return rc;
}

/* Phase 5: one thread, stopped alone, as briefly as possible. */
/* A stop from t0 (now_sec) until now; again: of a thread counted already. */
void count_stop(struct capture_session *c, double t0, bool again)
{
	double ms = (now_sec() - t0) * 1000.0;

	if (!again)
		c->threads_stopped++;
	c->stop_ms_total += ms;
	if (ms > c->stop_ms_max)
		c->stop_ms_max = ms;
}

static int capture_stop_one(struct capture_session *c, struct work *w)
{
	double t0 = now_sec(), deadline = t0 + c->opt->stop_timeout;
	int rc = pt_seize_interrupt(w->tid);

	if (rc == -ESRCH) {
		w->state = W_GONE;
		return 0;
	}
	if (rc < 0) {
		w->state = W_FAILED;
		w->seize_err = rc;
		return 0;
	}
	switch (pt_wait_stop(w->tid, deadline, &w->pending_sig)) {
	case PT_STOPPED:
		break;
	case PT_EXITED:
		w->state = W_GONE;
		return 0;
	case PT_TIMEOUT:
		w->state = W_NOSTOP;
		pt_forget(w->tid);
		return 0;
	case PT_INTERRUPTED:
		pt_forget(w->tid);
		return -EINTR;
	}
	w->stopped = true;
	if (pt_get_regs(w->tid, &w->regs) == 0) {
		w->have_regs = true;
		rc = unwind_regs(c, w);
	}
	if (pt_detach(w->tid, w->pending_sig) == -ESRCH)
		c->killed_held = true;
	count_stop(c, t0, false);
	w->state = W_CAPTURED;
	return rc < 0 ? rc : 0;
}

/* Phase 5: the threads a stop must capture: running ones, blocked ones
 * whose stack did not unwind completely from sp and pc alone, ones that
 * kept changing.  Not those a stop would break with EINTR. */
static int stop_where_needed(struct capture_session *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		bool needs = w->state == W_OBSERVED ||
			     (w->state == W_CAPTURED && !w->stopped && !w->complete);
		if (!needs)
			continue;
		if (c->no_stop || stop_is_unsafe(c, w)) {
			w->state = W_UNSAFE;	/* keeps any validated frames */
			continue;
		}
		int rc = capture_stop_one(c, w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Phases 3 and 4, one thread at a time, in order, as the observers hand
 * them on: unwound, then validated at once.  The sooner the run count is
 * read again, the less time the thread has had to wake.  One capture is
 * then done with the thread's schedstat: closed now, not kept to the end,
 * so only the threads between observation and unwind hold one (each
 * holds the kernel's 4 KiB seq_file buffer: 10,000 held together cost
 * 45 ms of slab allocation in bench/scale.sh). */
static int unwind_job(void *arg, size_t i)
{
	struct capture_session *c = arg;
	struct work *w = &c->w[i];
	int rc = 0;

	if (w->state != W_OBSERVED)
		return 0;
	rc = capture_nostop(c, w);
	if (w->state == W_UNWOUND)
		validate(c, w);
	if (!c->persistent && w->runs_fd >= 0) {
		close(w->runs_fd);
		w->runs_fd = -1;
		__atomic_sub_fetch(&kept_fds, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

/* Whether threads may have been created since the tasks were listed: the
 * process has more than those known alive.  A thread created while
 * another ended goes unseen, as one created after the last listing
 * would: the snapshot is of the moment of its listing.  Cheaper than the
 * listing itself (one read against a directory of every thread). */
static bool maybe_newcomers(struct capture_session *c)
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

/* Phases 2-6 without stopping what need not be stopped. */
static int capture_gently(struct capture_session *c)
{
	/* A session (top) catches newcomers at its next refresh. */
	int rounds = c->persistent ? 1 : NOSTOP_RELIST_ROUNDS;

	for (int round = 0; round < rounds; round++) {
		int added = 0;
		if (round > 0 && !maybe_newcomers(c))
			break;
		if (round > 0 || c->need_list) {
			added = list_new_tasks(c);
			if (added < 0)
				return round == 0 ? added : 0;
		}
		if (round > 0 && added == 0)
			break;
		for (int attempt = 0; attempt < NOSTOP_ATTEMPTS; attempt++) {
			bool retry = false;
			/* Each thread unwound as soon as it is observed, while
			 * the others are observed. */
			if (run_parallel_then(c->n, c->opt->jobs, observe_job, c, unwind_job, c) < 0)
				return -ENOMEM;
			if (pt_interrupted())
				return -EINTR;
			for (size_t i = 0; i < c->n; i++)
				retry |= c->w[i].state == W_NEW;
			if (!retry)
				break;
			/* Pages cached for a thread that ran may be stale. */
			memory_reset(c->mem);
		}
		/* Still changing after every attempt: observe once more and
		 * let phase 5 stop it if it may. */
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].state == W_NEW)
				observe(c, &c->w[i]);
		int rc = stop_where_needed(c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* All-stop: seize every thread, re-listing until the set is stable.
 * Returns 0, -EPERM (nothing seized) or -EINTR. */
/* A thread that is ending (the kernel refuses to attach to one): gone,
 * not a failure. */
static bool exiting(struct capture_session *c, struct work *w)
{
	struct proc_stat st;

	return proc_read_stat(c->pid, w->tid, &st) < 0 || proc_stat_exiting(&st);
}

static int stop_all(struct capture_session *c)
{
	size_t seized = 0;

	for (int round = 0; round < MAX_RELIST_ROUNDS; round++) {
		int added = list_new_tasks(c);

		if (added < 0)
			return round == 0 ? added : 0;
		if (added == 0)
			break;
		/* The new ones, wherever the re-sort by tid put them (a reused
		 * tid lands among the old ones): each is seized once. */
		for (size_t i = 0; i < c->n; i++) {
			struct work *w = &c->w[i];
			if (w->state != W_NEW)
				continue;
			observe(c, w);
			if (w->state != W_OBSERVED)
				continue;
			int rc = pt_seize_interrupt(w->tid);
			if (rc == 0) {
				w->state = W_SEIZED;
				seized++;
			} else if (rc == -ESRCH || (rc == -EPERM && exiting(c, w))) {
				w->state = W_GONE;
			} else {
				w->state = W_FAILED;
				w->seize_err = rc;
			}
			if (pt_interrupted())
				return -EINTR;
		}
	}
	if (!seized) {
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].state == W_FAILED && c->w[i].seize_err == -EPERM)
				return -EPERM;
	}
	return 0;
}

/* All-stop: wait for the stops, take registers, unwind. */
static int capture_stopped(struct capture_session *c)
{
	double deadline = now_sec() + c->opt->stop_timeout;

	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state != W_SEIZED)
			continue;
		switch (pt_wait_stop(w->tid, deadline, &w->pending_sig)) {
		case PT_STOPPED:
			w->state = W_STOPPED;
			w->stopped = true;
			break;
		case PT_EXITED:
			w->state = W_GONE;
			continue;
		case PT_TIMEOUT:
			w->state = W_NOSTOP;
			continue;
		case PT_INTERRUPTED:
			return -EINTR;
		}
		if (pt_get_regs(w->tid, &w->regs) < 0)
			continue;
		w->have_regs = true;
		if (unwind_regs(c, w) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* All-stop: release every thread we hold.  Threads that never stopped
 * still have our interrupt pending: ptrace.c keeps them and detaches them
 * when they stop (pt_release_pending), or the kernel does when we exit. */
static void release_all(struct capture_session *c, double t0)
{
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state == W_STOPPED) {
			if (pt_detach(w->tid, w->pending_sig) == -ESRCH)
				c->killed_held = true;
			w->state = W_CAPTURED;
			count_stop(c, t0, false);	/* held since t0 at most */
		} else if (w->state == W_SEIZED || w->state == W_NOSTOP) {
			pt_forget(w->tid);
			if (w->state == W_SEIZED)
				w->state = W_NOSTOP;
		}
	}
}

/* poll(fds, nfds): name the descriptors of the pollfd array. */
static void describe_pollfds(struct capture_session *c, uint64_t addr, uint64_t nfds,
			     struct thread *t)
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
		if (fds_describe(c->fds, pfd[i].fd, desc, sizeof(desc)) < 0)
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

/* Seconds since the thread last ran, from the scheduler's clock; never
 * more than the thread's age (CPU clocks drift apart a little).  Unknown
 * (-1) for a thread stopped by a signal (state T): it ran to stop, so its
 * last run is its stop, not the start of its wait. */
static double blocked_for(struct capture_session *c, const struct work *w)
{
	int cpu = w->st.processor;

	if (w->st.state == 'T')
		return -1;
	/* Measuring the clocks moves us to every CPU in turn: a refresh
	 * that reads no last-run time does without. */
	if (c->clock_stale) {
		proc_sched_clock_ms(c->sched_now_ms, 256);
		c->clock_stale = false;
	}
	if (cpu < 0 || cpu >= 256)
		return -1;
	double now = c->sched_now_ms[cpu];
	if (w->exec_start_ms <= 0 || now <= 0)
		return -1;
	if (now < w->exec_start_ms)
		return 0;	/* it ran after the capture began */
	double sec = (now - w->exec_start_ms) / 1000.0;
	double age = c->uptime - (double)w->st.start_time / (double)sysconf(_SC_CLK_TCK);
	if (c->uptime > 0 && age >= 0 && sec > age)
		sec = age;
	return sec;
}

static void describe_wait(struct capture_session *c, struct work *w, struct thread *t)
{
	struct classify_input in = { 0 };
	struct classify_result res;
	struct syscall_call call;
	bool from_line = false;

	in.state = w->st.state;
	if (w->stopped && w->have_regs && regs_in_syscall(&w->regs)) {
		struct cpu_regs r = w->regs;
		enum arch abi = call_abi(c, r.arch, r.r[REG_DW_RIP]);
		regs_syscall_args(&r, abi);
		syscall_decode(abi, r.orig_rax, r.args, &call);
		read_mem_args(c, &call);
	} else if (w->have_sc && !w->sc.running && w->sc.nr >= 0) {
		syscall_line_call(c, w, &call);
		from_line = true;
	} else {
		syscall_decode(c->arch, -1, NULL, &call);
	}
	/* classify's tables are x86_64 calls: an i386 one's twin */
	in.nr = call.x86_64;
	in.args = call.args;
	in.wchan = w->wchan;
	in.frames = t->frames;
	in.nframes = t->nframes;
	classify_wait(&in, &res);

	t->wait.kind = res.kind;
	t->wait.syscall = call.nr;	/* the thread's own ABI's number */
	if (call.nr >= 0 && call.name)
		t->wait.syscall_name = strdup(call.name);
	if (res.kind == WAIT_RUNNING || res.kind == WAIT_UNKNOWN)
		return;
	t->wait.blocked_sec = blocked_for(c, w);
	t->wait.address = res.address;
	if (res.fd >= 0) {
		char desc[512];
		t->wait.fd = res.fd;
		bool known = w->have_fdlink && from_line && call.abi == w->call.abi &&
			     res.fd == (int)w->call.args[0];
		if ((known ? fds_describe_link(c->fds, w->fdlink, desc, sizeof(desc)) :
		     fds_describe(c->fds, res.fd, desc, sizeof(desc))) == 0)
			t->wait.object = strdup(desc);
	}
	if (res.kind == WAIT_POLL && res.address && in.nr != SYS_select &&
	    in.nr != SYS_pselect6) {
		describe_pollfds(c, res.address, in.args[1], t);
		t->wait.address = 0;
	}
	if (res.pthread_mutex && res.address) {
		/* glibc pthread_mutex_t: __owner (a tid) at offset 8, x86_64 and
		 * i386 alike. */
		int32_t owner;
		if (memory_read(c->mem, res.address + 8, &owner, sizeof(owner)) == 0 &&
		    owner > 0 && find_work(c, owner))
			t->wait.owner = owner;
	}
	if (res.kind == WAIT_JOIN && res.address) {
		/* pthread_join waits on the joined thread's tid word. */
		int32_t tid;
		if (memory_read(c->mem, res.address, &tid, sizeof(tid)) == 0 &&
		    tid > 0 && find_work(c, tid))
			t->wait.owner = tid;
	}
}

static const char *work_error(const struct capture_session *c,
			      const struct work *w)
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
	case W_UNSAFE:
		if (c->no_stop)
			return w->nraw ? "stack incomplete: more needs a ptrace stop, and this capture stops nothing" :
			       "stack not captured: it was running, and this capture stops nothing";
		return w->nraw ?
			"stack incomplete: more needs a ptrace stop, which would interrupt this call with EINTR" :
			"stack not captured: it kept changing, and a ptrace stop would interrupt this call with EINTR";
	default:
		return NULL;
	}
}

/* Session: a thread that has not run since the last refresh has waited
 * that much longer. */
static void waited_longer(const struct capture_session *c, struct thread *t)
{
	if (t->wait.blocked_sec >= 0)
		t->wait.blocked_sec += c->refresh_at - c->prev_refresh_at;
}

/* ... and its CPU time, unchanged, is known as of now. */
static void still_waiting(const struct capture_session *c, struct thread *t)
{
	waited_longer(c, t);
	if (t->os)
		t->os->cpu_at = c->refresh_at;
}

/* Session: a thread that did not run, moved from the last snapshot. */
static void carry_over(struct capture_session *c, struct work *w,
		       struct thread *t)
{
	struct thread *old = &c->snap->threads[w->snap_index];

	*t = *old;
	memset(old, 0, sizeof(*old));	/* now owned by the new snapshot */
	still_waiting(c, t);
}

static double thread_age(const struct capture_session *c, const struct thread *t)
{
	return c->uptime - (double)thread_start_time(t) / (double)sysconf(_SC_CLK_TCK);
}

/* Reads a thread's last-run time if unknown and sets its blocked time. */
static void read_blocked(struct capture_session *c, struct work *w,
			 struct thread *t)
{
	double ms;

	if (w->exec_start_ms <= 0 &&
	    proc_read_exec_start(c->pid, w->tid, &ms) == 0)
		w->exec_start_ms = ms;
	t->wait.blocked_sec = blocked_for(c, w);
}

static bool waits(const struct thread *t)
{
	return t->wait.kind != WAIT_RUNNING && t->wait.kind != WAIT_UNKNOWN;
}

/* A stack's identity for lazy_blocked: its raw pcs and syscall. */
uint64_t stack_key(const struct work *w, const struct thread *t)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(t->wait.syscall + 1);

	for (int i = 0; i < w->nraw; i++)
		h = (h ^ w->raw[i].pc) * 1099511628211ULL;
	return h ^ (uint64_t)t->wait.kind << 56;
}

struct by_age {
	uint64_t start_time;
	uint64_t key;
	struct work *w;
	struct thread *t;
};

static int cmp_by_age(const void *a, const void *b)
{
	const struct by_age *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->start_time > y->start_time) - (x->start_time < y->start_time);
}

/*
 * lazy_blocked: what a group shows is its oldest wait, and a thread cannot
 * have waited longer than it has lived.  So within each set of identical
 * stacks, threads are taken oldest first, and one whose age is within
 * OLDEST_SLACK_SEC of the longest wait found so far is not read at all:
 * it cannot change the answer.  In the usual leak (threads that block
 * soon after they start) that is one read per group instead of one per
 * thread.  Where ages do not settle it (threads that ran long after they
 * started), at most OLDEST_READS more are read per stack and refresh, and
 * the others are marked BLOCKED_NOT_READ, so that the group's oldest wait
 * shows as a lower bound until later refreshes have read them.  Known
 * last-run times are kept across refreshes.
 */
static int fill_oldest(struct capture_session *c, struct snapshot *snap)
{
	struct by_age *v = malloc((snap->nthreads ? snap->nthreads : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->snap_index >= snap->nthreads)
			continue;
		struct thread *t = &snap->threads[w->snap_index];
		if (waits(t))
			v[n++] = (struct by_age){ thread_start_time(t), w->key, w, t };
	}
	qsort(v, n, sizeof(*v), cmp_by_age);
	c->unread_waits = c->skipped_waits = false;
	for (size_t i = 0; i < n;) {
		double best = -1;
		size_t j = i;
		int reads = 0;
		for (; j < n && v[j].key == v[i].key; j++) {
			struct thread *t = v[j].t;
			if (v[j].w->exec_start_ms <= 0) {
				if (best >= 0 &&
				    thread_age(c, t) <= best + OLDEST_SLACK_SEC) {
					t->wait.blocked_sec = -1;
					c->skipped_waits = true;
					continue;
				}
				if (reads >= OLDEST_READS) {
					t->wait.blocked_sec = BLOCKED_NOT_READ;
					c->unread_waits = c->skipped_waits = true;
					continue;
				}
				reads++;
			}
			read_blocked(c, v[j].w, t);
			if (t->wait.blocked_sec > best)
				best = t->wait.blocked_sec;
		}
		i = j;
	}
	free(v);
	return 0;
}

/* Captured last time as far as it could be: what a thread that has not
 * run since can keep. */
static bool settled(const struct work *w)
{
	return w->state == W_CAPTURED || w->state == W_KEPT ||
	       w->state == W_UNSAFE || w->state == W_NOSTOP ||
	       w->state == W_FAILED;
}

/* Phase 7: the snapshot proper, threads in tid order. */
/*
 * One capture: the threads' strings and frame arrays go into the
 * snapshot's pool (snapshot_pool_thread), and a stack seen already, the
 * same raw pcs as a thread resolved before, takes that thread's pooled
 * frames instead of being resolved again: 10,000 threads of a few pools
 * resolve a few stacks, and free a few strings.  A session's threads are
 * carried from snapshot to snapshot without a pool (carry_over()).
 */
#define STACK_MEMO 256		/* a power of two */

struct stack_memo {
	const struct raw_frame *raw;	/* of the thread that resolved it */
	int nraw;
	const struct frame *frames;	/* the pool's */
	size_t nframes;
};

static uint64_t raw_hash(const struct raw_frame *raw, int n)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < n; i++)
		h = (h ^ (raw[i].pc + raw[i].return_address)) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool same_raw(const struct raw_frame *a, const struct raw_frame *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].pc != b[i].pc || a[i].return_address != b[i].return_address)
			return false;
	return true;
}

/* t's frames from the memo, when an equal raw stack is there. */
static bool frames_from_memo(struct stack_memo *memo, const struct work *w, struct thread *t)
{
	struct stack_memo *m = &memo[raw_hash(w->raw, w->nraw) & (STACK_MEMO - 1)];

	if (!m->frames || m->nraw != w->nraw || !same_raw(m->raw, w->raw, w->nraw))
		return false;
	t->frames = (struct frame *)m->frames;
	t->nframes = m->nframes;
	t->frames_pooled = true;
	return true;
}

static void memo_frames(struct stack_memo *memo, const struct work *w, const struct thread *t)
{
	if (t->frames_pooled && t->nframes)
		memo[raw_hash(w->raw, w->nraw) & (STACK_MEMO - 1)] =
			(struct stack_memo){ w->raw, w->nraw, t->frames, t->nframes };
}

/* The tracer holding thread tid (its TracerPid, not us), with its name in
 * comm; 0 when none does. */
static long tracer_of(int tid, char *comm, size_t len)
{
	struct proc_stat ts;
	long tracer;

	if (proc_read_status_field(tid, "TracerPid:", &tracer) < 0 || tracer <= 0 ||
	    tracer == getpid())
		return 0;
	snprintf(comm, len, "%s", proc_read_stat((int)tracer, 0, &ts) == 0 ? ts.comm : "?");
	return tracer;
}

/* A thread that could not be seized: the tracer holding it, if another
 * does, in its error and (the first one, and how many) in the note. */
static void name_tracer(struct snapshot *snap, struct thread *t, size_t *ntraced)
{
	char comm[sizeof(((struct proc_stat *)0)->comm)], *s;
	long tracer = tracer_of(t->tid, comm, sizeof(comm));

	if (!tracer || asprintf(&s, "traced by pid %ld (%s): stack not captured",
				tracer, comm) < 0)
		return;
	free(t->error);
	t->error = s;
	if ((*ntraced)++ == 0 &&
	    asprintf(&s, "thread %d: traced by pid %ld (%s), which keeps it from being stopped: detach that tracer first",
		     t->tid, tracer, comm) >= 0) {
		free(snap->note);
		snap->note = s;
	}
}

static int build_snapshot(struct capture_session *c, struct snapshot *snap)
{
	struct stack_memo *memo = NULL;
	size_t ntraced = 0;	/* threads another tracer holds */
	int rc = 0;

	if (!c->persistent && !(memo = calloc(STACK_MEMO, sizeof(*memo))))
		return -ENOMEM;

	/* every new stack's pcs first: a JIT's perf map is read once */
	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].nraw && c->w[i].state != W_KEPT)
			symbols_expect(c->sym, c->w[i].raw, c->w[i].nraw);
	c->all_settled = true;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		struct work *w = &c->w[i];
		c->all_settled &= settled(w) && w->have_runs && w->st.state != 'R';
		/* A zombie thread has ended: a leader that called
		 * pthread_exit, or a process dying under us. */
		if (w->state == W_GONE || w->state == W_NEW ||
		    w->st.state == 'Z' || w->st.state == 'X')
			continue;
		struct thread *t = snapshot_add_thread(snap);
		if (!t) {
			free(memo);
			return -ENOMEM;
		}
		if (w->state == W_KEPT && c->snap && w->snap_index < c->snap->nthreads) {
			carry_over(c, w, t);
			w->snap_index = snap->nthreads - 1;
			if (t->partial)
				snap->partial = true;
			continue;
		}
		w->snap_index = snap->nthreads - 1;
		c->recaptured++;
		t->tid = w->tid;
		t->state = w->st.state;
		struct os_thread *os = thread_os(t);
		if (os) {
			os->name = strdup(w->st.comm);
			os->utime = w->st.utime;
			os->stime = w->st.stime;
			os->start_time = w->st.start_time;
			os->cpu_ns = w->runs.ns;
			os->cpu_at = w->runs_at;
		}
		t->stopped = w->stopped;
		if (w->nraw && !(memo && frames_from_memo(memo, w, t)))
			rc = symbols_resolve(c->sym, w->raw, w->nraw, t);
		const char *why = work_error(c, w);
		if (why && w->st.state != 'Z') {
			t->partial = true;
			t->error = strdup(why);
			if (w->state == W_FAILED)
				name_tracer(snap, t, &ntraced);
		} else if (w->nraw && !w->complete) {
			/* The unwinder stopped before the outermost frame:
			 * no unwind info for the next caller, or bad memory. */
			t->partial = true;
			if (asprintf(&t->error, "unwinding stopped after %d frame%s",
				     w->nraw, w->nraw == 1 ? "" : "s") < 0)
				t->error = NULL;
		} else if (!w->nraw && w->st.state != 'Z') {
			t->partial = true;
			t->error = strdup("no stack captured");
		}
		if (t->partial)
			snap->partial = true;
		describe_wait(c, w, t);
		w->key = stack_key(w, t);
		if (memo && rc == 0 && (rc = snapshot_pool_thread(snap, t)) == 0)
			memo_frames(memo, w, t);
	}
	free(memo);
	if (ntraced > 1 && snap->note) {
		char *s;
		if (asprintf(&s, "%s (and %zu more threads traced)", snap->note, ntraced - 1) >= 0) {
			free(snap->note);
			snap->note = s;
		}
	}
	if (rc < 0)
		c->all_settled = false;	/* this snapshot will not be kept */
	return rc;
}

static void free_work(struct work *w)
{
	free(w->raw);
	free(w->prev_raw);
	if (w->runs_fd >= 0) {
		close(w->runs_fd);
		__atomic_sub_fetch(&kept_fds, 1, __ATOMIC_RELAXED);
	}
}

void capture_session_close(struct capture_session *c)
{
	int rc, *tids;
	size_t n;

	if (!c)
		return;
	if (take_background_list(c, &rc, &tids, &n) && rc == 0)
		free(tids);
	for (size_t i = 0; i < c->n; i++)
		free_work(&c->w[i]);
	free(c->w);
	free(c->buf);
	if (c->uw_state)
		c->uw->close(c->uw_state);
	fds_close(c->fds);
	go_runtime_close(c->go);
	go_cache_free(c->go_cache);
	free(c->go_note);
	symbols_close(c->sym);
	memory_close(c->mem);
	snapshot_free(c->snap);
	free(c);
}

static int open_target(struct capture_session *c, char *err, size_t errlen)
{
	c->sym = symbols_open(c->via, err, errlen);
	if (!c->sym)
		return errno == ESRCH || errno == ENOENT ? -ESRCH : -EIO;
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
	return c->uw_state ? 0 : -EIO;
}

/* The process-wide fields; -ESRCH when it has exited. */
static int fill_header(struct capture_session *c, struct snapshot *snap)
{
	char buf[4096];
	struct proc_stat st;
	int rc = proc_read_stat(c->pid, 0, &st);

	if (rc < 0)
		return rc;
	snap->version = SNAPSHOT_VERSION;
	snap->pid = c->pid;
	snap->comm = strdup(st.comm);
	if (proc_read_exe(c->via, buf, sizeof(buf)) == 0)
		snap->exe = strdup(buf);
	snap->unwinder = strdup(c->uw->name);
	snap->taken_at = (int64_t)time(NULL);
	return (int)st.num_threads;
}

static int capture_all_stop(struct capture_session *c)
{
	double t0 = now_sec();
	int rc = stop_all(c);

	if (rc == 0)
		rc = capture_stopped(c);
	release_all(c, t0);
	return rc;
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
	if (rc == 0 && w->have_runs && same_runs(&runs, &w->runs) && settled(w) &&
	    w->snap_index != NO_INDEX) {
		w->state = W_KEPT;
		return;
	}
	/* It ran: capture it again, keeping the old stack for
	 * adopt_previous(). */
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
			free_work(&c->w[i]);
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
static long kept_fd_budget(void)
{
	long n = fdlimit_current();

	if (n == 0)
		return 1L << 20;
	return n > 512 ? n - 512 : 0;
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
	c->max_kept_fds = kept_fd_budget();
	c->listing = pthread_create(&c->lister, NULL, list_in_background, c) == 0;
	fdlimit_clear();
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

/* Phase 0 of a later refresh: what ran, what exited, what may be new.
 * quiet: the process's CPU clock has not moved since the last refresh
 * began, so none of its threads ran since: nothing was created, exited or
 * changed, and with the same thread count no thread is read at all. */
static void check_known(struct capture_session *c, int nthreads, bool quiet)
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

/* Session, no thread ran: the last snapshot stands, a refresh later.
 * Only the waits change; the CPU times' read times do not (the watch
 * knows they still hold). */
static void age_snapshot(struct capture_session *c)
{
	struct snapshot *snap = c->snap;

	for (size_t i = 0; i < snap->nthreads; i++)
		waited_longer(c, &snap->threads[i]);
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
	/* Before any per-thread read: see check_known().  The clock sums
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
	rc = fill_header(c, snap);
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
		check_known(c, rc, quiet);
	else
		c->need_list = true;
	if (c->unchanged) {
		proc_close_task_dir();
		snapshot_free(snap);
		age_snapshot(c);
		/* Nothing ran, but more last-run times may be read. */
		if (c->unread_waits && fill_oldest(c, c->snap) < 0) {
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
				      tracer_of(c->w[i].tid, comm, sizeof(comm)) : 0;
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
	rc = build_snapshot(c, snap);
	if (rc == 0 && c->opt->lazy_blocked && !c->opt->all_stop)
		rc = fill_oldest(c, snap);
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

bool capture_session_complete(struct capture_session *c)
{
	bool read = false;

	for (size_t i = 0; c->snap && c->skipped_waits && i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->snap_index >= c->snap->nthreads)
			continue;
		struct thread *t = &c->snap->threads[w->snap_index];
		if (waits(t) && w->exec_start_ms <= 0) {
			read_blocked(c, w, t);
			read = true;
		}
	}
	c->unread_waits = c->skipped_waits = false;
	return read;
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

struct snapshot *capture_listed_only(int pid, const char *why)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct proc_stat st;
	int *tids;
	size_t n;

	if (!snap || proc_read_stat(pid, 0, &st) < 0 || proc_list_tasks(pid, &tids, &n) < 0) {
		free(snap);
		return NULL;
	}
	snap->version = 1;
	snap->pid = pid;
	snap->partial = true;
	snap->comm = strdup(st.comm);
	snap->note = strdup(why);
	for (size_t i = 0; i < n; i++) {
		if (proc_read_stat(pid, tids[i], &st) < 0)
			continue;	/* ended meanwhile */
		struct thread *t = snapshot_add_thread(snap);
		if (!t)
			break;
		t->tid = tids[i];
		t->state = st.state;
		struct os_thread *os = thread_os(t);
		if (os) {
			os->start_time = st.start_time;
			os->name = strdup(st.comm);
		}
		t->partial = true;
		t->error = strdup(why);
	}
	free(tids);
	return snap;
}
