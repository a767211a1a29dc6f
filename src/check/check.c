/*
 * check: where threads were created, and what is left at exit; see
 * check.h.
 *
 * Per process, made at its first thread creation and dropped at its exit
 * (or when it runs another program): a small record (pid, start time),
 * and while it is in use a symbolizer, a memory reader and an unwinder,
 * as a capture has (symbols.h, memory.h, unwind.h).  Those take hundreds
 * of KB (the modules' ELF and DWARF), so only the OPEN_TARGETS processes
 * used last hold them: a command that leaves thousands of processes
 * alive, each having made a thread, costs a record each, and a process
 * used again after others opens them again.
 *
 * The creator waits in clone3 (supervise.h), blocked in a system call, so
 * it is unwound from its /proc/TID/syscall line like any blocked thread.
 * Only what cannot wait is done while it waits: its sp and pc (a pread on
 * a kept descriptor: few threads create threads, again and again) and a
 * copy of its stack pages (one process_vm_readv).  It is then let go on,
 * woken on our CPU, so the rest waits for a worker thread (workqueue.h):
 * the unwind of that copy, and the opening of a process's symbolizer and
 * unwinder at its first thread creation.  Origins, targets and the unwind
 * scratch belong to that worker; the supervisor's thread touches them
 * only after draining the queue (an exit, an exec, the end).
 *
 * The new thread has no id yet: its origin (the creator's raw pcs) is
 * keyed by where the kernel will write that id, glibc's pthread
 * descriptor (CLONE_PARENT_SETTID).  At exit, reading that word gives the
 * id of the thread made there, and so each leaked thread's origin.  A
 * descriptor reused for a new thread replaces its origin, so the table is
 * as large as the process's set of descriptors, however many threads it
 * creates in its life: a hash table keyed by (pid, address), open
 * addressing, linear probing, deletion by backward shift.  Symbolizing
 * happens only for threads that leak.
 */
#include "check/check.h"
#include "capture/capture.h"
#include "check/check-go.h"
#include "check/check-python.h"
#include "base/escape.h"
#include "stacks/fpguess.h"
#include "go/unwind.h"
#include "model/group.h"
#include "target/memory.h"
#include "stacks/symbols.h"
#include "check/supervise.h"
#include "target/proc.h"
#include "stacks/unwind.h"
#include "base/util.h"
#include "base/workqueue.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORIGIN_FRAMES 48	/* frames kept of a creating stack */
#define CREATOR_STACK (16 * 1024)	/* stack bytes copied from sp */
#define CREATOR_PAGES (CREATOR_STACK / MEM_PAGE + 1)	/* that many, from sp's page */
#define QUEUED 64		/* creations copied, waiting to be unwound */
_Static_assert(CREATOR_PAGES <= MEM_COPY_PAGES, "one process_vm_readv");
#define SYSCALL_FDS 64		/* creating threads' kept descriptors */
#define OPEN_TARGETS 4		/* processes with an unwinder open, at most */

struct origin {
	uint64_t addr;		/* the new thread's id goes there; 0: empty */
	int pid;
	int n;
	struct raw_frame *raw;
	struct check_py_frames *py;	/* the creator's Python frames, or NULL */
};

struct target {
	int pid;
	uint64_t start_time;	/* tells a reused pid */
	double checked_at;	/* when start_time was last compared */
	uint64_t used;		/* when last opened or used (p->tick) */
	/* all three, or none: not in use lately (OPEN_TARGETS) */
	struct symbolizer *sym;
	struct memory *mem;
	void *uw;
	bool uw_failed;		/* could not be opened: no origins */
	enum arch arch;		/* its program's: 64-bit or 32-bit */
};

/* /proc/TID/syscall of a creating thread, kept open. */
struct syscall_fd {
	int pid, tid, fd;
};

/* A creation, as read while the creator waited: the queue's item. */
struct creation {
	int pid, tid;
	uint64_t settid;
	uint64_t sp, pc;
	long stack_len;		/* bytes of stack copied, from sp's page; 0: none */
	struct check_py_frames *py;	/* its Python frames (the item's until
					   the worker hands them to the origin) */
	unsigned char stack[CREATOR_PAGES * MEM_PAGE];
};

