/*
 * capture-session: the state of a capture session (struct capture_session
 * and its struct work per thread), shared by the files that make up the
 * capture, and the functions they share.  Private to them: nothing else
 * includes it; capture.h is the interface.  The files, each using only
 * those listed before it (capture-go.c is called by capture.c alone):
 *   capture-python.c   a CPython program's Python frames, read in bulk
 *                      and in a thread's stop;
 *   capture-threads.c  the thread list and what /proc says of each thread;
 *   capture-syscall.c  the system call a blocked thread is in;
 *   capture-stop.c     each thread's stack, stopped where it must be;
 *   capture-wait.c     what each thread waits on, and since when;
 *   capture-snapshot.c the snapshot made from the session's threads;
 *   capture-go.c       a Go program's goroutines;
 *   capture.c          the session: open, refresh (the phases), close.
 */
#ifndef THREADLEAK_CAPTURE_SESSION_H
#define THREADLEAK_CAPTURE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/capture.h"
#include "target/fds.h"
#include "go/goroutines.h"
#include "go/runtime.h"
#include "python/runtime.h"
#include "python/threads.h"
#include "target/memory.h"
#include "target/proc.h"
#include "target/regs.h"
#include "stacks/symbols.h"
#include "target/syscall-abi.h"
#include "stacks/unwind.h"

#define MAX_RELIST_ROUNDS 64	/* all-stop: until no new thread appears */
#define NOSTOP_RELIST_ROUNDS 3	/* non-stop: newcomers during a capture */
#define NOSTOP_ATTEMPTS 3	/* for threads that must not be stopped */
#define NO_INDEX ((size_t)-1)
#define OLDEST_SLACK_SEC 0.5	/* lazy_blocked: a group's oldest wait is
				   exact to within this */
#define OLDEST_READS 16		/* lazy_blocked: reads per stack a refresh */
#define CLOCK_RETRY 8		/* a busy process's CPU clock: refreshes
				   between two tries */

enum work_state {
	W_NEW,			/* listed, not observed yet */
	W_OBSERVED,		/* observed, not captured */
	W_UNWOUND,		/* unwound without a stop, to be validated */
	W_CAPTURED,		/* done: stack valid */
	W_SEIZED,		/* all-stop: interrupt sent */
	W_STOPPED,		/* all-stop: in a ptrace stop */
	W_GONE,			/* exited before we could capture it */
	W_NOSTOP,		/* did not stop in time (D state) */
	W_FAILED,		/* could not be seized, or an exited leader */
	W_UNSAFE,		/* only a stop would do, and a stop would EINTR */
	W_KEPT,			/* refresh: did not run; carried over as it was */
};

struct work {
	int tid;
	enum work_state state;
	int attempts;		/* non-stop captures tried */
	struct proc_stat st;
	struct proc_syscall sc;	/* the observed syscall line */
	bool have_sc;
	struct syscall_call call;	/* its call, as the process's ABI
					   reads it (syscall-abi.h) */
	struct proc_runs runs;	/* schedstat when observed */
	double runs_at;		/* when it was read (now_sec) */
	bool have_runs;
	int runs_fd;		/* schedstat kept open, or -1 */
	char fdlink[128];	/* what the observed call's fd (args[0]) is */
	bool have_fdlink;
	uint64_t key;		/* capture_stack_key() once captured */
	size_t snap_index;	/* session: its thread in the last snapshot */
	struct raw_frame *prev_raw;	/* session: the last capture's stack */
	int nprev;
	bool prev_complete;
	char wchan[64];
	double exec_start_ms;	/* <=0 unknown */
	bool stopped;		/* captured in a ptrace stop */
	bool go_stopped;	/* stopped for the goroutine it runs, after
				   its entry was made (maybe more than
				   once): made again */
	int pending_sig;
	int seize_err;
	struct cpu_regs regs;	/* what the unwinder started from */
	bool have_regs;
	struct raw_frame *raw;
	int nraw;
	bool complete;
	struct py_thread *py;	/* its Python frames, read in its stop
				   (capture-python.c); NULL */
};

