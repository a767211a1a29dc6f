/*
 * diff: group both snapshots (group.c), merge the two sorted lists of
 * groups by (kind, signature), and count births and deaths per group by
 * (tid, start_time), goroutines by goid.  See diff.h.
 */
#include "model/diff.h"
#include "base/util.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int cmp_key(enum wait_kind ka, const char *sa, enum wait_kind kb,
		   const char *sb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(sa, sb);
}

static int cmp_group_ptr(const void *x, const void *y)
{
	const struct group *a = *(const struct group *const *)x;
	const struct group *b = *(const struct group *const *)y;

	return cmp_key(a->kind, a->signature, b->kind, b->signature);
}

static const struct group **sorted_groups(const struct grouping *g)
{
	const struct group **v = malloc((g->ngroups + 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < g->ngroups; i++)
		v[i] = &g->groups[i];
	qsort(v, g->ngroups, sizeof(*v), cmp_group_ptr);
	return v;
}

/* A member's identity: a thread's tid and start time, a goroutine's goid
 * (a goroutine has no tid of its own, nor a start time).  A group's
 * members are all threads or all goroutines (group.c), so id is the one
 * or the other. */
struct diff_key {
	uint64_t id;
	uint64_t start_time;
};

static struct diff_key key_of(const struct thread *t)
{
	return (struct diff_key){ t->goid ? (uint64_t)t->goid : (uint64_t)(unsigned)t->tid,
				  thread_start_time(t) };
}

/* A group's members: from the keys kept of them (the before side, whose
 * entries may be gone), else from its threads. */
struct members {
	const struct group *g;
	const struct diff_key *keys;
};

static struct diff_key member(const struct members *m, size_t i)
{
	return m->keys ? m->keys[i] : key_of(m->g->threads[i]);
}

/* Group members are in goid or tid order (group.c's member_key). */
static bool before(struct diff_key a, struct diff_key b)
{
	return a.id < b.id;
}

/* Members of x that are not in y (by tid and start time, or goid).
 * Members are in that order, so this is a merge. */
static size_t missing_from(const struct members *x, const struct members *y)
{
	size_t n = 0, j = 0;

	if (!y->g)
		return x->g ? x->g->count : 0;
	if (!x->g)
		return 0;
	for (size_t i = 0; i < x->g->count; i++) {
		struct diff_key t = member(x, i), u = { 0 };
		while (j < y->g->count && before((u = member(y, j)), t))
			j++;
		if (j < y->g->count && u.id == t.id && u.start_time == t.start_time)
			continue;
		n++;
	}
	return n;
}

static int cmp_diff(const void *x, const void *y)
{
	const struct diff_group *a = x, *b = y;

	if (a->delta != b->delta)
		return a->delta > b->delta ? -1 : 1;
	if (a->born != b->born)
		return a->born > b->born ? -1 : 1;
	if (a->after != b->after)
		return a->after > b->after ? -1 : 1;
	return cmp_key(a->kind, a->signature, b->kind, b->signature);
}

static void fill(const struct diff *diff, struct diff_group *d, const struct group *a,
		 const struct group *b)
{
	const struct group *any = b ? b : a;	/* one of them at least */
	struct members ma = { a, a ? diff->akeys + diff->akey_at[a - diff->ga.groups] : NULL };
	struct members mb = { b, NULL };

	assert(any);
	d->signature = any->signature;
	d->kind = any->kind;
	d->a = a;
	d->b = b;
	d->before = a ? a->count : 0;
	d->after = b ? b->count : 0;
	d->delta = (long)d->after - (long)d->before;
	/* Goroutine ids start at 1 in every process: across two, equal ids
	 * are not the same goroutine, and who was replaced is not known.
	 * (A thread's tid and start time tell processes apart.) */
	if (!diff->go || diff->same_process) {
		d->born = missing_from(&mb, &ma);
		d->died = missing_from(&ma, &mb);
	} else {
		d->born = d->delta > 0 ? (size_t)d->delta : 0;
		d->died = d->delta < 0 ? (size_t)-d->delta : 0;
	}
}

int diff_begin(const struct snapshot *a, struct diff *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->before.nthreads = a->nthreads;
	out->before.ngoroutines = a->ngoroutines;
	if (group_snapshot(a, &out->ga) < 0)
		goto out_nomem;
	out->akey_at = malloc((out->ga.ngroups + 1) * sizeof(*out->akey_at));
	out->akeys = malloc((a->nthreads + 1) * sizeof(*out->akeys));
	if (!out->akey_at || !out->akeys)
		goto out_nomem;
	for (size_t k = 0; k < out->ga.ngroups; k++) {
		const struct group *g = &out->ga.groups[k];
		out->akey_at[k] = n;
		for (size_t i = 0; i < g->count && n < a->nthreads; i++)
			out->akeys[n++] = key_of(g->threads[i]);
	}
	return 0;

out_nomem:
	diff_free(out);
	return -ENOMEM;
}

/* How many of g's members the diff still reads once A is dropped: a
 * thread group's names are all printed, a goroutine group's first ids. */
static size_t kept_of(const struct group *g)
{
	return g->threads[0]->goid && g->count > GROUP_KEPT ? GROUP_KEPT : g->count;
}

int diff_drop_before(struct diff *d, struct snapshot *a)
{
	size_t nkept = 0, cap = 8, k = 0, ngo = 0;
	struct thread *kept;

	for (size_t i = 0; i < d->ga.ngroups; i++)
		nkept += kept_of(&d->ga.groups[i]);
	if (nkept > a->nthreads)
		return -EINVAL;
	/* the capacity snapshot_add_thread implies of nkept entries */
	while (cap < nkept)
		cap *= 2;
	kept = calloc(cap, sizeof(*kept));
	if (!kept)
		return -ENOMEM;
	for (size_t i = 0; i < d->ga.ngroups; i++) {
		struct group *g = &d->ga.groups[i];
		size_t keep = kept_of(g);
		for (size_t j = 0; j < keep; j++) {
			struct thread *t = (struct thread *)g->threads[j];
			kept[k] = *t;	/* its parts move with it */
			memset(t, 0, sizeof(*t));
			ngo += kept[k].goid != 0;
			g->threads[j] = &kept[k++];
		}
		if (keep < g->count) {
			const struct thread **v = realloc(g->threads, keep * sizeof(*v));
			if (v)
				g->threads = v;
		}
	}
	for (size_t i = 0; i < a->nthreads; i++)
		thread_release(&a->threads[i]);
	free(a->threads);
	a->threads = kept;
	a->nthreads = k;
	a->ngoroutines = ngo;
	a->threads_reserved = 0;
	return 0;
}

int diff_end(struct diff *out, const struct snapshot *a, const struct snapshot *b)
{
	const struct group **va = NULL, **vb = NULL;
	size_t i = 0, j = 0, n = 0;

	out->after.nthreads = b->nthreads;
	out->after.ngoroutines = b->ngoroutines;
	out->go = out->before.ngoroutines && b->ngoroutines;
	out->same_process = a->pid == b->pid && (!a->exe || !b->exe || strcmp(a->exe, b->exe) == 0);
	if (group_snapshot(b, &out->gb) < 0)
		goto out_nomem;
	va = sorted_groups(&out->ga);
	vb = sorted_groups(&out->gb);
	out->groups = calloc(out->ga.ngroups + out->gb.ngroups + 1,
			     sizeof(*out->groups));
	if (!va || !vb || !out->groups)
		goto out_nomem;
	while (i < out->ga.ngroups || j < out->gb.ngroups) {
		int c;
		if (i == out->ga.ngroups)
			c = 1;
		else if (j == out->gb.ngroups)
			c = -1;
		else
			c = cmp_key(va[i]->kind, va[i]->signature, vb[j]->kind,
				    vb[j]->signature);
		struct diff_group *d = &out->groups[n++];
		if (c == 0)
			fill(out, d, va[i++], vb[j++]);
		else if (c < 0)
			fill(out, d, va[i++], NULL);
		else
			fill(out, d, NULL, vb[j++]);
		const struct thread *t = d->b ? d->b->threads[0] : d->a->threads[0];
		d->go_runtime = out->go && thread_go_runtime(d->b ? b : a, t);
	}
	out->ngroups = n;
	if (n)
		qsort(out->groups, n, sizeof(*out->groups), cmp_diff);
	out->total_before = out->go ? out->before.ngoroutines : out->before.nthreads;
	out->total_after = out->go ? b->ngoroutines : b->nthreads;
	free(va);
	free(vb);
	return 0;

out_nomem:
	free(va);
	free(vb);
	diff_free(out);
	return -ENOMEM;
}

int diff_snapshots(const struct snapshot *a, const struct snapshot *b,
		   struct diff *out)
{
	int rc = diff_begin(a, out);

	return rc < 0 ? rc : diff_end(out, a, b);
}

void diff_free(struct diff *d)
{
	grouping_free(&d->ga);
	grouping_free(&d->gb);
	free(d->akeys);
	free(d->akey_at);
	d->akeys = NULL;
	d->akey_at = NULL;
	free(d->groups);
	d->groups = NULL;
	d->ngroups = 0;
}

const struct thread *diff_example(const struct diff_group *g)
{
	return g->b ? g->b->threads[0] : g->a->threads[0];
}

bool diff_has_function(const struct diff_group *g, const char *fn)
{
	return thread_has_function(diff_example(g), fn);
}

bool diff_top_is(const struct diff_group *g, const char *fn)
{
	return thread_top_is(diff_example(g), fn);
}

void diff_filter(struct diff *d, const struct diff_filter *f)
{
	for (size_t i = 0; i < d->ngroups; i++) {
		struct diff_group *g = &d->groups[i];
		g->ignored = false;
		for (size_t k = 0; k < f->nignore && !g->ignored; k++)
			g->ignored = diff_has_function(g, f->ignore[k]);
		for (size_t k = 0; k < f->nignore_top && !g->ignored; k++)
			g->ignored = diff_top_is(g, f->ignore_top[k]);
	}
}

bool diff_shown(const struct diff_group *g, long min_delta)
{
	long churn = g->delta == 0 ? (long)g->born : 0;

	if (g->ignored || g->go_runtime)
		return false;
	return labs(g->delta) >= min_delta || (churn > 0 && churn >= min_delta);
}

size_t diff_grown(const struct diff *d, long min_delta)
{
	size_t n = 0;

	for (size_t i = 0; i < d->ngroups; i++)
		if (!d->groups[i].ignored && !d->groups[i].go_runtime &&
		    d->groups[i].delta >= min_delta)
			n++;
	return n;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *side_json(const struct snapshot *s, const struct diff_side *n)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(s->pid));
	json_object_set_new(o, "comm", str_or_null(s->comm));
	json_object_set_new(o, "taken_at", json_integer(s->taken_at));
	json_object_set_new(o, "threads", json_integer((json_int_t)(n->nthreads - n->ngoroutines)));
	if (s->runtime)
		json_object_set_new(o, "goroutines", json_integer((json_int_t)n->ngoroutines));
	return o;
}

