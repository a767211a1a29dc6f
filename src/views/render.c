/*
 * render: grouped and per-thread text; see render.h.
 *
 * A frame line is "function  file:line  module": the program's own frames
 * (module = the snapshot's executable) in bold, library frames dim, inline
 * frames marked.  Paths are shortened to basenames: the JSON keeps them
 * whole.
 */
#include "views/render.h"
#include "model/diff.h"
#include "base/escape.h"
#include "model/group.h"
#include "model/labels.h"
#include "model/locks.h"
#include "base/util.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_KIND "\033[1;33m"
#define C_WARN "\033[1;31m"
#define C_RESET "\033[0m"

struct out {
	FILE *fp;
	bool color;
	const struct snapshot *snap;
};

static const char *col(const struct out *o, const char *code)
{
	return o->color ? code : "";
}

void render_duration(double sec, char *buf, size_t size)
{
	if (sec < 10)
		snprintf(buf, size, "%.1fs", sec);
	else if (sec < 60)
		snprintf(buf, size, "%.0fs", sec);
	else if (sec < 3600)
		snprintf(buf, size, "%dm%02ds", (int)sec / 60, (int)sec % 60);
	else
		snprintf(buf, size, "%dh%02dm", (int)sec / 3600, (int)sec % 3600 / 60);
}

static bool own_frame(const struct out *o, const struct frame *f)
{
	if (f->python)
		return python_own_frame(f);
	return f->module && o->snap->exe && strcmp(f->module, o->snap->exe) == 0;
}

static void print_frame(const struct out *o, const struct frame *f)
{
	char where[512] = "";
	char name[512];
	bool own = own_frame(o, f);

	frame_label(f, name, sizeof(name));
	if (f->file && f->line)
		snprintf(where, sizeof(where), "%s:%d", esc(path_base(f->file)), f->line);
	else if (f->file)
		snprintf(where, sizeof(where), "%s", esc(path_base(f->file)));

	fprintf(o->fp, "    %s%-34s%s %s%-24s%s %s%s%s%s\n",
		col(o, own ? C_BOLD : C_DIM), esc(name), col(o, C_RESET),
		col(o, own ? "" : C_DIM), where, col(o, C_RESET),
		col(o, C_DIM), f->module && !own ? esc(path_base(f->module)) : "",
		f->inlined ? " (inlined)" : "", col(o, C_RESET));
}

