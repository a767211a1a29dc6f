/*
 * watch: groups followed over samples; see watch.h for what is kept.
 *
 * Matching: before each update the watch's groups are sorted by identity
 * (kind, signature) so that each group of the new sample is found by
 * binary search; new ones are appended.  Every group's history ends at the
 * latest sample, so a group's i-th count from the end was taken at the
 * time of the i-th sample from the end (times[]).  A thread's CPU share
 * comes from its CPU time (schedstat) against the previous sample's,
 * matched by (tid, start_time), over the time between the two reads; a
 * thread born during the interval counts whole.
 */
#include "views/watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

struct watch_thread_cpu {
	int tid;
	uint64_t start_time;
	uint64_t ticks;
	uint64_t cpu_ns;
	double cpu_at;
};

struct watch *watch_new(void)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w)
		w->sort = WATCH_SORT_GROWTH;
	return w;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ngroups; i++)
		free(w->groups[i].signature);
	free(w->groups);
	free(w->ticks);
	grouping_free(&w->grouping);
	free(w);
}

static int cmp_identity(const void *a, const void *b)
{
	const struct watch_group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->signature, y->signature);
}

static void push(size_t *ring, size_t *n, size_t value)
{
	if (*n == WATCH_HISTORY) {
		memmove(ring, ring + 1, (WATCH_HISTORY - 1) * sizeof(*ring));
		(*n)--;
	}
	ring[(*n)++] = value;
}

static void format_where(const struct snapshot *snap, const struct group *g,
			 char *buf, size_t size)
{
	const struct frame *f = thread_own_frame(snap, g->threads[0]);

	if (!f)
		snprintf(buf, size, "?");
	else if (f->function && f->file)
		snprintf(buf, size, "%s (%s:%d)", f->function, path_base(f->file),
			 f->line);
	else
		frame_label(f, buf, size);
}

/*
 * The share of a CPU each thread of snap used since the last sample, by
 * index: its CPU time (schedstat, ns) over the time between the two reads
 * of it; where that is unknown, utime+stime ticks over the interval.
 */
static double *thread_shares(struct watch *w, const struct snapshot *snap)
{
	size_t n = snap->nthreads ? snap->nthreads : 1, j = 0;
	double *share = calloc(n, sizeof(*share));
	struct watch_thread_cpu *now = calloc(n, sizeof(*now));
	double tck = (double)sysconf(_SC_CLK_TCK);

	if (!share || !now) {
		free(share);
		free(now);
		return NULL;
	}
	/* Both arrays are in tid order: one merge. */
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct thread *t = &snap->threads[i];
		uint64_t ticks = thread_utime(t) + thread_stime(t);

		now[i] = (struct watch_thread_cpu){ t->tid, thread_start_time(t), ticks,
						    thread_cpu_ns(t), thread_cpu_at(t) };
		while (j < w->nticks && w->ticks[j].tid < t->tid)
			j++;
		const struct watch_thread_cpu *p = j < w->nticks &&
			w->ticks[j].tid == t->tid &&
			w->ticks[j].start_time == thread_start_time(t) ? &w->ticks[j] : NULL;
		if (!w->samples || w->interval <= 0)
			continue;
		/* Known unchanged until then (watch_again): it ran since. */
		double from = p ? p->cpu_at : 0;
		if (from > 0 && w->unchanged_at > from)
			from = w->unchanged_at;
		if (p && thread_cpu_at(t) == p->cpu_at)
			share[i] = 0;	/* not read again: it did not run */
		else if (p && thread_cpu_at(t) > from && from > 0)
			share[i] = ((double)thread_cpu_ns(t) - (double)p->cpu_ns) / 1e9 /
				   (thread_cpu_at(t) - from);
		else if (p)
			share[i] = (double)(ticks - p->ticks) / tck / w->interval;
		else	/* born since the last sample */
			share[i] = (thread_cpu_ns(t) ? (double)thread_cpu_ns(t) / 1e9 :
				    (double)ticks / tck) / w->interval;
		if (share[i] < 0)
			share[i] = 0;
	}
	free(w->ticks);
	w->ticks = now;
	w->nticks = snap->nthreads;
	return share;
}

