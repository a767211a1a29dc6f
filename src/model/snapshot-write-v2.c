/*
 * snapshot-write-v2: version 2's tables and rows.
 *
 * Version 2 (DESIGN.md section 5) writes a snapshot's goroutines as rows
 * that name a template (every field they share: wait, stacks by index,
 * labels...) and add their own (goid, how long they waited, what they
 * wait on): a million parked goroutines in a few stacks take a few dozen
 * bytes each, where version 1 repeated their whole entry (1.3 KB).  The
 * threads of the process are written whole, as in version 1.
 *
 * The tables are made in one pass over the entries: open-addressing sets
 * of indexes, the stacks keyed by their frames' numbers (equal numbers,
 * then equal frames), the templates by their fields.
 */
#include "model/snapshot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/snapshot-write-impl.h"

/* an open-addressing set of indexes (stored + 1), 0: empty */
struct iset {
	uint32_t *slot;
	uint64_t *hash;
	size_t cap, n;
};

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static uint64_t str_mix(uint64_t h, const char *s)
{
	if (!s)
		return mix64(h, 1);
	uint64_t f = 0xcbf29ce484222325ull;
	for (; *s; s++)
		f = (f ^ (unsigned char)*s) * 0x100000001b3ull;
	return mix64(h, f);
}

static int iset_grow(struct iset *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	uint64_t *hash = malloc(cap * sizeof(*hash));

	if (!slot || !hash) {
		free(slot);
		free(hash);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i])
			continue;
		size_t j = t->hash[i] & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = t->slot[i];
		hash[j] = t->hash[i];
	}
	free(t->slot);
	free(t->hash);
	t->slot = slot;
	t->hash = hash;
	t->cap = cap;
	return 0;
}

/* The slot for hash h whose index equal() says is the one, or the empty
 * slot where it goes; NULL when out of memory. */
static uint32_t *iset_find(struct iset *t, uint64_t h,
			   bool (*equal)(const void *ctx, uint32_t idx), const void *ctx)
{
	if ((t->n + 1) * 2 > t->cap && iset_grow(t) < 0)
		return NULL;
	size_t j = h & (t->cap - 1);
	while (t->slot[j]) {
		if (t->hash[j] == h && equal(ctx, t->slot[j] - 1))
			return &t->slot[j];
		j = (j + 1) & (t->cap - 1);
	}
	t->hash[j] = h;
	return &t->slot[j];
}

static void iset_free(struct iset *t)
{
	free(t->slot);
	free(t->hash);
}

struct stack_key {
	const struct v2_tables *v;
	const struct frame *f;
	size_t n;
};

static bool stack_equal(const void *ctx, uint32_t idx)
{
	const struct stack_key *k = ctx;

	return k->v->stack_n[idx] == k->n && sw_same_frames(k->v->stacks[idx], k->f, k->n);
}

/* The index of the stack f[n] in v (added if new); -ENOMEM. */
static int64_t stack_index(struct v2_tables *v, struct iset *set, const struct frame *f, size_t n)
{
	uint64_t h = mix64(0, n);
	struct stack_key k = { v, f, n };

	for (size_t i = 0; i < n; i++)
		h = mix64(mix64(mix64(h, f[i].pc), f[i].offset), (uint64_t)f[i].line << 2 | f[i].inlined | f[i].python << 1);
	uint32_t *slot = iset_find(set, h, stack_equal, &k);
	if (!slot)
		return -ENOMEM;
	if (*slot)
		return *slot - 1;
	if (v->nstacks >= UINT32_MAX - 1)
		return -ENOMEM;
	if ((v->nstacks & (v->nstacks - 1)) == 0 || v->nstacks == 0) {
		size_t cap = v->nstacks ? v->nstacks * 2 : 16;
		const struct frame **s = realloc(v->stacks, cap * sizeof(*s));
		if (s)
			v->stacks = s;
		size_t *sn = s ? realloc(v->stack_n, cap * sizeof(*sn)) : NULL;
		if (!sn)
			return -ENOMEM;
		v->stack_n = sn;
	}
	v->stacks[v->nstacks] = f;
	v->stack_n[v->nstacks] = n;
	set->n++;
	*slot = (uint32_t)++v->nstacks;
	return v->nstacks - 1;
}

struct tpl_key {
	const struct snapshot *snap;
	const struct v2_tables *v;
	const struct thread *t;
	struct template_refs refs;
};

static bool same_labels(const struct thread *a, const struct thread *b)
{
	if (a->labelled != b->labelled || a->nlabels != b->nlabels)
		return false;
	if (a->labels == b->labels)
		return true;
	for (size_t i = 0; i < a->nlabels; i++)
		if (!sw_same_string(a->labels[i].key, b->labels[i].key) ||
		    !sw_same_string(a->labels[i].value, b->labels[i].value))
			return false;
	return true;
}

/* Whether a and b share a template: all but goid, go_minutes and the
 * wait's blocked_sec, fd, object, address and owner (the row's). */