/* The module of the snapshot's list that holds pc, or NULL. */
static const struct module_info *module_at(const struct snapshot *snap, uint64_t pc)
{
	size_t lo = 0, hi = snap->nmodules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (snap->modules[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pc >= snap->modules[lo - 1].end)
		return NULL;
	return &snap->modules[lo - 1];
}

/* After a stack: why a module's frames are not named from its file
 * ("replaced on disk"), once per module. */
static void print_module_notes(const struct out *o, const struct thread *t)
{
	const struct module_info *seen[8];
	size_t nseen = 0;

	for (size_t i = 0; i < t->nframes && nseen < 8; i++) {
		const struct module_info *m = t->frames[i].module ?
			module_at(o->snap, t->frames[i].pc) : NULL;
		bool dup = false;
		if (!m || !m->note)
			continue;
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == m;
		if (dup)
			continue;
		seen[nseen++] = m;
		fprintf(o->fp, "    %s[%s: %s]%s\n", col(o, C_WARN),
			esc(path_base(m->path)), esc(m->note), col(o, C_RESET));
	}
}

static void print_stack(const struct out *o, const struct thread *t)
{
	size_t anon = 0;

	for (size_t i = 0; i < t->nframes; i++) {
		print_frame(o, &t->frames[i]);
		anon += !t->frames[i].module && !t->frames[i].function;
	}
	if (o->snap->nmodules)
		print_module_notes(o, t);
	if (anon)
		fprintf(o->fp, "    %s[%zu frame%s in no file: code generated at run time, as a JIT makes it (the JVM's compiled and interpreted Java methods): not named]%s\n",
			col(o, C_DIM), anon, anon == 1 ? "" : "s", col(o, C_RESET));
	if (t->partial)
		fprintf(o->fp, "    %s[partial: %s]%s\n", col(o, C_WARN),
			t->error ? esc(t->error) : "incomplete stack", col(o, C_RESET));
}

static const char *thread_name_of(const struct snapshot *snap, int tid)
{
	const struct thread *t = snapshot_find_thread(snap, tid);

	return t ? thread_name(t) : NULL;
}

/* Whether t waits for a mutex whose owner is known: what a lock cycle
 * starts from (lock_cycle). */
static bool waits_for_owner(const struct thread *t)
{
	return t->wait.kind == WAIT_MUTEX && t->wait.owner > 0;
}

/* One line per lock cycle, each reported once (from its smallest tid). */
static void print_deadlocks(const struct out *o)
{
	int cycle[64];

	for (size_t i = 0; i < o->snap->nthreads; i++) {
		const struct thread *t = &o->snap->threads[i];
		if (!waits_for_owner(t))
			continue;
		int n = lock_cycle(o->snap, t, cycle, 64);
		bool smallest = n > 0;
		for (int k = 1; k < n; k++)
			if (cycle[k] < t->tid)
				smallest = false;
		if (!smallest)
			continue;
		fprintf(o->fp, "%sdeadlock:%s", col(o, C_WARN), col(o, C_RESET));
		for (int k = 0; k <= n; k++) {
			int tid = cycle[k % n];
			const char *nm = thread_name_of(o->snap, tid);
			fprintf(o->fp, "%s%d (%s)", k ? " -> " : " ", tid, nm ? esc(nm) : "?");
		}
		fprintf(o->fp, ", each waiting for a mutex the next one holds\n");
	}
}

/* "on pipe:[123]" / "on 0x7f.. held by 1234 (worker)" for one thread. */
static void wait_object(const struct out *o, const struct wait_info *w,
			char *buf, size_t size)
{
	buf[0] = '\0';
	if (w->object && w->kind == WAIT_POLL)
		snprintf(buf, size, "fds %s", esc(w->object));
	else if (w->object && w->fd >= 0)
		snprintf(buf, size, "fd %d %s", w->fd, esc(w->object));
	else if (w->object)	/* a goroutine's lock: "mutex 0x..." */
		snprintf(buf, size, "%s", esc(w->object));
	else if (w->fd >= 0)
		snprintf(buf, size, "fd %d", w->fd);
	else if (w->address)
		snprintf(buf, size, "0x%" PRIx64, w->address);
	if (w->owner) {
		const char *n = thread_name_of(o->snap, w->owner);
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s %d%s%s%s",
			 len ? " " : "",
			 w->kind == WAIT_JOIN ? "joining" : "held by",
			 w->owner, n ? " (" : "", n ? esc(n) : "", n ? ")" : "");
	}
}

/* A thread's name as people know it: a Python thread's threading name,
 * else its own (comm). */
static const char *shown_name(const struct thread *t)
{
	const char *n = thread_py_name(t) ? thread_py_name(t) : thread_name(t);

	return n ? n : "?";
}

static void kind_label(const struct thread *t, char *buf, size_t size)
{
	const struct wait_info *w = &t->wait;

	/* a goroutine's: the runtime's words; a Python thread's: Python's,
	 * then the kernel's */
	if (t->goid && t->go_wait)
		snprintf(buf, size, "%s", esc(t->go_wait));
	else if (thread_py_wait(t) && w->kind != WAIT_RUNNING)
		snprintf(buf, size, "%s (%s)", esc(thread_py_wait(t)), wait_kind_name(w->kind));
	else if (thread_py_wait(t))
		snprintf(buf, size, "%s", esc(thread_py_wait(t)));
	else if (w->kind == WAIT_OTHER && w->syscall_name)
		snprintf(buf, size, "other (%s)", esc(w->syscall_name));
	else
		snprintf(buf, size, "%s", wait_kind_name(w->kind));
}

void render_where(const struct snapshot *s, char *buf, size_t size)
{
	const struct cgroup_info *c = &s->where;
	int n = 0;

	buf[0] = '\0';
	if (c->runtime[0])
		n = snprintf(buf, size, "%s %.*s", esc(c->runtime), CONTAINER_SHORT_ID, esc(c->id));
	else if (c->unit[0])
		n = snprintf(buf, size, "%s", esc(c->unit));
	if (c->pod_uid[0] && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "%spod %s", n ? ", " : "", esc(c->pod_uid));
}

void render_nspid(const struct snapshot *s, char *buf, size_t size)
{
	buf[0] = '\0';
	if (s->nspid > 0 && s->nspid != s->pid)
		snprintf(buf, size, ", %d in its namespace", s->nspid);
}