static json_t *frames_json(const struct thread *t)
{
	json_t *a = json_array();
	char hex[32];

	for (size_t i = 0; i < t->nframes; i++) {
		const struct frame *f = &t->frames[i];
		json_t *o = json_object();
		snprintf(hex, sizeof(hex), "0x%" PRIx64, f->offset);
		json_object_set_new(o, "module", str_or_null(f->module));
		json_object_set_new(o, "function", str_or_null(f->function));
		json_object_set_new(o, "file", str_or_null(f->file));
		json_object_set_new(o, "line", f->line ? json_integer(f->line) : json_null());
		json_object_set_new(o, "offset", json_string(hex));
		json_object_set_new(o, "inlined", json_boolean(f->inlined));
		if (f->python)
			json_object_set_new(o, "python", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static const char *status(const struct diff_group *g)
{
	if (g->before == 0)
		return "appeared";
	if (g->after == 0)
		return "vanished";
	if (g->delta > 0)
		return "grew";
	if (g->delta < 0)
		return "shrank";
	return g->born ? "churn" : "same";
}

int diff_write_json(const struct diff *d, const struct snapshot *a,
		    const struct snapshot *b, long min_delta, FILE *fp)
{
	json_t *doc = json_object(), *groups = json_array();

	json_object_set_new(doc, "format", json_string("threadleak-diff"));
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "before", side_json(a, &d->before));
	json_object_set_new(doc, "after", side_json(b, &d->after));
	json_object_set_new(doc, "grown", json_integer((json_int_t)diff_grown(d, min_delta)));
	for (size_t i = 0; i < d->ngroups; i++) {
		const struct diff_group *g = &d->groups[i];
		if (!diff_shown(g, min_delta))
			continue;
		const struct thread *t = diff_example(g);
		double oldest = g->b ? g->b->max_blocked_sec : -1;
		json_t *o = json_object();
		json_object_set_new(o, "status", json_string(status(g)));
		json_object_set_new(o, "kind", json_string(wait_kind_name(g->kind)));
		json_object_set_new(o, "before", json_integer((json_int_t)g->before));
		json_object_set_new(o, "after", json_integer((json_int_t)g->after));
		json_object_set_new(o, "delta", json_integer(g->delta));
		json_object_set_new(o, "born", json_integer((json_int_t)g->born));
		json_object_set_new(o, "died", json_integer((json_int_t)g->died));
		json_object_set_new(o, "oldest_blocked_sec",
				    oldest >= 0 ? json_real(oldest) : json_null());
		json_object_set_new(o, "signature", json_string(g->signature));
		json_object_set_new(o, "frames", frames_json(t));
		if (t->goid && t->labelled) {
			/* the group's pprof labels (part of its signature) */
			json_t *l = json_object();
			for (size_t k = 0; k < t->nlabels; k++)
				json_object_set_new(l, t->labels[k].key, json_string(t->labels[k].value));
			json_object_set_new(o, "labels", l);
		}
		json_array_append_new(groups, o);
	}
	json_object_set_new(doc, "groups", groups);
	int rc = json_dumpf(doc, fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	fputc('\n', fp);
	return rc < 0 ? -EIO : 0;
}

const char *diff_status(const struct diff_group *g)
{
	return status(g);
}
