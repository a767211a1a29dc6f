/*
 * snapshot: the one central data type of threadleak, and its JSON form.
 *
 * A snapshot is what `capture` makes of a live process and what every other
 * part (group, render, diff, top) consumes.  It owns all its memory: every
 * string and array hangs off the snapshot and is released by
 * snapshot_free().  Frames are innermost first; inline frames appear as
 * their own entries, flagged `inlined`, before the frame of the real
 * function that contains them, exactly as a reader of the source expects.
 *
 * The JSON document (DESIGN.md section 5) is versioned.  snapshot_read()
 * accepts any version up to SNAPSHOT_VERSION and refuses newer ones with a
 * message; fields it does not know are ignored, so older readers of newer
 * minor additions keep working.
 *
 * A snapshot read from JSON keeps its threads' strings (names, errors,
 * wait syscalls and objects, frame modules, functions and files: mostly
 * the same few hundred strings over and over) once each, in a string pool
 * that the snapshot owns; such threads are marked `pooled`.  Their strings
 * are shared: never free, modify or replace one; snapshot_free() and
 * thread_release() know not to free them one by one.
 */
#ifndef THREADLEAK_SNAPSHOT_H
#define THREADLEAK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/cgroup.h"

/* The newest version read, and the one snapshot files are written in
 * (snapshot_write_file: each stack once, goroutines as rows); version 1,
 * every entry whole, is what snapshot_write() prints (--json, -f json). */
#define SNAPSHOT_VERSION 2
#define SNAPSHOT_VERSION_FLAT 1
#define SNAPSHOT_FORMAT "threadleak-snapshot"

/* The wait vocabulary of DESIGN.md section 5, in a fixed order. */
enum wait_kind {
	WAIT_UNKNOWN = 0,	/* not classified (thread vanished, no data) */
	WAIT_RUNNING,
	WAIT_MUTEX,
	WAIT_CONDVAR,
	WAIT_FUTEX,
	WAIT_JOIN,
	WAIT_READ,
	WAIT_WRITE,
	WAIT_POLL,
	WAIT_EPOLL,
	WAIT_ACCEPT,
	WAIT_CONNECT,
	WAIT_SLEEP,
	WAIT_WAIT,
	WAIT_SIGNAL,
	WAIT_OTHER,
	WAIT__COUNT
};

const char *wait_kind_name(enum wait_kind kind);
/* Returns WAIT_UNKNOWN for names it does not know. */
enum wait_kind wait_kind_from_name(const char *name);

struct frame {
	uint64_t pc;		/* return address for callers, as unwound */
	char *module;		/* full path of the mapped file, or NULL */
	char *function;		/* symbol or inline function name, or NULL */
	char *file;		/* source file, or NULL */
	uint64_t offset;	/* pc - module load address (for "module+0x..") */
	int line;		/* source line, 0 when unknown */
	bool inlined;		/* an inline frame inside the next entry */
	bool python;		/* a Python function's frame (pc 0, no module):
				   function its qualified name, file and line
				   the source's (python/threads.h) */
};

#define BLOCKED_NOT_READ -2.0

/* One of a goroutine's pprof labels (runtime/pprof.Labels, pprof.Do). */
struct label {
	char *key;
	char *value;
};

/* Bounds on an entry's labels, whatever the target or a file holds: the
 * first LABELS_MAX by key are kept, a key or value is cut (at a UTF-8
 * character) to LABEL_LEN_MAX bytes. */
#define LABELS_MAX 64
#define LABEL_LEN_MAX 1024

struct wait_info {
	enum wait_kind kind;
	int fd;			/* fd waited on, -1 when none */
	int owner;		/* tid owning the mutex, 0 when unknown */
	int syscall;		/* syscall number, -1 when none (running) */
	char *syscall_name;	/* "futex", "read", ...; NULL when none */
	char *object;		/* "pipe:[123]", "tcp 127.0.0.1:80 -> ...", path */
	uint64_t address;	/* futex/mutex address, 0 when none */
	double blocked_sec;	/* seconds since the thread last ran; <0 unknown,
				   BLOCKED_NOT_READ: not read yet (top) */
};

/* What only an OS thread has: a million goroutines do without (their
 * entry's os is NULL). */
struct os_thread {
	char *name;		/* the pool's when its thread is pooled */
	/* A Python thread's: its threading name, and what it waits on in
	 * Python's words ("queue.get", "Lock.acquire"; capture/python-wait.h);
	 * NULL for others.  The pool's when the thread is pooled. */
	char *py_name, *py_wait;
	uint64_t utime, stime;	/* clock ticks */
	uint64_t start_time;	/* clock ticks after boot: with tid, identity */
	uint64_t cpu_ns;	/* CPU time (schedstat), read at cpu_at */
	double cpu_at;		/* monotonic seconds (util.h now_sec); both
				   for top's CPU shares, not saved */
};