void render_kind_counts(const size_t counts[WAIT__COUNT], char *buf, size_t size)
{
	size_t left[WAIT__COUNT], len = 0;

	memcpy(left, counts, sizeof(left));
	buf[0] = '\0';
	/* Kinds by count, largest first. */
	for (;;) {
		size_t best = 0;
		int kind = -1;
		for (int k = 0; k < WAIT__COUNT; k++)
			if (left[k] > best) {
				best = left[k];
				kind = k;
			}
		if (kind < 0 || len >= size)
			break;
		len += (size_t)snprintf(buf + len, size - len, "%s%zu %s",
					len ? ", " : "", best,
					wait_kind_name((enum wait_kind)kind));
		left[kind] = 0;
	}
}

/* The header; returns whether some thread waits for a mutex's known
 * owner (a deadlock is possible). */
static bool print_summary(const struct out *o)
{
	const struct snapshot *s = o->snap;
	size_t counts[WAIT__COUNT] = { 0 };
	char kinds[512];

	size_t nthreads = s->nthreads - s->ngoroutines, own = 0, sigstopped = 0;
	bool owners = false;
	for (size_t i = 0; i < s->nthreads; i++) {
		owners |= waits_for_owner(&s->threads[i]);
		if (s->threads[i].goid)
			own += s->threads[i].go_system;
		else
			counts[s->threads[i].wait.kind]++;
		sigstopped += !s->threads[i].goid && s->threads[i].state == 'T';
	}
	render_kind_counts(counts, kinds, sizeof(kinds));
	char where[UNIT_NAME_MAX + POD_UID_MAX + 64], nspid[64];
	render_where(s, where, sizeof(where));
	render_nspid(s, nspid, sizeof(nspid));
	fprintf(o->fp, "%s%s (pid %d%s)%s%s%s: ", col(o, C_BOLD), s->comm ? esc(s->comm) : "?",
		s->pid, nspid, where[0] ? " in " : "", where, col(o, C_RESET));
	if (s->runtime && s->runtime_note)
		fprintf(o->fp, "%s, goroutines not read, ", esc(s->runtime));
	else if (s->runtime)
		fprintf(o->fp, "%s, %zu goroutine%s (%zu of the runtime's own), ", esc(s->runtime),
			s->ngoroutines, s->ngoroutines == 1 ? "" : "s", own);
	if (s->python && !s->python_note)
		fprintf(o->fp, "Python %s, %zu with Python frames, ", esc(s->python), s->npython);
	fprintf(o->fp, "%zu thread%s%s%s\n", nthreads, nthreads == 1 ? "" : "s",
		kinds[0] ? " — " : "", kinds);
	/* State T: stopped by a signal (SIGSTOP, job control), not by a
	 * tracer (t); each ran last to stop, so how long it waited is not
	 * known (capture leaves it out). */
	if (sigstopped && sigstopped == nthreads)
		fprintf(o->fp, "%sstopped by a signal (SIGSTOP or job control: state T): how long each thread waited before the stop is not known%s\n",
			col(o, C_WARN), col(o, C_RESET));
	else if (sigstopped)
		fprintf(o->fp, "%s%zu of %zu threads stopped by a signal (state T): how long they waited before the stop is not known%s\n",
			col(o, C_WARN), sigstopped, nthreads, col(o, C_RESET));
	fprintf(o->fp, "captured in %.1f ms with %s; ", s->capture_ms,
		s->unwinder ? esc(s->unwinder) : "?");
	if (s->threads_stopped)
		fprintf(o->fp, "%d thread%s stopped briefly\n", s->threads_stopped,
			s->threads_stopped == 1 ? "" : "s");
	else
		fprintf(o->fp, "no thread stopped\n");
	if (s->partial && !s->runtime_note)	/* that says why, below */
		fprintf(o->fp, "%spartial: %s%s\n", col(o, C_WARN),
			s->note ? esc(s->note) : "some stacks are incomplete", col(o, C_RESET));
	return owners;
}

static void print_goroutine_ids(const struct out *o, const struct group *g)
{
	fprintf(o->fp, "  %sgoroutine ids:", col(o, C_DIM));
	size_t show = g->count < 12 ? g->count : 12;
	for (size_t i = 0; i < show; i++)
		fprintf(o->fp, " %lld", (long long)g->threads[i]->goid);
	fprintf(o->fp, "%s%s\n", g->count > show ? " …" : "", col(o, C_RESET));
}