struct priv {
	struct check *c;
	const struct unwind_ops *uw;
	struct origin *slots;
	size_t cap, count;
	struct target *targets;
	size_t ntargets, tcap;
	size_t nopen;		/* targets with an unwinder open */
	uint64_t tick;
	struct syscall_fd scfds[SYSCALL_FDS];	/* the supervisor's */
	struct workqueue *queue;	/* opened at the first creation */
	bool queue_failed;
	struct creation *cur;	/* being filled while its creator waits */
	struct check_py py;	/* the supervisor's (check-python.h) */
	int woken_pid, woken_looks;	/* an exit that left only woken
					   goroutines: looks at it so far */
	struct raw_frame buf[ORIGIN_FRAMES];	/* the worker's */
};

/* ---- origins by (pid, descriptor address) ---- */

static size_t slot_of(const struct priv *p, int pid, uint64_t addr)
{
	uint64_t h = (addr ^ (uint64_t)pid << 48) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (p->cap - 1);
}

static struct origin *origin_find(struct priv *p, int pid, uint64_t addr)
{
	if (!p->cap)
		return NULL;
	for (size_t i = slot_of(p, pid, addr);; i = (i + 1) & (p->cap - 1)) {
		if (p->slots[i].addr == addr && p->slots[i].pid == pid)
			return &p->slots[i];
		if (p->slots[i].addr == 0)
			return NULL;
	}
}

static int origin_grow(struct priv *p)
{
	size_t ncap = p->cap ? p->cap * 2 : 256, oldcap = p->cap;
	struct origin *old = p->slots, *n = calloc(ncap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->slots = n;
	p->cap = ncap;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].addr)
			continue;
		size_t k = slot_of(p, old[i].pid, old[i].addr);
		while (n[k].addr)
			k = (k + 1) & (ncap - 1);
		n[k] = old[i];
	}
	free(old);
	return 0;
}

static void origin_remove_at(struct priv *p, size_t i)
{
	/* Emptied field by field: origins_drop looks at slot i again, and
	 * clang's analyser loses a whole-struct store at a variable index
	 * (it then reports raw freed twice). */
	free(p->slots[i].raw);
	free(p->slots[i].py);
	p->slots[i].raw = NULL;
	p->slots[i].py = NULL;
	p->slots[i].addr = 0;
	p->slots[i].pid = 0;
	p->slots[i].n = 0;
	p->count--;
	/* Backward shift: move later entries of the run into the hole when
	 * their home slot is not between the hole and them. */
	for (size_t j = (i + 1) & (p->cap - 1); p->slots[j].addr;
	     j = (j + 1) & (p->cap - 1)) {
		if (probe_stays(i, j, slot_of(p, p->slots[j].pid, p->slots[j].addr)))
			continue;
		p->slots[i] = p->slots[j];
		p->slots[j] = (struct origin){ 0 };
		i = j;
	}
}

static struct origin *origin_add(struct priv *p, int pid, uint64_t addr)
{
	struct origin *o = origin_find(p, pid, addr);

	if (o) {
		/* A descriptor reused for a new thread. */
		free(o->raw);
		free(o->py);
		o->raw = NULL;
		o->py = NULL;
		o->n = 0;
		return o;
	}
	if ((p->count + 1) * 2 > p->cap && origin_grow(p) < 0)
		return NULL;
	size_t i = slot_of(p, pid, addr);
	while (p->slots[i].addr)
		i = (i + 1) & (p->cap - 1);
	p->slots[i] = (struct origin){ .addr = addr, .pid = pid };
	p->count++;
	return &p->slots[i];
}

/* Forgets every origin of pid (it has exited). */
static void origins_drop(struct priv *p, int pid)
{
	for (size_t i = 0; i < p->cap;) {
		if (p->slots[i].addr && p->slots[i].pid == pid)
			origin_remove_at(p, i);	/* may shift another here */
		else
			i++;
	}
}