/* An entry: an OS thread, or a goroutine.  Its small fields come first,
 * side by side: a million goroutines are a million of these (160 bytes;
 * 200 with an OS thread's own fields in it, 256 with the fields in their
 * old order). */
struct thread {
	int tid;
	int go_tid;		/* a goroutine's: the thread running it; 0 */
	char state;		/* /proc state letter: R S D T t Z X I */
	bool partial;		/* the stack is incomplete or missing */
	bool stopped;		/* capture stopped this thread (ptrace) */
	bool pooled;		/* its strings (name, error, wait's, frames')
				   are in its snapshot's pool: shared, never
				   freed or replaced one by one */
	bool frames_pooled;	/* frames and created are the pool's too,
				   shared by every pooled thread with the
				   same stack: never changed or freed */
	bool go_system;		/* one of the runtime's own (GC workers,
				   finalizers...), like goleak's ignores */
	bool labelled;		/* it has a label set, maybe empty (pprof
				   prints "{}"); else labels is NULL */
	size_t nframes;
	size_t ncreated;
	size_t nlabels;
	struct os_thread *os;	/* an OS thread's own (thread_os); NULL for
				   a goroutine and an entry without them */
	struct wait_info wait;
	struct frame *frames;
	char *error;		/* why it is partial, or NULL */
	/* A goroutine of a Go program rather than an OS thread, when goid
	 * is not 0 (go/goroutines.h); tid is then 0 but for go_tid. */
	int64_t goid;
	char *go_wait;		/* the runtime's words: its wait reason
				   ("chan receive") or status ("running") */
	int64_t go_parent;	/* the goroutine that created it; 0 */
	double go_minutes;	/* waited, as the runtime knows it (a GC
				   sets waitsince); -1: not known */
	struct frame *created;	/* where "go" started it (gopc), innermost
				   first, inline frames included */
	/* Its pprof labels (labels.h), sorted by key, keys unique; the
	 * array and its strings are the pool's when pooled (equal sets then
	 * share one array), else its own. */
	struct label *labels;
};

/* A file mapped into the process (libdwfl's module): what a profile's
 * mappings say of it.  path is the frames' module string. */
struct module_info {
	char *path;
	char *build_id;		/* lowercase hex, or NULL when unknown */
	uint64_t start, end;	/* its addresses in the process: [start, end) */
	char *note;		/* why its names are not its file's ("replaced
				   on disk: ..."), or NULL */
};

#define SNAPSHOT_MAX_MODULES 65536

/* The strings of pooled threads (snapshot.c); opaque. */
struct strpool;

struct snapshot {
	int version;
	int pid;
	int nspid;		/* its pid in its own PID namespace; 0: not
				   known (an older file) */
	char *comm;
	char *exe;
	/* Where it runs, from /proc/PID/cgroup (cgroup.h): its cgroup path,
	 * container, pod and unit; "" each when not known or none. */
	struct cgroup_info where;
	char *unwinder;		/* "libdw", "libunwind" */
	int64_t taken_at;	/* unix time, seconds */
	double capture_ms;	/* wall time of the capture */
	int threads_stopped;	/* how many threads capture stopped */
	double stop_ms_total, stop_ms_max;	/* how long they were held:
						   all, and the longest; -1:
						   not known (an older file) */
	bool partial;		/* some thread could not be captured fully */
	char *note;		/* why partial, or NULL */
	struct thread *threads;
	size_t nthreads;
	struct strpool *pool;	/* owns the pooled threads' strings, or NULL */
	char *runtime;		/* "go1.19.8" for a Go program, or NULL */
	bool go_test;		/* a Go test binary (go test's) */
	char *runtime_note;	/* why its goroutines were not read, or NULL */
	char *go_layouts;	/* where the runtime's layouts came from:
				   "built-in" or "dwarf" (the binary's); NULL */
	char *python;		/* a CPython's version ("3.12.1", "3.9"), or NULL */
	char *python_note;	/* why its Python frames were not read, or NULL */
	size_t npython;		/* threads with Python frames */
	size_t ngoroutines;	/* entries with a goid */
	size_t threads_reserved;	/* threads[] holds this many
					   (snapshot_reserve), or 0 */
	struct module_info *modules;	/* the mapped files, by start; none
					   in snapshots older than 2026-12 */
	size_t nmodules;
};

/* Frees everything under snap and snap itself (a heap object); NULL-safe. */
void snapshot_free(struct snapshot *snap);
/*
 * Appends a zeroed thread (its wait wait_info_init'd); returns it or NULL on
 * allocation failure.  The arrays' capacity is implied by their length, so
 * grow threads[] and frames[] only through these two functions.
 */