/* A goroutine's pprof labels as pprof's debug=1 prints them (labels.h),
 * when it has a set: "  labels: {"k":"v", ...}". */
static void print_labels(const struct out *o, const struct thread *t)
{
	if (!t->goid || !t->labelled)
		return;
	char *text = labels_text(t->labels, t->nlabels);
	fprintf(o->fp, "  %slabels:%s %s\n", col(o, C_DIM), col(o, C_RESET), text ? esc(text) : "?");
	free(text);
}

/* "worker ×12, main" — names of a group's threads with counts. */
static void print_names(const struct out *o, const struct group *g)
{
	if (g->threads[0]->goid) {
		print_goroutine_ids(o, g);
		return;
	}
	const char *names[8];
	size_t counts[8], n = 0, others = 0;

	for (size_t i = 0; i < g->count; i++) {
		const char *nm = shown_name(g->threads[i]);
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(names[k], nm) == 0)
				break;
		if (k < n)
			counts[k]++;
		else if (n < 8) {
			names[n] = nm;
			counts[n++] = 1;
		} else
			others++;
	}
	fprintf(o->fp, "  threads:");
	for (size_t k = 0; k < n; k++) {
		if (counts[k] > 1)
			fprintf(o->fp, "%s %s ×%zu", k ? "," : "", esc(names[k]), counts[k]);
		else
			fprintf(o->fp, "%s %s", k ? "," : "", esc(names[k]));
	}
	if (others)
		fprintf(o->fp, ", %zu more names", others);
	fprintf(o->fp, "  %s[", col(o, C_DIM));
	size_t show = g->count < 8 ? g->count : 8;
	for (size_t i = 0; i < show; i++)
		fprintf(o->fp, "%s%d", i ? " " : "", g->threads[i]->tid);
	if (g->count > show)
		fprintf(o->fp, " …");
	fprintf(o->fp, "]%s\n", col(o, C_RESET));
}

/* A goroutine's "created by" frames and parent. */
static void print_creator(const struct out *o, const struct thread *t, const char *note)
{
	fprintf(o->fp, "  created by%s:\n", note);
	for (size_t i = 0; i < t->ncreated; i++)
		print_frame(o, &t->created[i]);
	if (t->go_parent)
		fprintf(o->fp, "    %sin goroutine %lld%s\n", col(o, C_DIM),
			(long long)t->go_parent, col(o, C_RESET));
}

/* "created by main.main  main.go:25 (in goroutine 1)" under a goroutine
 * group: where its first member was started, and whether all were. */
static void print_created(const struct out *o, const struct group *g)
{
	const struct thread *t0 = g->threads[0];
	bool same = true;

	if (!t0->ncreated)
		return;
	same = g->created_same;
	if (g->one_parent) {
		print_creator(o, t0, same ? "" : " (the first of them; others elsewhere)");
		return;
	}
	/* each in a goroutine of its own (a handler's, per request) */
	fprintf(o->fp, "  created by%s:\n", same ? "" : " (the first of them; others elsewhere)");
	for (size_t i = 0; i < t0->ncreated; i++)
		print_frame(o, &t0->created[i]);
	fprintf(o->fp, "    %sin goroutines", col(o, C_DIM));
	for (size_t i = 0; i < g->count && i < GROUP_KEPT; i++)
		fprintf(o->fp, " %lld", (long long)g->threads[i]->go_parent);
	fprintf(o->fp, "%s%s\n", g->count > GROUP_KEPT ? " ..." : "", col(o, C_RESET));
}

/*
 * A goroutine group's members by what they wait on, when that differs:
 * one line per lock or fd, "OBJECT: ids", those on the same lock together
 * (a group is a stack; the lock is the instance).  At most 8 lines: the
 * first 8 objects in member order; the members of any other are counted.
 *
 * One pass over the members: a member's line is known from its wait's
 * fields (struct obj_seen: the same fields say the same words), else from
 * the words, written once for each set of fields met (a million
 * goroutines on 64 mutexes write 64).  The table of fields met is bounded:
 * past OBJ_SEEN_MAX sets a member's words are written each time.
 */
#define OBJ_LINES 8
#define OBJ_IDS 16
#define OBJ_SEEN_MAX 65536