/* Counts gained per second over the last WATCH_RATE_WINDOW intervals. */
static double growth_rate(const struct watch *w, const struct watch_group *g)
{
	size_t k = g->nhistory - 1;

	if (k > WATCH_RATE_WINDOW)
		k = WATCH_RATE_WINDOW;
	if (k == 0)
		return 0;
	double dt = w->times[w->ntrend - 1] - w->times[w->ntrend - 1 - k];
	double dn = (double)g->history[g->nhistory - 1] -
		    (double)g->history[g->nhistory - 1 - k];
	return dt > 0 ? dn / dt : 0;
}

/* Grew at least twice and never shrank over the window: the last
 * WATCH_GROWTH_WINDOW intervals, or the last WATCH_GROWTH_SECONDS if that
 * is longer (a slow leak under light load grows every few seconds). */
static bool keeps_growing(const struct watch *w, const struct watch_group *g)
{
	size_t k = 0, ups = 0;
	double latest = w->times[w->ntrend - 1];

	while (k + 1 < g->nhistory &&
	       (k < WATCH_GROWTH_WINDOW ||
		latest - w->times[w->ntrend - 1 - k] < WATCH_GROWTH_SECONDS))
		k++;
	for (size_t i = g->nhistory - k; i < g->nhistory; i++) {
		if (g->history[i] < g->history[i - 1])
			return false;
		ups += g->history[i] > g->history[i - 1];
	}
	return ups >= 2;
}

static void update_group(struct watch *w, struct watch_group *wg,
			 const struct group *g, const struct snapshot *snap,
			 const double *share)
{
	double cpu = 0;

	wg->group = g;
	wg->count = g ? g->count : 0;
	wg->max_blocked_sec = g ? g->max_blocked_sec : -1;
	wg->max_blocked_partial = g && g->max_blocked_partial;
	wg->empty_for = g ? 0 : wg->empty_for + 1;
	if (g) {
		format_where(snap, g, wg->where, sizeof(wg->where));
		const struct thread *t0 = g->threads[0];
		wg->go = t0->goid != 0;
		wg->go_system = t0->go_system;
		/* a goroutine's wait in the runtime's words, a Python
		 * thread's in Python's */
		snprintf(wg->label, sizeof(wg->label), "%s",
			 wg->go && t0->go_wait ? t0->go_wait :
			 thread_py_wait(t0) ? thread_py_wait(t0) : wait_kind_name(g->kind));
		for (size_t i = 0; share && i < g->count; i++)
			cpu += share[g->threads[i] - snap->threads];
	}
	push(wg->history, &wg->nhistory, wg->count);
	wg->change = (long)wg->count - (long)wg->first_count;
	wg->rate = growth_rate(w, wg);
	wg->prev_cpu = wg->cpu;
	wg->cpu = cpu;
	wg->suspect = 0;
	if (keeps_growing(w, wg))
		wg->suspect |= WATCH_GROWING;
	if (w->samples >= 2 && wg->cpu >= WATCH_SPIN_CPU &&
	    wg->prev_cpu >= WATCH_SPIN_CPU)
		wg->suspect |= WATCH_SPINNING;
}

static int add_group(struct watch *w, const struct group *g)
{
	if (grow_array(&w->groups, &w->cap, w->ngroups + 1, sizeof(*w->groups)))
		return -ENOMEM;
	struct watch_group *wg = &w->groups[w->ngroups];
	memset(wg, 0, sizeof(*wg));
	wg->signature = strdup(g->signature);
	if (!wg->signature)
		return -ENOMEM;
	wg->kind = g->kind;
	wg->first_sample = w->samples;
	/* It had no members in the samples before: its growth counts them
	 * as zeros (the history is already zeroed). */
	wg->nhistory = w->ntrend ? w->ntrend - 1 : 0;
	/* A group there from the start is measured from its first count;
	 * one that appeared later, from zero. */
	wg->first_count = w->samples ? 0 : g->count;
	w->ngroups++;
	return 0;
}