struct thread *snapshot_add_thread(struct snapshot *snap);
/* t's os part, made (zeroed) if it has none; NULL when out of memory. */
struct os_thread *thread_os(struct thread *t);
/* Its name, times and start time; NULL and 0 when it has no os part. */
static inline const char *thread_name(const struct thread *t)
{
	return t->os ? t->os->name : NULL;
}
static inline const char *thread_py_name(const struct thread *t)
{
	return t->os ? t->os->py_name : NULL;
}
static inline const char *thread_py_wait(const struct thread *t)
{
	return t->os ? t->os->py_wait : NULL;
}
static inline bool thread_has_python(const struct thread *t)
{
	for (size_t i = 0; i < t->nframes; i++)
		if (t->frames[i].python)
			return true;
	return false;
}
static inline uint64_t thread_start_time(const struct thread *t)
{
	return t->os ? t->os->start_time : 0;
}
static inline uint64_t thread_utime(const struct thread *t)
{
	return t->os ? t->os->utime : 0;
}
static inline uint64_t thread_stime(const struct thread *t)
{
	return t->os ? t->os->stime : 0;
}
static inline uint64_t thread_cpu_ns(const struct thread *t)
{
	return t->os ? t->os->cpu_ns : 0;
}
static inline double thread_cpu_at(const struct thread *t)
{
	return t->os ? t->os->cpu_at : 0;
}
/* Room for more threads than it has: one allocation for many added at
 * once.  0 or -ENOMEM. */
int snapshot_reserve(struct snapshot *snap, size_t more);
/* What a frame is called: its function, else "module+0xOFFSET" (module
 * base name), else "0xPC". */
void frame_label(const struct frame *f, char *buf, size_t size);
/* Moves t's strings, then its frame arrays, into snap's pool (made if
 * need be), and marks t pooled and frames_pooled: a snapshot of many like
 * threads (100,000 goroutines) keeps each string and each stack once.
 * Frame arrays already the pool's (frames_pooled: an equal stack's,
 * shared) are left as they are.  0, or -ENOMEM (t is pooled all the same; what was not
 * moved leaks). */
int snapshot_pool_thread(struct snapshot *snap, struct thread *t);
/*
 * A refresh of a session (top) moves unchanged pooled threads from the
 * last snapshot to the new one: the new one takes the old one's pool
 * (when it has none, and the old one's holds at most max_bytes, so that a
 * long session's pool does not grow without end).  The old one's pooled
 * threads keep pointing into it: free the old snapshot first.  True when
 * taken.
 */
bool snapshot_adopt_pool(struct snapshot *to, struct snapshot *from, size_t max_bytes);
/* The pool's copy of s (for a pooled thread's fields), the pool made if
 * need be; NULL for NULL or when out of memory. */
char *snapshot_pool_string(struct snapshot *snap, const char *s);
/* The pool's copy of the n labels at l (strings and array; equal sets
 * get the same array) in *out, NULL for none: 0 or -ENOMEM. */
int snapshot_pool_labels(struct snapshot *snap, const struct label *l, size_t n,
			 struct label **out);
/* Frees a frame's strings (not for a pooled thread's frames). */
void frame_release(struct frame *f);
/* Frees what t owns (not t itself: nor, when pooled, its strings, which
 * its snapshot's pool owns) and zeroes it. */
void thread_release(struct thread *t);
/* Keeps the threads for which keep() says true, in order; frees the
 * others.  Returns how many are kept. */
size_t snapshot_filter(struct snapshot *snap,
		       bool (*keep)(struct thread *t, void *arg), void *arg);
/* Appends a zeroed frame to thread; returns it or NULL. */
struct frame *thread_add_frame(struct thread *t);
/* Initialises a wait_info to "nothing known". */
void wait_info_init(struct wait_info *w);

/*
 * JSON.  snapshot_write() writes the document to fp (compact when !pretty);
 * returns 0 or -errno.  snapshot_to_json() returns the same text, trailing
 * newline included, for the caller to free(); NULL with errno set on error.
 * snapshot_read() parses a file; on failure returns NULL and puts a
 * one-line reason (without the file name) in err.  It reads the file as a
 * stream, a thread at a time, and refuses at its first bytes what is not
 * a JSON object, a regular file over 64 GiB and anything else (a pipe)
 * past 1 GiB, and more than 16,777,216 entries; its memory is about what
 * the snapshot keeps, not the text's size.  snapshot_from_json() is the same reader on text in
 * memory.  Both return snapshots whose threads are pooled.
 */
int snapshot_write(const struct snapshot *snap, FILE *fp, bool pretty);
/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when s starts a
 * bad one; the writer's and the reader's (snapshot-write.c). */
size_t utf8_seq_len(const unsigned char *s);
char *snapshot_to_json(const struct snapshot *snap, bool pretty);
/* A snapshot file: the version 2 document (DESIGN.md section 5), compact,
 * each distinct stack once, a goroutine as a row of what is its own; to
 * fp, or to the file path.  0 or -errno. */
int snapshot_write_file(const struct snapshot *snap, FILE *fp);
int snapshot_save(const struct snapshot *snap, const char *path);
struct snapshot *snapshot_read(const char *path, char *err, size_t errlen);
struct snapshot *snapshot_from_json(const char *text, size_t len, char *err,
				    size_t errlen);

#endif