struct obj_line {
	char text[512];
	size_t count;
	long long ids[OBJ_IDS];
};

struct obj_seen {
	const struct wait_info *w;	/* NULL: a free slot */
	int line;			/* -1: none of the OBJ_LINES */
};

static uint64_t wait_hash(const struct wait_info *w)
{
	uint64_t h = (uintptr_t)w->object * 0x9e3779b97f4a7c15ull;

	h ^= (w->address + ((uint64_t)(unsigned)w->fd << 32) + (unsigned)w->owner +
	      (w->kind == WAIT_POLL)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 31);
}

/* The same fields, the object string by address (equal strings at two
 * addresses are two slots, both with the same line). */
static bool same_fields_exactly(const struct wait_info *a, const struct wait_info *b)
{
	return a->object == b->object && a->fd == b->fd && a->address == b->address &&
	       a->owner == b->owner && (a->kind == WAIT_POLL) == (b->kind == WAIT_POLL);
}

/* The slot of w's fields in seen (mask + 1 slots), or the free one where
 * they would go. */
static struct obj_seen *seen_slot(struct obj_seen *seen, size_t mask, const struct wait_info *w)
{
	size_t i;

	for (i = wait_hash(w) & mask; seen[i].w && !same_fields_exactly(seen[i].w, w);
	     i = (i + 1) & mask)
		;
	return &seen[i];
}

/* Room for one more in *seen (count sets in it); false when it is full
 * or out of memory (then nothing more is kept). */
static bool seen_room(struct obj_seen **seen, size_t *mask, size_t count)
{
	if (*seen && (count + 1) * 2 <= *mask + 1)
		return true;
	size_t n = *seen ? (*mask + 1) * 2 : 64;
	if (n > 2 * OBJ_SEEN_MAX)
		return false;
	struct obj_seen *ns = calloc(n, sizeof(*ns));
	if (!ns)
		return false;
	for (size_t i = 0; *seen && i <= *mask; i++)
		if ((*seen)[i].w)
			*seen_slot(ns, n - 1, (*seen)[i].w) = (*seen)[i];
	free(*seen);
	*seen = ns;
	*mask = n - 1;
	return true;
}

/* The line of the words w's wait says, a new one while there are fewer
 * than OBJ_LINES; -1 past them. */
static int line_of(const struct out *o, const struct wait_info *w, struct obj_line *lines,
		   int *nlines)
{
	char obj[512];

	wait_object(o, w, obj, sizeof(obj));
	for (int k = 0; k < *nlines; k++)
		if (strcmp(lines[k].text, obj) == 0)
			return k;
	if (*nlines == OBJ_LINES)
		return -1;
	memcpy(lines[*nlines].text, obj, sizeof(obj));
	lines[*nlines].count = 0;
	return (*nlines)++;
}

static void print_goroutine_objects(const struct out *o, const struct group *g)
{
	struct obj_line *lines = malloc(OBJ_LINES * sizeof(*lines));
	struct obj_seen *seen = NULL;
	size_t mask = 0, nseen = 0, done = 0;
	int nlines = 0, line = -1;

	if (!lines)
		return;
	for (size_t i = 0; i < g->count; i++) {
		const struct wait_info *w = &g->threads[i]->wait;
		/* as the one before it: most often, on a few objects */
		if (i == 0 || !wait_fields_equal(&g->threads[i - 1]->wait, w)) {
			struct obj_seen *s = nseen < OBJ_SEEN_MAX && seen_room(&seen, &mask, nseen) ?
					     seen_slot(seen, mask, w) : NULL;
			if (s && s->w)
				line = s->line;
			else
				line = line_of(o, w, lines, &nlines);
			if (s && !s->w) {
				*s = (struct obj_seen){ w, line };
				nseen++;
			}
		}
		if (line < 0)
			continue;
		if (lines[line].count < OBJ_IDS)
			lines[line].ids[lines[line].count] = (long long)g->threads[i]->goid;
		lines[line].count++;
		done++;
	}
	for (int k = 0; k < nlines; k++) {
		fprintf(o->fp, "  %s:", lines[k].text[0] ? lines[k].text : "?");
		for (size_t j = 0; j < lines[k].count && j < OBJ_IDS; j++)
			fprintf(o->fp, " %lld", lines[k].ids[j]);
		fprintf(o->fp, "%s\n", lines[k].count > OBJ_IDS ? " ..." : "");
	}
	if (done < g->count)
		fprintf(o->fp, "  ... %zu more\n", g->count - done);
	free(seen);
	free(lines);
}