struct capture_session {
	int pid;
	enum arch arch;		/* the program's: x86_64 or i386 (32-bit) */
	struct go_runtime *go;	/* a Go program's runtime (go/runtime.h) */
	struct go_cache *go_cache;	/* its goroutines' stacks, refresh to
					   refresh (go/goroutines.h) */
	char *go_note;		/* a Go program whose goroutines cannot be
				   read: why */
	struct py_runtime *py;	/* a CPython program's interpreter */
	char *py_note;		/* one found whose frames cannot be read: why */
	struct py_threads pyt;	/* its threads as this refresh read them,
				   by tid */
	size_t py_unlisted;	/* threads in the eval loop it does not list */
	bool pyt_read;		/* pyt read in an all-stop (--stop) */
	int pyt_rc;		/* and what that read returned */
	bool no_stop;		/* the option, or a Go program: nothing is
				   stopped (goroutines are read from memory) */
	int via;		/* a live thread of pid, for the process-wide
				   files (maps, mem, fd, exe): the leader, or
				   another when it called pthread_exit */
	const struct capture_options *opt;
	struct work *w;
	size_t n, cap;
	struct memory *mem;
	struct symbolizer *sym;
	struct fd_table *fds;
	const struct unwind_ops *uw;
	void *uw_state;
	struct raw_frame *buf;	/* UNWIND_MAX_FRAMES scratch frames */
	double sched_now_ms[256];	/* per-CPU scheduler clock at the start */
	uint64_t cpu_ns;	/* the process's CPU clock at the last start */
	bool have_cpu;
	int clock_misses;	/* refreshes in a row the clock moved */
	bool clock_stale;	/* sched_now_ms not measured this refresh */
	double refresh_at, prev_refresh_at;	/* now_sec() at the starts */
	double uptime;		/* seconds since boot at the start */
	int threads_stopped;
	double stop_ms_total, stop_ms_max;	/* how long they were held */
	bool killed_held;	/* a thread we held in a stop was gone when
				   we let it go: only SIGKILL, which kills
				   the whole process, ends a ptrace stop */
	bool persistent;	/* a session of many refreshes */
	long max_kept_fds;	/* for kept_fds, all sessions' together */
	bool need_list;		/* list the tasks in this refresh */
	bool unchanged;		/* this refresh kept every thread unread */
	bool all_settled;	/* the last snapshot has every known thread,
				   each settled, none running (state R: on
				   a CPU without scheduler ticks its CPU
				   time may lag); see
				   capture_check_known() */
	bool unread_waits;	/* lazy_blocked left some wait unread */
	bool skipped_waits;	/* ...or some wait unknown, as no group
				   needed it (capture_fill_oldest()) */
	int refreshes;
	size_t recaptured;
	dev_t exe_dev;		/* what the process runs (an exec ends a session) */
	ino_t exe_ino;
	struct snapshot *snap;	/* the last refresh's */
	/* The first listing of the tasks, made on a thread of its own while
	 * the session opens (capture_list_in_background()). */
	pthread_t lister;
	bool listing;		/* lister runs or has not been joined */
	int pre_rc;
	int *pre_tids;
	size_t pre_n;
};

/* Captured last time as far as it could be: what a thread that has not
 * run since can keep. */
static inline bool capture_settled(const struct work *w)
{
	return w->state == W_CAPTURED || w->state == W_KEPT ||
	       w->state == W_UNSAFE || w->state == W_NOSTOP ||
	       w->state == W_FAILED;
}

/* Blocked in a system call whose line gives sp and pc. */
static inline bool capture_is_blocked(const struct work *w)
{
	return w->have_sc && !w->sc.running && w->sc.sp && w->sc.pc &&
	       w->st.state != 'R';
}

/* capture-threads.c */

/* The work of thread tid, or NULL. */
struct work *capture_find_work(struct capture_session *c, int tid);
/* The first listing of the tasks, on a thread of its own (pthread_create),
 * and its result, once; false when there is none. */
void *capture_list_in_background(void *arg);
bool capture_take_background_list(struct capture_session *c, int *rc, int **tids, size_t *n);
/* Adds the tasks not yet known; returns how many were added, or -errno. */
int capture_list_new_tasks(struct capture_session *c);
/* What the kernel says of w, read before anything disturbs it; the job
 * form (run_parallel) observes the i-th work if still W_NEW. */
void capture_observe(struct capture_session *c, struct work *w);
void capture_observe_job(void *arg, size_t i);
/* The same run count as when observed: W_CAPTURED; else W_NEW again. */
void capture_validate(struct capture_session *c, struct work *w);
/* One capture is done with w's schedstat: its descriptor closed. */
void capture_release_runs(struct work *w);
/* May threads have been created since the tasks were listed? */
bool capture_maybe_newcomers(struct capture_session *c);
void capture_free_work(struct work *w);
/* How many schedstat descriptors a session may keep open. */
long capture_kept_fd_budget(void);
/* Phase 0 of a later refresh: what ran, what exited, what may be new. */
void capture_check_known(struct capture_session *c, int nthreads, bool quiet);

/* capture-syscall.c */