/* ---- per-process unwinding ---- */

/* Closes t's unwinder, symbolizer and memory reader; its record stays. */
static void target_shut(struct priv *p, struct target *t)
{
	if (t->uw) {
		p->uw->close(t->uw);
		p->nopen--;
	}
	symbols_close(t->sym);
	memory_close(t->mem);
	t->uw = NULL;
	t->sym = NULL;
	t->mem = NULL;
}

static void target_close(struct priv *p, struct target *t)
{
	target_shut(p, t);
	*t = p->targets[--p->ntargets];
}

static struct target *target_find(struct priv *p, int pid)
{
	for (size_t i = 0; i < p->ntargets; i++)
		if (p->targets[i].pid == pid)
			return &p->targets[i];
	return NULL;
}

/* The target of pid, told apart by its start time (proc_start_time) from
 * one that reused its pid.  (An exec is seen as such: supervise.h drops
 * what is known then.) */
static struct target *target_get(struct priv *p, int pid)
{
	struct target *t = target_find(p, pid);
	double now = now_sec();

	/* A pid is not reused within a tenth of a second: compare the start
	 * time at most that often, not at every thread creation. */
	if (t && now - t->checked_at < 0.1)
		return t;
	uint64_t start = proc_start_time(pid);
	if (t && t->start_time == start) {
		t->checked_at = now;
		return t;
	}
	if (t) {
		/* Another process now: its modules are not what we know. */
		origins_drop(p, pid);
		target_close(p, t);
	}
	if (grow_array(&p->targets, &p->tcap, p->ntargets + 1, sizeof(*p->targets)) < 0)
		return NULL;
	t = &p->targets[p->ntargets++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->start_time = start;
	t->checked_at = now;
	const char *what;
	if (proc_read_arch(pid, &t->arch, &what) < 0)
		t->arch = ARCH_X86_64;
	return t;
}

/* The memory reader, symbolizer and unwinder of t, opened when it is not
 * among the processes used last (the least recently used one of those is
 * shut then).  False when they cannot be opened. */
static bool target_open(struct priv *p, struct target *t)
{
	char err[256];

	t->used = ++p->tick;
	if (t->uw || t->uw_failed)
		return t->uw != NULL;
	if (p->nopen >= OPEN_TARGETS) {
		struct target *lru = NULL;
		for (size_t i = 0; i < p->ntargets; i++)
			if (p->targets[i].uw && (!lru || p->targets[i].used < lru->used))
				lru = &p->targets[i];
		if (lru)
			target_shut(p, lru);
	}
	t->mem = memory_open(t->pid);
	t->sym = t->mem ? symbols_open(t->pid, err, sizeof(err)) : NULL;
	if (t->sym)
		t->uw = p->uw->open(t->pid, symbols_dwfl(t->sym), t->mem, err, sizeof(err));
	if (t->uw) {
		p->nopen++;
		return true;
	}
	target_shut(p, t);
	t->uw_failed = true;
	return false;
}

/* ---- creating threads' syscall lines ---- */

static void syscall_fds_drop(struct priv *p, int pid)
{
	for (int i = 0; i < SYSCALL_FDS; i++) {
		struct syscall_fd *k = &p->scfds[i];
		if (k->fd >= 0 && (pid < 0 || k->pid == pid)) {
			close(k->fd);
			k->fd = -1;
		}
	}
}

/* The syscall line of tid, through its kept descriptor (opened again once
 * if it went stale: another thread had the slot, or its thread is gone). */
static int creator_syscall(struct priv *p, int pid, int tid, struct proc_syscall *sc)
{
	struct syscall_fd *k = &p->scfds[(unsigned)tid % SYSCALL_FDS];

	for (int attempt = 0; attempt < 2; attempt++) {
		if (k->fd < 0 || k->pid != pid || k->tid != tid) {
			if (k->fd >= 0)
				close(k->fd);
			*k = (struct syscall_fd){ pid, tid,
						  proc_open_task_file(pid, tid, "syscall") };
			if (k->fd < 0) {
				int rc = k->fd;
				k->fd = -1;
				return rc;
			}
		}
		if (proc_pread_syscall(k->fd, sc) == 0)
			return 0;
		close(k->fd);
		k->fd = -1;
	}
	return -ESRCH;
}

/* ---- supervisor callbacks ---- */

static void record_creation(void *arg, void *item);

/* While the creator waits: its sp and pc, and a copy of its stack pages. */
static void on_thread_creating(void *arg, int pid, int tid, uint64_t settid)
{
	struct priv *p = arg;
	struct proc_syscall sc;

	if (!settid)
		return;	/* no way to tell later which thread it made */
	if (!p->queue && !p->queue_failed) {
		int rc = workqueue_open(&p->queue, sizeof(struct creation), QUEUED,
					record_creation, p);
		if (rc < 0) {
			fprintf(stderr, "threadleak: cannot start a thread (%s): where threads are created will not be known\n",
				strerror(-rc));
			p->queue_failed = true;
		}
	}
	if (!p->queue)
		return;
	struct creation *k = workqueue_next(p->queue);
	/* Field by field: the stack copy need not be cleared. */
	k->pid = pid;
	k->tid = tid;
	k->settid = settid;
	k->stack_len = 0;
	k->py = NULL;
	p->cur = k;
	/* It waits in the call: blocked, its stack still. */
	if (creator_syscall(p, pid, tid, &sc) < 0 || sc.running || !sc.sp)
		return;
	long got = memory_copy_pages(pid, sc.sp, CREATOR_STACK, k->stack);
	if (got < (long)(sc.sp % MEM_PAGE) + 8)
		return;	/* not even the return address */
	k->sp = sc.sp;
	k->pc = sc.pc;
	k->stack_len = got;
	/* A Python creator's frames: gone from Thread.start once it goes on. */
	k->py = check_py_creator(&p->py, pid, tid);
}

/* Once it went on: the worker unwinds the copy.  A call restarted by a
 * signal comes again: its slot is filled again then. */
static void on_thread_created(void *arg, bool went_on)
{
	struct priv *p = arg;

	if (went_on)
		p->c->threads_seen++;
	if (p->cur && went_on) {
		workqueue_push(p->queue);
	} else if (p->cur) {
		free(p->cur->py);
		p->cur->py = NULL;
	}
	p->cur = NULL;
}

/* The worker: the origin of the new thread, from the creator's copy. */
static void record_creation(void *arg, void *item)
{
	struct priv *p = arg;
	struct creation *k = item;
	struct cpu_regs regs = { 0 };
	uint64_t ra = 0;
	bool complete;

	struct target *t = target_get(p, k->pid);
	/* Added even when the stack is unknown: a descriptor reused for a
	 * new thread must not keep its old thread's origin. */
	struct origin *o = origin_add(p, k->pid, k->settid);
	if (o)
		o->py = k->py;
	else
		free(k->py);
	k->py = NULL;
	if (!o || !t || !k->stack_len || !target_open(p, t))
		return;
	/* Frames beyond the copy are read from the live stack: they are
	 * the creator's callers, intact while it has not returned from
	 * them, and it ran on for a few milliseconds at most. */
	memory_reset(t->mem);
	memory_install(t->mem, k->sp, k->stack, (size_t)k->stack_len);
	/*
	 * glibc ends the unwind info of clone and clone3 before their
	 * syscall instruction (in the child it would be wrong).  x86_64:
	 * start from their caller: nothing is pushed in between, the return
	 * address is at sp.  i386 pushes ebx and esi first: start from the
	 * byte before its int 0x80 (2 bytes), still in the unwind info,
	 * whose last row says so; nothing moves esp in between.
	 */
	unsigned word = arch_word(t->arch);
	int off = t->arch == ARCH_I386 ? 0 : 1;
	struct raw_frame *b = p->buf + off;
	regs.arch = t->arch;
	if (t->arch == ARCH_I386) {
		regs.r[REG_DW_RSP] = k->sp;
		regs.r[REG_DW_RIP] = k->pc - 3;
	} else {
		memcpy(&ra, k->stack + k->sp % MEM_PAGE, word);
		p->buf[0] = (struct raw_frame){ k->pc, false };
		regs.r[REG_DW_RSP] = k->sp + word;
		regs.r[REG_DW_RIP] = ra;
	}
	regs.valid = 1u << REG_DW_RSP | 1u << REG_DW_RIP;
	int n = p->uw->unwind(t->uw, k->tid, &regs, b, ORIGIN_FRAMES - off, &complete);
	/* Stopped in code of no module known: one mapped since (dlopen)? */
	if (!complete && n > 0 && symbols_cover(t->sym, b[n - 1].pc))
		n = p->uw->unwind(t->uw, k->tid, &regs, b, ORIGIN_FRAMES - off, &complete);
	/* C into Go (cgo): Go's traceback ends at its stack switch. */
	bool cut;
	n = go_unwind_trim(t->sym, b, n, &cut);
	complete |= cut;
	/* Not whole from sp and pc: frame-pointer code wants rbp. */
	if (n > 0 && !(complete && symbols_is_stack_end(t->sym, &b[n - 1])))
		n = fpguess_unwind(p->uw, t->uw, k->tid, &regs, b, ORIGIN_FRAMES - off,
				   n, &complete, t->mem, t->sym);
	if (n <= 0)
		return;
	if (off)
		b[0].return_address = true;
	else
		b[0] = (struct raw_frame){ k->pc, false };
	n += off;
	o->raw = malloc((size_t)n * sizeof(*o->raw));
	if (!o->raw)
		return;
	memcpy(o->raw, p->buf, (size_t)n * sizeof(*o->raw));
	o->n = n;
}

static void on_exiting(void *arg, int pid)
{
	struct priv *p = arg;

	workqueue_drain(p->queue);
	struct target *t = target_find(p, pid);
	origins_drop(p, pid);
	syscall_fds_drop(p, pid);
	check_py_forget(&p->py, pid);
	if (t)
		target_close(p, t);
}

/* The origin of thread tid of pid: the one whose id word holds tid. */
static struct origin *origin_of_thread(struct priv *p, struct target *t, int tid)
{
	for (size_t i = 0; t && i < p->cap; i++) {
		struct origin *o = &p->slots[i];
		int32_t v;
		if (o->addr && o->pid == t->pid && o->n &&
		    memory_read(t->mem, o->addr, &v, sizeof(v)) == 0 && v == tid)
			return o;
	}
	return NULL;
}

struct keep_state {
	struct check *c;
	const struct snapshot *snap;
	struct check_report *r;
	int exiting;
	size_t i, kept;
	size_t woken;		/* goroutines woken just before the exit */
	int *unit_tids;		/* threads in a judged goroutine's syscall */
	size_t nunit;
};

/* Whether goroutines of this snapshot are judged. */
static bool judges_goroutines(const struct check *c, const struct snapshot *snap)
{
	return c->goroutines == CHECK_GO_ALL ||
	       (c->goroutines == CHECK_GO_TESTS && snap->go_test);
}

/* The threads that run a judged goroutine in a system call: one unit
 * with it, reported as the goroutine ("on thread N"), not again as a
 * thread.  NULL when none (or out of memory: then counted twice). */
static void unit_threads(struct keep_state *k)
{
	const struct snapshot *snap = k->snap;

	k->unit_tids = NULL;
	k->nunit = 0;
	if (!judges_goroutines(k->c, snap))
		return;
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct thread *t = &snap->threads[i];
		if (t->goid && t->go_tid && !t->go_system && t->go_tid != k->exiting &&
		    !k->unit_tids)
			k->unit_tids = calloc(snap->nthreads, sizeof(*k->unit_tids));
		if (t->goid && t->go_tid && !t->go_system && t->go_tid != k->exiting &&
		    k->unit_tids)
			k->unit_tids[k->nunit++] = t->go_tid;
	}
}