/* Drops groups that have stayed empty for the whole history. */
static void drop_stale(struct watch *w)
{
	size_t kept = 0;

	for (size_t i = 0; i < w->ngroups; i++) {
		if (w->groups[i].count == 0 && w->groups[i].empty_for >= WATCH_HISTORY)
			free(w->groups[i].signature);
		else
			w->groups[kept++] = w->groups[i];
	}
	w->ngroups = kept;
}

/* w->go_waits from the grouping: groups of goroutines add up by their
 * wait reason (a group's members share it: it is in the signature). */
static void count_go_waits(struct watch *w, const struct grouping *gr)
{
	struct { const char *reason; size_t n; } c[32];
	size_t nc = 0, len = 0;

	for (size_t i = 0; i < gr->ngroups; i++) {
		const struct thread *t0 = gr->groups[i].threads[0];
		const char *r = t0->goid && t0->go_wait ? t0->go_wait : NULL;
		size_t j;
		if (!r)
			continue;
		for (j = 0; j < nc && strcmp(c[j].reason, r) != 0; j++)
			;
		if (j == nc) {
			if (nc == sizeof(c) / sizeof(c[0]))
				continue;	/* a few dozen reasons exist */
			c[nc].reason = r;
			c[nc++].n = 0;
		}
		c[j].n += gr->groups[i].count;
	}
	w->go_waits[0] = '\0';
	while (nc && len < sizeof(w->go_waits)) {
		size_t best = 0;
		for (size_t j = 1; j < nc; j++)
			if (c[j].n > c[best].n)
				best = j;
		len += (size_t)snprintf(w->go_waits + len, sizeof(w->go_waits) - len, "%s%zu %s",
					len ? ", " : "", c[best].n, c[best].reason);
		c[best] = c[--nc];
	}
}

/* A sample of snap, whose grouping is w->grouping; share: each thread's
 * CPU share (owned), NULL when none ran; same: snap is the last sample's
 * snapshot, its threads unchanged. */
static int add_sample(struct watch *w, const struct snapshot *snap, double now,
		      double *share, bool same)
{
	const struct grouping gr = w->grouping;
	size_t old;
	int rc = 0;

	w->snap = snap;
	w->now = now;
	if (!w->samples)
		w->started = now;

	w->goroutines = snap->ngoroutines;
	w->threads = snap->nthreads - snap->ngoroutines;
	if (!w->samples) {
		w->first_threads = w->threads;
		w->first_goroutines = w->goroutines;
	}
	if (w->ntrend == WATCH_HISTORY)
		memmove(w->times, w->times + 1, (WATCH_HISTORY - 1) * sizeof(*w->times));
	w->times[w->ntrend == WATCH_HISTORY ? WATCH_HISTORY - 1 : w->ntrend] = now;
	push(w->trend, &w->ntrend, snap->runtime ? w->goroutines : w->threads);
	if (!same) {
		memset(w->kinds, 0, sizeof(w->kinds));
		for (size_t i = 0; i < snap->nthreads; i++)
			if (!snap->threads[i].goid)
				w->kinds[snap->threads[i].wait.kind]++;
		count_go_waits(w, &gr);
	}

	/* Match this sample's groups to the known ones. */
	if (w->ngroups)
		qsort(w->groups, w->ngroups, sizeof(*w->groups), cmp_identity);
	old = w->ngroups;
	bool *seen = calloc(old ? old : 1, sizeof(*seen));
	if (!seen) {
		free(share);
		return -ENOMEM;
	}
	for (size_t i = 0; i < gr.ngroups; i++) {
		const struct group *g = &gr.groups[i];
		struct watch_group key = { .kind = g->kind, .signature = g->signature };
		struct watch_group *wg = old ? bsearch(&key, w->groups, old,
						       sizeof(*w->groups), cmp_identity) : NULL;
		if (!wg) {
			rc = add_group(w, g);
			if (rc < 0)
				break;
			wg = &w->groups[w->ngroups - 1];
		} else {
			seen[wg - w->groups] = true;
		}
		update_group(w, wg, g, snap, share);
	}
	for (size_t i = 0; i < old && rc == 0; i++)
		if (!seen[i])
			update_group(w, &w->groups[i], NULL, snap, NULL);
	free(seen);

	w->cpu = 0;
	for (size_t i = 0; share && i < snap->nthreads; i++)
		w->cpu += share[i];
	free(share);
	if (rc < 0)
		return rc;

	drop_stale(w);
	w->samples++;
	w->suspects = 0;
	for (size_t i = 0; i < w->ngroups; i++)
		w->suspects += w->groups[i].suspect != 0;
	watch_sort(w, w->sort);
	return 0;
}