/* Stopped inside a blocking call (the kernel will restart it)? */
int capture_regs_in_syscall(const struct cpu_regs *r);
/* The ABI of the system call made from code of `code` at pc. */
enum arch capture_call_abi(struct capture_session *c, enum arch code, uint64_t pc);
/* The registers a blocked thread's syscall line gives away. */
void capture_regs_from_syscall(struct capture_session *c, const struct proc_syscall *sc,
			       struct cpu_regs *r);
/* A socketcall's arguments, from the caller's stack. */
void capture_read_mem_args(struct capture_session *c, struct syscall_call *call);
/* The call a blocked thread's syscall line shows, decoded in its ABI. */
void capture_syscall_line_call(struct capture_session *c, const struct work *w,
			       struct syscall_call *call);
/* Would a ptrace stop make this thread's blocking call fail with EINTR? */
bool capture_stop_is_unsafe(struct capture_session *c, const struct work *w);

/* capture-stop.c */

/* w's stack unwound from w->regs into w->raw: 0 or -errno. */
int capture_unwind_regs(struct capture_session *c, struct work *w);
/* A stop from t0 (now_sec) until now; again: of a thread counted already. */
void capture_count_stop(struct capture_session *c, double t0, bool again);
/* Phases 2-6 stopping only what must be; or every thread (all_stop).
 * 0 or -errno (-EINTR: interrupted, -EPERM: nothing could be seized). */
int capture_gently(struct capture_session *c);
int capture_all_stop(struct capture_session *c);

/* capture-wait.c */

/* t's wait: its kind, call, object, owner and blocked time. */
void capture_describe_wait(struct capture_session *c, struct work *w, struct thread *t);
/* Session: a thread that has not run since the last refresh has waited
 * that much longer. */
void capture_waited_longer(const struct capture_session *c, struct thread *t);
/* What identifies w's captured stack and wait, for lazy_blocked. */
uint64_t capture_stack_key(const struct work *w, const struct thread *t);
/* lazy_blocked: the last-run times that decide each group's oldest wait. */
int capture_fill_oldest(struct capture_session *c, struct snapshot *snap);

/* capture-snapshot.c */

/* The tracer holding thread tid (not us), its name in comm; 0 if none. */
long capture_tracer_of(int tid, char *comm, size_t len);
/* Phase 7: the snapshot proper from c->w, threads in tid order. */
int capture_build_snapshot(struct capture_session *c, struct snapshot *snap);
/* The process-wide fields; the thread count, or -ESRCH when it exited. */
int capture_fill_header(struct capture_session *c, struct snapshot *snap);

/* capture-go.c: a Go program's goroutines after its threads (phase 7),
 * each running one read in a stop of its thread; then the entries of the
 * threads so stopped made again from their stops.  0 or -errno. */
int capture_add_goroutines(struct capture_session *c, struct snapshot *snap);
int capture_remake_stopped(struct capture_session *c, struct snapshot *snap);

/* capture-python.c: the interpreter found as the session opens (unless
 * no_python; nothing when there is none), and closed; its threads read
 * at each refresh, before the snapshot's threads are made (the version
 * and any note in snap): 0 or -ENOMEM.  The Python thread of tid, or
 * NULL; its frames merged into t's stack (0 or -ENOMEM); t's Python name
 * and wait, once its frames and wait are known (0 or -ENOMEM). */
void capture_open_python(struct capture_session *c);
void capture_close_python(struct capture_session *c);
int capture_read_python(struct capture_session *c, struct snapshot *snap);
const struct py_thread *capture_python_of(const struct capture_session *c, int tid);
int capture_merge_python(struct capture_session *c, const struct py_thread *pt, struct thread *t);
int capture_name_python(const struct py_thread *pt, struct thread *t);
/* After the threads are made: says in snap which ran Python code the
 * interpreter no longer lists.  0 or -ENOMEM. */
int capture_python_done(struct capture_session *c, struct snapshot *snap);
/* A thread about to be stopped: its thread state's address, 0 when not
 * a Python thread; then, held in the stop, its Python frames read into
 * w->py (the thread's frames as its native stack has them). */
uint64_t capture_python_state(struct capture_session *c, int tid);
/* All-stop: every thread held, the interpreter's threads read now, for
 * capture_read_python to take. */
void capture_python_all_stopped(struct capture_session *c);
void capture_python_in_stop(struct capture_session *c, struct work *w, uint64_t ts);
/* The Python thread to merge into w's entry: the one its stop read, else
 * this refresh's; NULL when none. */
const struct py_thread *capture_python_for(struct capture_session *c, struct work *w);
void capture_python_forget(struct work *w);

#endif