static bool is_unit_thread(const struct keep_state *k, int tid)
{
	for (size_t i = 0; i < k->nunit; i++)
		if (k->unit_tids[i] == tid)
			return true;
	return false;
}

/* snapshot_filter's callback: called once per thread, in order, so the
 * created_by array is compacted alongside. */
static bool keep_leak(struct thread *t, void *arg)
{
	struct keep_state *k = arg;
	struct thread *cb = &k->r->created_by[k->i++];
	/* Not the exiting thread, nor one that has ended (a zombie). */
	bool keep = t->tid != k->exiting && t->state != 'Z' && t->state != 'X';

	/* A goroutine: judged in a test binary (or when asked), not one of
	 * the runtime's own, not the one calling exit. */
	if (t->goid)
		keep = (k->c->goroutines == CHECK_GO_ALL ||
			(k->c->goroutines == CHECK_GO_TESTS && k->snap->go_test)) &&
		       !t->go_system && t->go_tid != k->exiting;
	/* The thread of a judged goroutine's system call: that goroutine. */
	else if (keep && is_unit_thread(k, t->tid))
		keep = false;
	/* A thread of a Go program whose goroutines were read, caught
	 * running in every look (no stack: an M busy in the runtime, a GC
	 * worker, a spinning M, on a loaded machine): what it runs is a
	 * goroutine, judged above; as in diffs and exports, the M is the
	 * runtime's.  One with a stack is judged by it. */
	else if (keep && !t->nframes && thread_go_runtime(k->snap, t)) {
		keep = false;
		k->r->ignored++;
	}

	/* Woken just before the exit: it would have run, and cannot. */
	if (keep && check_go_woken(t)) {
		keep = false;
		k->woken++;
	}
	if (keep && ignore_match(&k->c->ignores, t, cb)) {
		keep = false;
		k->r->ignored++;
	}
	if (keep) {
		k->r->created_by[k->kept++] = *cb;
	} else {
		thread_release(cb);
	}
	return keep;
}