static bool tpl_equal(const void *ctx, uint32_t idx)
{
	const struct tpl_key *k = ctx;
	const struct thread *a = k->t, *b = &k->snap->threads[k->v->tpl_of[idx]];
	const struct template_refs *r = &k->v->refs[idx];

	return r->frames == k->refs.frames && r->created == k->refs.created &&
	       a->tid == b->tid && a->state == b->state && thread_utime(a) == thread_utime(b) &&
	       thread_stime(a) == thread_stime(b) && thread_start_time(a) == thread_start_time(b) &&
	       a->partial == b->partial && a->stopped == b->stopped &&
	       a->wait.kind == b->wait.kind && a->wait.syscall == b->wait.syscall &&
	       a->go_parent == b->go_parent && a->go_tid == b->go_tid &&
	       a->go_system == b->go_system && sw_same_string(thread_name(a), thread_name(b)) &&
	       sw_same_string(a->error, b->error) && sw_same_string(a->go_wait, b->go_wait) &&
	       sw_same_string(thread_py_name(a), thread_py_name(b)) &&
	       sw_same_string(thread_py_wait(a), thread_py_wait(b)) &&
	       (a->wait.syscall < 0 || sw_same_string(a->wait.syscall_name, b->wait.syscall_name)) &&
	       same_labels(a, b);
}

static uint64_t tpl_hash(const struct thread *t, const struct template_refs *r)
{
	uint64_t h = mix64(r->frames, r->created);

	h = mix64(h, (uint64_t)t->tid << 8 | (unsigned char)t->state);
	h = mix64(mix64(mix64(h, thread_utime(t)), thread_stime(t)), thread_start_time(t));
	h = mix64(h, (uint64_t)t->partial | t->stopped << 1 | t->go_system << 2 |
		     (uint64_t)t->wait.kind << 8);
	h = mix64(mix64(mix64(h, (uint64_t)t->wait.syscall), (uint64_t)t->go_parent),
		  (uint64_t)t->go_tid);
	h = str_mix(str_mix(str_mix(h, thread_name(t)), t->error), t->go_wait);
	h = str_mix(str_mix(h, thread_py_name(t)), thread_py_wait(t));
	if (t->wait.syscall >= 0)
		h = str_mix(h, t->wait.syscall_name);
	h = mix64(h, t->nlabels << 1 | t->labelled);
	for (size_t i = 0; i < t->nlabels; i++)
		h = str_mix(str_mix(h, t->labels[i].key), t->labels[i].value);
	return h;
}

void sw_v2_free(struct v2_tables *v)
{
	free(v->stacks);
	free(v->stack_n);
	free(v->tpl_of);
	free(v->refs);
	free(v->os);
	free(v->gi);
	free(v->tpl);
}

/* The tables of snap; 0 or -ENOMEM. */
int sw_v2_make(struct v2_tables *v, const struct snapshot *snap)
{
	struct iset stacks = { 0 }, tpls = { 0 };
	size_t n = snap->nthreads;
	int rc = -ENOMEM;

	memset(v, 0, sizeof(*v));
	v->os = malloc((n ? n : 1) * sizeof(*v->os));
	v->gi = malloc((n ? n : 1) * sizeof(*v->gi));
	v->tpl = malloc((n ? n : 1) * sizeof(*v->tpl));
	if (!v->os || !v->gi || !v->tpl)
		goto out;
	size_t tcap = 0;
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = &snap->threads[i];
		if (!t->goid) {
			v->os[v->nos++] = i;
			continue;
		}
		int64_t fs = stack_index(v, &stacks, t->frames, t->nframes);
		int64_t cs = fs < 0 ? fs : stack_index(v, &stacks, t->created, t->ncreated);
		if (cs < 0)
			goto out;
		struct tpl_key k = { snap, v, t, { (uint32_t)fs, (uint32_t)cs } };
		uint32_t *slot = iset_find(&tpls, tpl_hash(t, &k.refs), tpl_equal, &k);
		if (!slot)
			goto out;
		if (!*slot) {
			if (v->ntpl == tcap) {
				tcap = tcap ? tcap * 2 : 64;
				size_t *of = realloc(v->tpl_of, tcap * sizeof(*of));
				if (of)
					v->tpl_of = of;
				struct template_refs *r = of ? realloc(v->refs, tcap * sizeof(*r)) : NULL;
				if (!r)
					goto out;
				v->refs = r;
			}
			v->tpl_of[v->ntpl] = i;
			v->refs[v->ntpl] = k.refs;
			tpls.n++;
			*slot = (uint32_t)++v->ntpl;
		}
		v->gi[v->ng] = i;
		v->tpl[v->ng++] = *slot - 1;
	}
	rc = 0;
out:
	iset_free(&stacks);
	iset_free(&tpls);
	return rc;
}

void sw_os_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	sw_write_entry(r, &tr->snap->threads[tr->v2->os[i]], NULL);
}