static void print_goroutine_group(const struct out *o, const struct group *g)
{
	const struct thread *t0 = g->threads[0];
	double lo = g->min_go_minutes, hi = g->max_go_minutes;
	char obj[512];

	/* what they wait on: the same lock or fd for all, or each theirs */
	bool same_object = true;
	wait_object(o, &t0->wait, obj, sizeof(obj));
	for (size_t i = 1; i < g->count && same_object && !g->same_wait; i++) {
		char other[512];
		if (wait_fields_equal(&t0->wait, &g->threads[i]->wait))
			continue;
		wait_object(o, &g->threads[i]->wait, other, sizeof(other));
		same_object = strcmp(obj, other) == 0;
	}
	fprintf(o->fp, "%s%zu goroutine%s%s  %s%s%s", col(o, C_BOLD), g->count,
		g->count == 1 ? "" : "s", col(o, C_RESET), col(o, C_KIND),
		esc(t0->go_wait ? t0->go_wait : "?"), col(o, C_RESET));
	if (obj[0] && same_object)
		fprintf(o->fp, "  %s", obj);
	else if (!same_object)
		fprintf(o->fp, "  (on different objects)");
	/* as pprof says it: whole minutes, once a GC has seen the wait,
	 * "1 minutes" too (runtime goroutineheader) */
	if (hi >= 1 && (long)lo == (long)hi)
		fprintf(o->fp, "  %ld minutes", (long)hi);
	else if (hi >= 1)
		fprintf(o->fp, "  %ld … %ld minutes", (long)lo, (long)hi);
	fprintf(o->fp, "\n");
	print_goroutine_ids(o, g);
	print_labels(o, t0);
	if (!same_object)
		print_goroutine_objects(o, g);
	print_stack(o, t0);
	print_created(o, g);
}

static void print_group(const struct out *o, const struct group *g)
{
	const struct thread *t0 = g->threads[0];
	char kind[64], obj[512], d1[32], d2[32];
	bool same_object = true;

	kind_label(t0, kind, sizeof(kind));
	wait_object(o, &t0->wait, obj, sizeof(obj));
	for (size_t i = 1; i < g->count && same_object && !g->same_wait; i++) {
		char other[512];
		if (wait_fields_equal(&t0->wait, &g->threads[i]->wait))
			continue;
		wait_object(o, &g->threads[i]->wait, other, sizeof(other));
		same_object = strcmp(obj, other) == 0;
	}
	fprintf(o->fp, "%s%zu thread%s%s  %s%s%s", col(o, C_BOLD), g->count,
		g->count == 1 ? "" : "s", col(o, C_RESET), col(o, C_KIND), kind,
		col(o, C_RESET));
	if (same_object && obj[0])
		fprintf(o->fp, "  %s", obj);
	else if (!same_object)
		fprintf(o->fp, "  (on %zu different objects)", g->count);
	if (g->max_blocked_sec >= 0) {
		render_duration(g->min_blocked_sec, d1, sizeof(d1));
		render_duration(g->max_blocked_sec, d2, sizeof(d2));
		if (strcmp(d1, d2) == 0)
			fprintf(o->fp, "  waiting %s", d2);
		else
			fprintf(o->fp, "  waiting %s … %s", d1, d2);
	}
	fprintf(o->fp, "\n");
	print_names(o, g);
	if (!same_object)
		for (size_t i = 0; i < g->count && i < 8; i++) {
			wait_object(o, &g->threads[i]->wait, obj, sizeof(obj));
			fprintf(o->fp, "  %d: %s\n", g->threads[i]->tid, obj);
		}
	print_stack(o, t0);
}

static void print_goroutine(const struct out *o, const struct thread *t)
{
	fprintf(o->fp, "%sgoroutine %lld%s [%s%s%s", col(o, C_BOLD), (long long)t->goid,
		col(o, C_RESET), col(o, C_KIND), esc(t->go_wait ? t->go_wait : "?"),
		col(o, C_RESET));
	if (t->go_minutes >= 1)
		fprintf(o->fp, ", %ld minutes", (long)t->go_minutes);	/* Go's "1 minutes" */
	fprintf(o->fp, "]:");
	char obj[512];
	wait_object(o, &t->wait, obj, sizeof(obj));
	if (obj[0])
		fprintf(o->fp, "  %s", obj);
	if (t->go_tid)
		fprintf(o->fp, "  on thread %d", t->go_tid);
	fprintf(o->fp, "\n");
	print_labels(o, t);
	print_stack(o, t);
	if (t->ncreated)
		print_creator(o, t, "");
	fprintf(o->fp, "\n");
}