#define RUNNING_RETRIES 10
#define RUNNING_WAIT_US 20000

/* A thread (not the exiting one) that ran through the capture: no stack,
 * whatever state /proc showed before or after (Go's sysmon runs for
 * microseconds between its sleeps, and is caught in either). */
static bool caught_running(const struct snapshot *snap, int exiting)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct thread *t = &snap->threads[i];
		if (!t->goid && t->tid != exiting && !t->nframes && t->state != 'Z' &&
		    t->state != 'X')
			return true;
	}
	return false;
}

#define WOKEN_LOOKS 3

/*
 * An exit that left nothing but goroutines woken just before it: with
 * other Ps free they would run at once, so a goroutine seen so might be
 * one that wakes now and then (a sleeping loop) caught at that moment:
 * look again a few times, then let the exit go on, counting them.
 */
static enum exit_verdict woken_verdict(struct priv *p, int pid, size_t woken, bool final)
{
	if (woken && !final) {
		if (p->woken_pid != pid) {
			p->woken_pid = pid;
			p->woken_looks = 0;
		}
		if (++p->woken_looks < WOKEN_LOOKS)
			return EXIT_LOOK_AGAIN;
	}
	p->woken_pid = 0;
	p->c->woken += woken;
	return EXIT_GO_ON;	/* nothing left that is reported */
}