/* [goid, template, go_minutes, blocked_sec, fd, object, address, owner],
 * without the trailing ones that say nothing: blocked_sec null is
 * go_minutes' (times 60), -1 not known. */
/*
 * A goroutine's minutes: a quotient of nanoseconds, which needs 16 or 17
 * digits to read back exactly, and printf spelling a million of them
 * (w_real's shortest search, or %.17g) took a second.  Between 1e-3 and
 * 1e9, its 17 digits come from one long double product (64 bits of
 * mantissa: right to the 17th digit but for a last-digit slip, which
 * still reads back: 17 digits are finer than a double); what does not
 * read back is spelled by w_real.
 */
static void w_minutes(struct writer *w, double v)
{
	static const long double scale[] = {	/* 10^(16 - e), e = -3 .. 8 */
		1e19L, 1e18L, 1e17L, 1e16L, 1e15L, 1e14L, 1e13L, 1e12L, 1e11L, 1e10L,
		1e9L, 1e8L,
	};
	char buf[40];
	int e = -3, n = 0;

	if (!(v >= 1e-3 && v < 1e9)) {
		w_real(w, v);
		return;
	}
	for (double p = 1e-2; v >= p; p *= 10)
		e++;	/* 10^e <= v < 10^(e+1) */
	uint64_t d = (uint64_t)((long double)v * scale[e + 3] + 0.5L);
	char dig[24];
	int nd = snprintf(dig, sizeof(dig), "%" PRIu64, d);	/* 17, or 18 past 9.99.. */
	int point = e + 1 + (nd - 17);	/* digits before the point */
	if (point > 0) {
		memcpy(buf, dig, (size_t)point);
		n = point;
	} else {
		buf[n++] = '0';
	}
	buf[n++] = '.';
	for (int i = point; i < 0; i++)
		buf[n++] = '0';
	int last = nd;
	while (last > (point > 0 ? point : 0) && dig[last - 1] == '0')
		last--;
	for (int i = point > 0 ? point : 0; i < last; i++)
		buf[n++] = dig[i];
	if (buf[n - 1] == '.')
		buf[n++] = '0';
	buf[n] = '\0';
	if (strtod(buf, NULL) != v) {
		w_real(w, v);
		return;
	}
	w_raw(w, buf, (size_t)n);
}

void sw_row_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	const struct thread *t = &tr->snap->threads[tr->v2->gi[i]];
	const struct wait_info *wi = &t->wait;
	double derived = t->go_minutes >= 0 ? t->go_minutes * 60 : -1;
	bool own_blocked = !(wi->blocked_sec == derived || (wi->blocked_sec < 0 && derived < 0));
	int last = wi->fd >= 0 || wi->object || wi->address || wi->owner > 0 ? 7 :
		   own_blocked ? 3 : t->go_minutes >= 0 ? 2 : 1;

	w_raw(r, "[", 1);
	w_int(r, t->goid);
	w_raw(r, ",", 1);
	w_int(r, tr->v2->tpl[i]);
	if (last >= 2) {
		w_raw(r, ",", 1);
		w_minutes(r, t->go_minutes);
	}
	if (last >= 3) {
		w_raw(r, ",", 1);
		if (!own_blocked)
			w_null(r);
		else if (wi->blocked_sec < 0)
			w_raw(r, "-1", 2);
		else
			w_real(r, wi->blocked_sec);
	}
	if (last == 7) {
		w_raw(r, ",", 1);
		if (wi->fd >= 0)
			w_int(r, wi->fd);
		else
			w_null(r);
		w_raw(r, ",", 1);
		w_string(r, wi->object);
		w_raw(r, ",", 1);
		if (wi->address)
			w_hex(r, wi->address);
		else
			w_null(r);
		w_raw(r, ",", 1);
		if (wi->owner > 0)
			w_int(r, wi->owner);
		else
			w_null(r);
	}
	w_raw(r, "]", 1);
	r->empty = false;
}

void sw_write_v2_tables(struct writer *w, const struct snapshot *snap,
			    const struct v2_tables *v)
{
	w_key(w, "stacks");
	w_open(w, '[');
	for (size_t i = 0; i < v->nstacks && !w->err; i++) {
		w_next(w);
		sw_write_frames(w, v->stacks[i], v->stack_n[i]);
		if (w->len > WRITE_BACK_BYTES)
			w_flush(w);
	}
	w_close(w, ']');
	w_key(w, "templates");
	w_open(w, '[');
	for (size_t i = 0; i < v->ntpl && !w->err; i++) {
		struct thread t = snap->threads[v->tpl_of[i]];
		/* the row's fields left out */
		t.wait.fd = -1;
		t.wait.object = NULL;
		t.wait.address = 0;
		t.wait.owner = 0;
		w_next(w);
		sw_write_entry(w, &t, &v->refs[i]);
		if (w->len > WRITE_BACK_BYTES)
			w_flush(w);
	}
	w_close(w, ']');
}