static void print_thread(const struct out *o, const struct thread *t)
{
	char kind[64], obj[512], d[32];

	if (t->goid) {
		print_goroutine(o, t);
		return;
	}

	kind_label(t, kind, sizeof(kind));
	wait_object(o, &t->wait, obj, sizeof(obj));
	fprintf(o->fp, "%sthread %d%s \"%s\" state %c  %s%s%s", col(o, C_BOLD),
		t->tid, col(o, C_RESET), esc(shown_name(t)),
		t->state > ' ' && t->state < 0x7f ? t->state : '?', col(o, C_KIND), kind,
		col(o, C_RESET));
	if (obj[0])
		fprintf(o->fp, "  %s", obj);
	if (t->wait.blocked_sec >= 0) {
		render_duration(t->wait.blocked_sec, d, sizeof(d));
		fprintf(o->fp, "  waiting %s", d);
	}
	fprintf(o->fp, "\n");
	print_stack(o, t);
	fprintf(o->fp, "\n");
}

void render_group(FILE *fp, const struct snapshot *snap, const struct group *g,
		  const struct render_options *opt)
{
	struct out o = { fp, opt->color, snap };

	if (g->threads[0]->goid)
		print_goroutine_group(&o, g);
	else
		print_group(&o, g);
}

void render_stack(FILE *fp, const struct snapshot *snap, const struct thread *t,
		  const struct render_options *opt)
{
	struct out o = { fp, opt->color, snap };

	print_stack(&o, t);
}

/* 0: a goroutine of the program's, 1: of the runtime's own, 2: a thread. */
static int section_of(const struct thread *t)
{
	return !t->goid ? 2 : t->go_system ? 1 : 0;
}

int render_snapshot(FILE *fp, const struct snapshot *snap,
		    const struct render_options *opt)
{
	struct out o = { fp, opt->color, snap };
	struct grouping g = { 0 };

	/* grouped once, each section printed from it */
	if (!opt->per_thread && group_snapshot(snap, &g) < 0)
		return -ENOMEM;
	/* a pass over a million entries, not two */
	if (print_summary(&o))
		print_deadlocks(&o);
	fprintf(fp, "\n");
	if (snap->runtime_note)
		fprintf(fp, "%sgoroutines not read: %s%s\n\n", col(&o, C_WARN),
			esc(snap->runtime_note), col(&o, C_RESET));
	if (snap->python_note)
		fprintf(fp, "%sPython frames not read: %s%s\n\n", col(&o, C_WARN),
			esc(snap->python_note), col(&o, C_RESET));
	/* A Go program: its goroutines (the program's, then the runtime's
	 * own), then its threads; each section in the same order. */
	for (int section = snap->ngoroutines ? 0 : 2; section < 3; section++) {
		if (section == 1)
			fprintf(fp, "%s── the runtime's own goroutines ──%s\n\n", col(&o, C_DIM),
				col(&o, C_RESET));
		if (section == 2 && snap->ngoroutines)
			fprintf(fp, "%s── threads ──%s\n\n", col(&o, C_DIM), col(&o, C_RESET));
		if (opt->per_thread) {
			for (size_t i = 0; i < snap->nthreads; i++) {
				const struct thread *t = &snap->threads[i];
				if (section_of(t) == section)
					print_thread(&o, t);
			}
			continue;
		}
		for (size_t i = 0; i < g.ngroups; i++) {
			const struct thread *t0 = g.groups[i].threads[0];
			if (section_of(t0) != section)
				continue;
			if (t0->goid)
				print_goroutine_group(&o, &g.groups[i]);
			else
				print_group(&o, &g.groups[i]);
			fprintf(fp, "\n");
		}
	}
	grouping_free(&g);
	return 0;
}

/* Whether two snapshots' processes run in different places (or have
 * different pids in their namespaces): then each side says where. */