/* A Go program's report: the woken goroutines counted, and in a test
 * binary each goroutine blamed on its test. */
static void report_go(struct check *c, struct check_report *r, int pid, size_t woken)
{
	r->woken = woken;
	c->woken += woken;
	if (r->snap->go_test && r->snap->ngoroutines)
		check_go_blame(r, pid);	/* none: the report says less */
}

static enum exit_verdict on_exit_held(void *arg, int pid, int tid, bool final)
{
	struct priv *p = arg;
	struct check *c = p->c;
	struct capture_options opt = { .stop_timeout = 1.0, .no_stop = true,
				       .no_goroutines = c->goroutines == CHECK_GO_NONE };
	struct snapshot *snap;
	char err[512], why[600];

	workqueue_drain(p->queue);	/* every origin recorded */
	int rc = capture_snapshot(pid, &opt, &snap, err, sizeof(err));
	/* The report: a thread caught running has no stack to judge it by
	 * (a runtime's, busy for a moment, mostly): look a few times more. */
	for (int again = 0; final && rc == 0 && again < RUNNING_RETRIES && caught_running(snap, tid);
	     again++) {
		snapshot_free(snap);
		usleep(RUNNING_WAIT_US);
		rc = capture_snapshot(pid, &opt, &snap, err, sizeof(err));
	}
	if (rc < 0) {
		if (!final)
			return EXIT_HOLD;	/* the grace period, then again */
		snprintf(why, sizeof(why), "stack not captured: %s", err);
		snap = capture_listed_only(pid, why);
		if (!snap) {
			fprintf(stderr, "threadleak: cannot capture the threads left in %d at its exit: %s\n",
				pid, esc(err));
			return EXIT_GO_ON;
		}
	}
	if (grow_array(&c->reports, &c->rcap, c->nreports + 1, sizeof(*c->reports)) < 0)
		goto out_free;
	struct check_report *r = &c->reports[c->nreports];
	memset(r, 0, sizeof(*r));
	r->created_by = calloc(snap->nthreads ? snap->nthreads : 1, sizeof(*r->created_by));
	if (!r->created_by)
		goto out_free;
	struct target *t = target_find(p, pid);
	if (t && target_open(p, t))
		memory_reset(t->mem);
	else
		t = NULL;
	for (size_t i = 0; t && i < snap->nthreads; i++) {
		struct origin *o = origin_of_thread(p, t, snap->threads[i].tid);
		if (o)
			symbols_resolve(t->sym, o->raw, o->n, &r->created_by[i]);
		/* The Python code that made it (none left to merge when
		 * out of memory: the C frames stay). */
		if (o && o->py)
			(void)check_py_merge(&r->created_by[i], o->py);
	}
	struct keep_state k = { c, snap, r, tid, 0, 0 };
	unit_threads(&k);
	size_t kept = snapshot_filter(snap, keep_leak, &k);
	free(k.unit_tids);
	if (kept == 0) {
		free(r->created_by);
		snapshot_free(snap);
		return woken_verdict(p, pid, k.woken, final);
	}
	if (!final) {
		/* Threads may still end within the grace period.  Ones that
		 * ran through the capture (no stack to match) are mostly a
		 * runtime's, busy for a moment (Go's spinning Ms, a GC):
		 * look again soon. */
		bool all_running = true;
		for (size_t i = 0; i < snap->nthreads; i++) {
			all_running &= !snap->threads[i].nframes;
			thread_release(&r->created_by[i]);
		}
		free(r->created_by);
		snapshot_free(snap);
		return all_running ? EXIT_LOOK_AGAIN : EXIT_HOLD;
	}
	r->snap = snap;
	c->leaked += snap->nthreads;
	c->nreports++;
	report_go(c, r, pid, k.woken);
	return EXIT_GO_ON;
out_free:
	snapshot_free(snap);
	return EXIT_GO_ON;
}