int watch_update(struct watch *w, const struct snapshot *snap, double now)
{
	struct grouping gr;
	int rc = group_snapshot(snap, &gr);

	if (rc < 0)
		return rc;
	grouping_free(&w->grouping);
	w->grouping = gr;
	w->interval = w->samples ? now - w->now : 0;
	double *share = thread_shares(w, snap);
	if (!share)
		return -ENOMEM;
	w->unchanged_at = 0;
	return add_sample(w, snap, now, share, false);
}

int watch_again(struct watch *w, double now)
{
	if (!w->samples)
		return -EINVAL;
	grouping_update_waits(&w->grouping);
	w->interval = now - w->now;
	/* Every thread's CPU time was as in w->ticks at now. */
	w->unchanged_at = now;
	return add_sample(w, w->snap, now, NULL, true);
}

void watch_waits_read(struct watch *w)
{
	grouping_update_waits(&w->grouping);
	for (size_t i = 0; i < w->ngroups; i++) {
		struct watch_group *wg = &w->groups[i];
		if (wg->group) {
			wg->max_blocked_sec = wg->group->max_blocked_sec;
			wg->max_blocked_partial = wg->group->max_blocked_partial;
		}
	}
}

static int cmp_num(double a, double b)
{
	return (a < b) - (a > b);	/* descending */
}

static int cmp_count(const void *a, const void *b)
{
	const struct watch_group *x = a, *y = b;
	int c = cmp_num((double)x->count, (double)y->count);

	return c ? c : (c = cmp_num((double)x->change, (double)y->change)) ? c :
	       cmp_identity(a, b);
}

static int cmp_growth(const void *a, const void *b)
{
	const struct watch_group *x = a, *y = b;
	int c = cmp_num((double)x->change, (double)y->change);

	if (!c)
		c = cmp_num(x->rate, y->rate);
	return c ? c : cmp_count(a, b);
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct watch_group *x = a, *y = b;
	int c = cmp_num(x->cpu, y->cpu);

	return c ? c : cmp_count(a, b);
}

void watch_sort(struct watch *w, enum watch_sort key)
{
	static int (*const cmp[])(const void *, const void *) = {
		[WATCH_SORT_COUNT] = cmp_count,
		[WATCH_SORT_GROWTH] = cmp_growth,
		[WATCH_SORT_CPU] = cmp_cpu,
	};

	w->sort = key;
	if (w->ngroups)
		qsort(w->groups, w->ngroups, sizeof(*w->groups), cmp[key]);
}

const char *watch_sort_name(enum watch_sort key)
{
	switch (key) {
	case WATCH_SORT_COUNT:
		return "count";
	case WATCH_SORT_GROWTH:
		return "growth";
	case WATCH_SORT_CPU:
		return "cpu";
	}
	return "?";
}