static bool where_differs(const struct snapshot *a, const struct snapshot *b)
{
	return a->nspid != b->nspid || strcmp(a->where.runtime, b->where.runtime) ||
	       strcmp(a->where.id, b->where.id) || strcmp(a->where.unit, b->where.unit) ||
	       strcmp(a->where.pod_uid, b->where.pod_uid);
}

static void print_side(const struct out *o, const char *label, const char *name,
		       const struct snapshot *s, const struct diff_side *n, bool where)
{
	size_t nthreads = n->nthreads - n->ngoroutines;
	char in[UNIT_NAME_MAX + POD_UID_MAX + 64] = "", nspid[64] = "";

	if (where) {
		render_where(s, in, sizeof(in));
		render_nspid(s, nspid, sizeof(nspid));
	}
	fprintf(o->fp, "%s %s%s%s (%s, pid %d%s%s%s, ", label, col(o, C_BOLD), esc(name),
		col(o, C_RESET), s->comm ? esc(s->comm) : "?", s->pid, nspid,
		where ? ", in " : "",
		!where ? "" : in[0] ? in : s->nspid || s->where.path[0] ? "no container or unit" :
		"a place not recorded");
	if (n->ngoroutines)
		fprintf(o->fp, "%zu goroutine%s, ", n->ngoroutines, n->ngoroutines == 1 ? "" : "s");
	fprintf(o->fp, "%zu thread%s)\n", nthreads, nthreads == 1 ? "" : "s");
}

int render_diff(FILE *fp, const struct diff *d, const struct snapshot *a,
		const struct snapshot *b, const char *name_a, const char *name_b,
		long min_delta, const struct render_options *opt)
{
	struct out o = { fp, opt->color, b };
	size_t shown = 0, grew = 0, appeared = 0, vanished = 0;
	long total = (long)d->total_after - (long)d->total_before;

	bool where = where_differs(a, b);

	print_side(&o, "before:", name_a, a, &d->before, where);
	print_side(&o, "after: ", name_b, b, &d->after, where);
	for (size_t i = 0; i < d->ngroups; i++) {
		const struct diff_group *g = &d->groups[i];
		if (g->ignored || g->go_runtime)
			continue;
		grew += g->delta >= min_delta;
		appeared += g->before == 0 && (long)g->after >= min_delta;
		vanished += g->after == 0 && (long)g->before >= min_delta;
	}
	fprintf(fp, "%s: %zu -> %zu (%+ld); %zu group%s grew by %ld or more (%zu new), %zu vanished\n",
		d->go ? "goroutines" : "threads", d->total_before, d->total_after, total, grew,
		grew == 1 ? "" : "s", min_delta, appeared, vanished);
	if (d->go)
		fprintf(fp, "(the Go runtime's threads and its own goroutines are left out, as in a goroutine profile)\n");
	if (d->go && !d->same_process)
		fprintf(fp, "(two processes: groups matched by stack; goroutine ids are not compared)\n");
	fprintf(fp, "\n");

	for (size_t i = 0; i < d->ngroups; i++) {
		const struct diff_group *g = &d->groups[i];
		if (!diff_shown(g, min_delta))
			continue;
		shown++;
		const struct thread *t = diff_example(g);
		char kind[64], dur[32];
		kind_label(t, kind, sizeof(kind));
		const char *color = g->delta > 0 ? C_WARN : "";
		fprintf(fp, "%s%+ld%s  (%zu -> %zu)  %s%s%s  %s", col(&o, color),
			g->delta, col(&o, C_RESET), g->before, g->after,
			col(&o, C_KIND), kind, col(&o, C_RESET), diff_status(g));
		if (g->delta == 0 && g->born)
			fprintf(fp, ": %zu of %zu replaced", g->born, g->after);
		if (g->b && g->b->max_blocked_sec >= 0) {
			render_duration(g->b->max_blocked_sec, dur, sizeof(dur));
			fprintf(fp, "  oldest waiting %s", dur);
		}
		fprintf(fp, "\n");
		o.snap = g->b ? b : a;
		print_names(&o, g->b ? g->b : g->a);
		print_labels(&o, t);
		print_stack(&o, t);
		if (t->goid)
			print_created(&o, g->b ? g->b : g->a);
		fprintf(fp, "\n");
	}
	if (!shown)
		fprintf(fp, "no group changed by %ld or more\n", min_delta);
	return 0;
}