static void on_refused(void *arg, int pid, const char *what)
{
	struct proc_stat st;

	(void)arg;
	if (proc_read_stat(pid, 0, &st) < 0)
		snprintf(st.comm, sizeof(st.comm), "?");
	fprintf(stderr, "threadleak: %s (pid %d) asks for %s; its call fails\n",
		esc(st.comm), pid, what);
}

/* ---- the checker ---- */

int check_init(struct check *c)
{
	struct priv *p = calloc(1, sizeof(*p));

	memset(c, 0, sizeof(*c));
	if (!p)
		return -ENOMEM;
	p->c = c;
	p->uw = unwind_default();
	for (int i = 0; i < SYSCALL_FDS; i++)
		p->scfds[i].fd = -1;
	c->priv = p;
	return 0;
}

void check_free(struct check *c)
{
	struct priv *p = c->priv;

	if (p) {
		while (p->ntargets)
			target_close(p, &p->targets[0]);
		syscall_fds_drop(p, -1);
		check_py_free(&p->py);
		for (size_t i = 0; i < p->cap; i++) {
			if (p->slots[i].addr) {
				free(p->slots[i].raw);
				free(p->slots[i].py);
			}
		}
		free(p->slots);
		free(p->targets);
		free(p);
	}
	ignore_free(&c->ignores);
	for (size_t i = 0; i < c->nreports; i++) {
		struct check_report *r = &c->reports[i];
		check_go_blame_free(r);
		for (size_t k = 0; r->snap && k < r->snap->nthreads; k++)
			thread_release(&r->created_by[k]);
		free(r->created_by);
		snapshot_free(r->snap);
	}
	free(c->reports);
	memset(c, 0, sizeof(*c));
}

int check_run(struct check *c, char *const argv[], double grace, int *status,
	      char *err, size_t errlen)
{
	struct priv *p = c->priv;
	struct supervise_options opt = { .grace = grace, .deadline = c->deadline };
	struct supervise_ops ops = {
		.arg = c->priv,
		.thread_creating = on_thread_creating,
		.thread_created = on_thread_created,
		.exit_held = on_exit_held,
		.exiting = on_exiting,
		.refused = on_refused,
	};

	/* Go programs keep their goroutines' ancestry: blame on tests. */
	if (c->goroutines != CHECK_GO_NONE && check_go_env() < 0)
		fprintf(stderr, "threadleak: cannot set GODEBUG: leaked goroutines will not be blamed on tests by their ancestry\n");
	int rc = supervise_run(argv, &opt, &ops, status, err, errlen);
	workqueue_close(p->queue);
	p->queue = NULL;
	return rc;
}

/* ---- JSON ---- */

static json_t *frames_json(const struct thread *t)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < t->nframes; i++) {
		const struct frame *f = &t->frames[i];
		json_t *o = json_pack("{s:I,s:s?,s:s?,s:s?,s:o,s:b}",
			"pc", (json_int_t)f->pc, "module", f->module,
			"function", f->function, "file", f->file,
			"line", f->line ? json_integer(f->line) : json_null(),
			"inlined", f->inlined);
		if (o && f->python)
			json_object_set_new(o, "python", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

int check_write_json(const struct check *c, FILE *fp, int status)
{
	json_t *procs = json_array(), *doc;
	int rc = 0;

	for (size_t i = 0; procs && i < c->nreports; i++) {
		const struct check_report *r = &c->reports[i];
		char *text = snapshot_to_json(r->snap, false);
		json_t *snap = text ? json_loads(text, 0, NULL) : NULL;
		json_t *threads = snap ? json_object_get(snap, "threads") : NULL;
		free(text);
		for (size_t k = 0; threads && k < json_array_size(threads); k++) {
			json_object_set_new(json_array_get(threads, k), "created_by",
					    frames_json(&r->created_by[k]));
			if (k < r->snap->nthreads)
				check_go_blame_json(r, k, json_array_get(threads, k));
		}
		if (snap) {
			json_object_set_new(snap, "ignored", json_integer((json_int_t)r->ignored));
			check_go_report_json(r, snap);
			json_array_append_new(procs, snap);
		}
	}
	doc = json_pack("{s:s,s:i,s:o,s:I,s:I,s:I,s:o}", "format", "threadleak-check",
			"version", 1,
			"status", WIFEXITED(status) ? json_integer(WEXITSTATUS(status)) : json_null(),
			"leaked", (json_int_t)c->leaked,
			"threads_created", (json_int_t)c->threads_seen,
			"woken", (json_int_t)c->woken,
			"processes", procs ? procs : json_array());
	if (!doc)
		return -ENOMEM;
	if (WIFSIGNALED(status))
		json_object_set_new(doc, "signal", json_integer(WTERMSIG(status)));
	if (json_dumpf(doc, fp, JSON_INDENT(2)) < 0 || fputc('\n', fp) == EOF)
		rc = -EIO;
	json_decref(doc);
	return rc;
}
