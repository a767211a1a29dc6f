/*
 * snapshot-read-entries: a snapshot's JSON values into the model, for
 * the document reader (snapshot-read.c), which hands them over one at a
 * time as jval.h trees.  Every known field is checked for type and range,
 * with a message naming it ("threads[3].frames[0].pc: expected a hex
 * string"); an absent optional field means "unknown", null is accepted
 * exactly where the writer may write it, unknown fields are ignored.
 * Version 1's entries are whole threads (read_thread()).  Version 2's
 * tables come as a stream too: a stack into the pool, a template into a
 * small array, a goroutine row made an entry from its template at once,
 * or kept (48 bytes) until the end when its template is not read yet
 * (members in another order).
 */
#include "model/snapshot-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* u64 counters and i64 times travel as JSON integers */
_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "json_int_t is 64-bit");

/* ---- reading ---------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
int failf(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->err || !r->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	/* One line, whatever the input put into the message. */
	for (char *p = r->err; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	return -1;
}

int fail(struct reader *r, const char *key, const char *what)
{
	return failf(r, "%s%s: %s", r->where, key, what);
}

int get_string(struct reader *r, const struct jv *obj, const char *key,
		      char **out)
{
	const struct jv *v = jv_get(obj, key);

	*out = NULL;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_string(v))
		return fail(r, key, "expected a string or null");
	if (r->pool)
		*out = strpool_add(r->pool, v->s,
				   v->n);
	else
		*out = strdup(v->s);
	if (!*out)
		return failf(r, "out of memory");
	return 0;
}

static int type_error(struct reader *r, const char *key, const char *what,
		      enum presence pres)
{
	return failf(r, "%s%s: expected %s%s", r->where, key, what,
		     pres == NULLABLE ? " or null" : "");
}

/* The value of key in obj to check: 1 and *v; 0 when it is absent or a
 * null that pres allows (the default stands); -1 when a required one is
 * missing. */
static int present(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, const struct jv **v)
{
	*v = jv_get(obj, key);
	if (!*v && pres != REQUIRED)
		return 0;
	if (!*v)
		return fail(r, key, "missing");
	if (jv_is_null(*v) && pres == NULLABLE)
		return 0;
	return 1;
}

/* An integer in [min, max]; def when absent (or null if NULLABLE). */
int get_int(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, json_int_t min, json_int_t max,
		   json_int_t def, json_int_t *out)
{
	const struct jv *v;
	const char *what = min == 1 ? "a positive integer" :
			   min == 0 ? "a non-negative integer" : "an integer";

	*out = def;
	int p = present(r, obj, key, pres, &v);
	if (p <= 0)
		return p;
	if (!jv_is_integer(v) || v->i < min ||
	    v->i > max)
		return type_error(r, key, what, pres);
	*out = v->i;
	return 0;
}

static int get_u64(struct reader *r, const struct jv *obj, const char *key,
		   uint64_t *out)
{
	json_int_t v;

	if (get_int(r, obj, key, OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int get_bool(struct reader *r, const struct jv *obj, const char *key, bool *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (!jv_is_bool(v))
		return fail(r, key, "expected true or false");
	*out = jv_is(v, JV_TRUE);
	return 0;
}

/* A non-negative number; def when absent or null. */
int get_number(struct reader *r, const struct jv *obj, const char *key,
		      double def, double *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = def;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_number(v) || !(jv_number(v) >= 0) ||
	    !isfinite(jv_number(v)))
		return fail(r, key, "expected a non-negative number or null");
	*out = jv_number(v);
	return 0;
}

/* "0x" then hex digits, the whole string, within 64 bits. */
static int parse_hex(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	s += 2;
	/* strtoull would accept spaces, a sign or a second "0x": refuse */
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return -1;
	if (!*s)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int get_hex(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, uint64_t *out)
{
	const struct jv *v;

	*out = 0;
	int p = present(r, obj, key, pres, &v);
	if (p <= 0)
		return p;
	if (!jv_is_string(v) || parse_hex(v->s, out))
		return type_error(r, key, "a hex string", pres);
	return 0;
}

static int read_wait(struct reader *r, const struct jv *o, struct wait_info *w)
{
	const struct jv *kind = jv_get(o, "kind");
	json_int_t v;

	if (kind && !jv_is_null(kind)) {
		if (!jv_is_string(kind))
			return fail(r, "kind", "expected a string or null");
		/* A kind from a newer writer reads as "unknown". */
		w->kind = wait_kind_from_name(kind->s);
	}
	if (get_string(r, o, "syscall", &w->syscall_name))
		return -1;
	if (get_int(r, o, "syscall_nr", NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->syscall = (int)v;
	if (get_int(r, o, "fd", NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->fd = (int)v;
	if (get_string(r, o, "object", &w->object))
		return -1;
	if (get_hex(r, o, "address", NULLABLE, &w->address))
		return -1;
	if (get_int(r, o, "owner", NULLABLE, 1, INT_MAX, 0, &v))
		return -1;
	w->owner = (int)v;
	return get_number(r, o, "blocked_sec", -1, &w->blocked_sec);
}

static int read_frame(struct reader *r, const struct jv *o, struct frame *f)
{
	json_int_t v;

	if (get_hex(r, o, "pc", REQUIRED, &f->pc) ||
	    get_string(r, o, "module", &f->module) ||
	    get_string(r, o, "function", &f->function) ||
	    get_string(r, o, "file", &f->file))
		return -1;
	if (get_int(r, o, "line", NULLABLE, 0, INT_MAX, 0, &v))
		return -1;
	f->line = (int)v;
	if (get_hex(r, o, "offset", NULLABLE, &f->offset))
		return -1;
	return get_bool(r, o, "inlined", &f->inlined);
}

static int read_frames(struct reader *r, const struct jv *frames, const char *key, size_t ti,
		       struct thread *t, bool created);

static int cmp_label_key(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* A goroutine's "labels": an object of strings, at most LABELS_MAX of
 * them, each at most LABEL_LEN_MAX bytes; into the pool, sorted. */
static int read_labels(struct reader *r, const struct jv *o, struct thread *t)
{
	const struct jv *v = jv_get(o, "labels");
	struct label tmp[LABELS_MAX];
	size_t n;

	if (!v)
		return 0;
	if (!jv_is_object(v))
		return fail(r, "labels", "expected an object");
	if (v->n > LABELS_MAX)
		return failf(r, "%slabels: more than %d labels", r->where, LABELS_MAX);
	for (n = 0; n < v->n; n++) {
		const struct jv *key = &v->items[2 * n], *val = &v->items[2 * n + 1];
		if (!jv_is_string(val))
			return failf(r, "%slabels.%s: expected a string", r->where,
				     key->n > 40 ? "(a key)" : key->s);
		if (key->n > LABEL_LEN_MAX || val->n > LABEL_LEN_MAX)
			return failf(r, "%slabels: a key or value longer than %d bytes", r->where,
				     LABEL_LEN_MAX);
		/* the arena's, valid while this thread is read */
		tmp[n] = (struct label){ (char *)key->s, (char *)val->s };
	}
	qsort(tmp, n, sizeof(*tmp), cmp_label_key);
	for (size_t i = 0; i < n; i++)
		if (!r->pool || !(tmp[i].key = strpool_add(r->pool, tmp[i].key, strlen(tmp[i].key))) ||
		    !(tmp[i].value = strpool_add(r->pool, tmp[i].value, strlen(tmp[i].value))))
			return failf(r, "out of memory");
	if (n && !(t->labels = pool_label_array(r->pool, tmp, n)))
		return failf(r, "out of memory");
	t->nlabels = n;
	t->labelled = true;
	return 0;
}

/* A goroutine's own fields (snapshot.h). */
static int read_goroutine(struct reader *r, const struct jv *o, size_t ti, struct thread *t)
{
	json_int_t v;
	const struct jv *created;

	if (get_string(r, o, "go_wait", &t->go_wait) ||
	    get_int(r, o, "go_parent", OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	t->go_parent = v;
	if (get_int(r, o, "go_tid", OPTIONAL, 0, INT_MAX, 0, &v))
		return -1;
	t->go_tid = (int)v;
	const struct jv *m = r->tpl ? NULL : jv_get(o, "go_minutes");
	t->go_minutes = -1;
	if (m && !jv_is_null(m) &&
	    (get_number(r, o, "go_minutes", -1, &t->go_minutes) || t->go_minutes < 0))
		return fail(r, "go_minutes", "expected a number of minutes, 0 or more");
	if (get_bool(r, o, "go_system", &t->go_system) || read_labels(r, o, t))
		return -1;
	created = jv_get(o, "created");
	return created ? read_frames(r, created, "created", ti, t, true) : 0;
}

int read_thread(struct reader *r, const struct jv *o, size_t ti,
		       struct thread *t)
{
	const struct jv *v, *frames;
	json_int_t tid;

	json_int_t goid = 1;
	snprintf(r->where, sizeof(r->where), "%s[%zu].", r->array, ti);
	/* A goroutine has a goid, and no tid of its own (0); a template's
	 * goroutines have theirs in their rows. */
	if (!r->tpl && get_int(r, o, "goid", OPTIONAL, 0, INT64_MAX, 0, &goid))
		return -1;
	t->goid = goid;
	if (get_int(r, o, "tid", REQUIRED, goid ? 0 : 1, INT_MAX, 0, &tid))
		return -1;
	t->tid = (int)tid;
	if (goid && read_goroutine(r, o, ti, t))
		return -1;
	char *name;
	if (get_string(r, o, "name", &name))
		return -1;
	if (name) {
		if (!thread_os(t)) {
			if (!r->pool)
				free(name);
			return failf(r, "out of memory");
		}
		t->os->name = name;
	}
	v = jv_get(o, "state");
	if (v && !jv_is_null(v)) {
		if (!jv_is_string(v) || v->n != 1)
			return fail(r, "state",
				    "expected a one-character string");
		t->state = v->s[0];
	}
	/* a goroutine's are 0: no os part for them */
	uint64_t utime = 0, stime = 0, start_time = 0;
	if (get_u64(r, o, "utime", &utime) ||
	    get_u64(r, o, "stime", &stime) ||
	    get_u64(r, o, "start_time", &start_time) ||
	    get_bool(r, o, "partial", &t->partial) ||
	    get_string(r, o, "error", &t->error) ||
	    get_bool(r, o, "stopped", &t->stopped))
		return -1;
	if (utime || stime || start_time) {
		if (!thread_os(t))
			return failf(r, "out of memory");
		t->os->utime = utime;
		t->os->stime = stime;
		t->os->start_time = start_time;
	}

	v = jv_get(o, "wait");
	if (v && !jv_is_null(v)) {
		if (!jv_is_object(v))
			return fail(r, "wait", "expected an object or null");
		snprintf(r->where, sizeof(r->where), "%s[%zu].wait.", r->array, ti);
		if (read_wait(r, v, &t->wait))
			return -1;
		snprintf(r->where, sizeof(r->where), "%s[%zu].", r->array, ti);
	}

	frames = jv_get(o, "frames");
	if (!frames)
		return 0;
	return read_frames(r, frames, "frames", ti, t, false);
}

/* frames (or a goroutine's created frames) of thread ti; a template's
 * are the index of a stack */
static int read_frames(struct reader *r, const struct jv *frames, const char *key, size_t ti,
		       struct thread *t, bool created)
{
	const struct jv *v;
	size_t fi;

	if (r->tpl) {
		if (!jv_is_integer(frames) || frames->i < 0 || frames->i >= UINT32_MAX)
			return fail(r, key, "expected the index of a stack");
		*(created ? &r->created_ref : &r->frames_ref) = frames->i;
		return 0;
	}
	if (!jv_is_array(frames))
		return fail(r, key, "expected an array");
	for (fi = 0; fi < frames->n; fi++) {
		v = &frames->items[fi];
		struct frame *f;

		if (!jv_is_object(v))
			return failf(r, "%s[%zu].%s[%zu]: expected "
				     "an object", r->array, ti, key, fi);
		if (created) {
			if (t->ncreated >= 4096)
				return failf(r, "%s[%zu].%s: too many frames", r->array, ti, key);
			f = realloc(t->created, (t->ncreated + 1) * sizeof(*f));
			if (!f)
				return failf(r, "out of memory");
			t->created = f;
			f = &t->created[t->ncreated++];
			memset(f, 0, sizeof(*f));
		} else {
			f = thread_add_frame(t);
		}
		if (!f)
			return failf(r, "out of memory");
		snprintf(r->where, sizeof(r->where), "%s[%zu].%s[%zu].",
			 r->array, ti, key, fi);
		if (read_frame(r, v, f))
			return -1;
	}
	return 0;
}

/* ---- reading: version 2's tables -------------------------------------- */


/* Fails the conversion (reported at the end, as a thread's). */
static int v2_failed(struct parser *ps)
{
	ps->thread_failed = true;
	return 0;
}

/* "stacks": each an array of frames, into the pool. */
int stack_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct thread t = { 0 };

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v)) {
		failf(r, "stacks[%zu]: expected an array of frames", i);
		return v2_failed(ps);
	}
	if (v->n > 4096) {
		failf(r, "stacks[%zu]: too many frames", i);
		return v2_failed(ps);
	}
	if (grow_implied((void **)&v2->stacks, v2->nstacks, sizeof(*v2->stacks)) ||
	    grow_implied((void **)&v2->stack_n, v2->nstacks, sizeof(*v2->stack_n)))
		return out_of_memory(ps);
	for (size_t fi = 0; fi < v->n; fi++) {
		struct frame *f = thread_add_frame(&t);
		if (!f) {
			free(t.frames);
			return out_of_memory(ps);
		}
		snprintf(r->where, sizeof(r->where), "stacks[%zu][%zu].", i, fi);
		if (!jv_is_object(&v->items[fi])) {
			free(t.frames);
			failf(r, "stacks[%zu][%zu]: expected an object", i, fi);
			return v2_failed(ps);
		}
		if (read_frame(r, &v->items[fi], f)) {
			free(t.frames);
			return v2_failed(ps);
		}
	}
	if (pool_thread_frames(ps->snap->pool, &t) < 0) {
		free(t.frames);
		return out_of_memory(ps);
	}
	v2->stacks[v2->nstacks] = t.frames;
	v2->stack_n[v2->nstacks++] = t.nframes;
	return 0;
}

/* Template k's stacks from their indexes; 0 or -1 with the message. */
static int resolve_template(struct parser *ps, size_t k)
{
	struct v2_read *v2 = &ps->v2;
	struct thread *t = &v2->tpl[k];

	for (int j = 0; j < 2; j++) {
		int64_t ref = v2->tpl_refs[k][j];
		if (ref < 0)
			continue;
		if ((size_t)ref >= v2->nstacks)
			return failf(&ps->r, "templates[%zu].%s: stack %lld, of %zu", k,
				     j ? "created" : "frames", (long long)ref, v2->nstacks);
		*(j ? &t->created : &t->frames) = v2->stacks[ref];
		*(j ? &t->ncreated : &t->nframes) = v2->stack_n[ref];
	}
	return 0;
}

/* "templates": goroutine entries without their own fields. */
int template_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_object(v)) {
		failf(r, "templates[%zu]: expected an object", i);
		return v2_failed(ps);
	}
	if (v2->ntpl >= SNAPSHOT_MAX_ENTRIES) {
		failf(r, "templates: more than %zu", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (grow_implied((void **)&v2->tpl, v2->ntpl, sizeof(*v2->tpl)) ||
	    grow_implied((void **)&v2->tpl_refs, v2->ntpl, sizeof(*v2->tpl_refs)))
		return out_of_memory(ps);
	struct thread *t = &v2->tpl[v2->ntpl];
	memset(t, 0, sizeof(*t));
	wait_info_init(&t->wait);
	t->pooled = t->frames_pooled = true;
	r->array = "templates";
	r->tpl = true;
	r->frames_ref = r->created_ref = -1;
	int rc = read_thread(r, v, i, t);
	/* A goroutine has no OS thread's part (name, CPU times): a
	 * template's is dropped, never shared by its rows (each would free
	 * it).  Its name is the pool's. */
	free(t->os);
	t->os = NULL;
	r->array = "threads";
	r->tpl = false;
	v2->tpl_refs[v2->ntpl][0] = r->frames_ref;
	v2->tpl_refs[v2->ntpl][1] = r->created_ref;
	v2->ntpl++;
	if (rc)
		return v2_failed(ps);
	return v2->stacks_seen && resolve_template(ps, i) ? v2_failed(ps) : 0;
}

/* Goroutine row ->  an entry, from its template. */
static int add_row(struct parser *ps, const struct row *w, size_t i)
{
	struct v2_read *v2 = &ps->v2;

	if (w->tpl >= v2->ntpl) {
		failf(&ps->r, "goroutines[%zu]: template %u, of %zu", i, w->tpl, v2->ntpl);
		return v2_failed(ps);
	}
	if (ps->snap->nthreads >= SNAPSHOT_MAX_ENTRIES) {
		failf(&ps->r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	struct thread *t = snapshot_add_thread(ps->snap);
	if (!t)
		return out_of_memory(ps);
	*t = v2->tpl[w->tpl];
	t->goid = w->goid;
	t->go_minutes = w->minutes;
	t->wait.blocked_sec = w->blocked;
	t->wait.fd = w->fd;
	t->wait.object = w->object;
	t->wait.address = w->address;
	t->wait.owner = w->owner;
	ps->snap->ngoroutines++;
	return 0;
}

/* An element of a row: null, or what ok() says of it. */
static bool row_elem(const struct jv *v, size_t k, const struct jv **e)
{
	*e = k < v->n && !jv_is_null(&v->items[k]) ? &v->items[k] : NULL;
	return *e != NULL;
}

/* "goroutines": [goid, template, go_minutes, blocked_sec, fd, object,
 * address, owner], the trailing ones optional. */
int row_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct row w = { .minutes = -1, .blocked = -1, .fd = -1 };
	const struct jv *e;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v) || v->n < 2 || v->n > 8) {
		failf(r, "goroutines[%zu]: expected [goid, template, ...]", i);
		return v2_failed(ps);
	}
	e = &v->items[0];
	if (!jv_is_integer(e) || e->i < 1) {
		failf(r, "goroutines[%zu][0]: expected a goroutine id", i);
		return v2_failed(ps);
	}
	w.goid = e->i;
	e = &v->items[1];
	if (!jv_is_integer(e) || e->i < 0 || e->i >= UINT32_MAX) {
		failf(r, "goroutines[%zu][1]: expected the index of a template", i);
		return v2_failed(ps);
	}
	w.tpl = (uint32_t)e->i;
	if (row_elem(v, 2, &e)) {
		if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			failf(r, "goroutines[%zu][2]: expected minutes, 0 or more, or null", i);
			return v2_failed(ps);
		}
		w.minutes = jv_number(e);
	}
	w.blocked = w.minutes >= 0 ? w.minutes * 60 : -1;
	if (row_elem(v, 3, &e)) {
		if (jv_is_integer(e) && e->i == -1) {
			w.blocked = -1;
		} else if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			failf(r, "goroutines[%zu][3]: expected seconds, 0 or more, -1 or null", i);
			return v2_failed(ps);
		} else {
			w.blocked = jv_number(e);
		}
	}
	if (row_elem(v, 4, &e)) {
		if (!jv_is_integer(e) || e->i < 0 || e->i > INT_MAX) {
			failf(r, "goroutines[%zu][4]: expected a file descriptor or null", i);
			return v2_failed(ps);
		}
		w.fd = (int)e->i;
	}
	if (row_elem(v, 5, &e)) {
		if (!jv_is_string(e)) {
			failf(r, "goroutines[%zu][5]: expected a string or null", i);
			return v2_failed(ps);
		}
		if (!(w.object = strpool_add(ps->snap->pool, e->s, e->n)))
			return out_of_memory(ps);
	}
	if (row_elem(v, 6, &e) && (!jv_is_string(e) || parse_hex(e->s, &w.address))) {
		failf(r, "goroutines[%zu][6]: expected a hex string or null", i);
		return v2_failed(ps);
	}
	if (row_elem(v, 7, &e)) {
		if (!jv_is_integer(e) || e->i < 1 || e->i > INT_MAX) {
			failf(r, "goroutines[%zu][7]: expected a thread id or null", i);
			return v2_failed(ps);
		}
		w.owner = (int)e->i;
	}
	if (v2->tpl_seen && v2->tpl_resolved)
		return add_row(ps, &w, i);
	if (v2->nrows >= SNAPSHOT_MAX_ENTRIES) {
		failf(r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (v2->nrows == v2->rows_cap) {
		size_t cap = v2->rows_cap ? v2->rows_cap * 2 : 1024;
		struct row *p = realloc(v2->rows, cap * sizeof(*p));
		if (!p)
			return out_of_memory(ps);
		v2->rows = p;
		v2->rows_cap = cap;
	}
	v2->rows[v2->nrows++] = w;
	return 0;
}

/* The end of a version 2 document: templates given their stacks, then
 * the rows kept for them made entries. */
void v2_finish(struct parser *ps)
{
	struct v2_read *v2 = &ps->v2;

	if (ps->doomed || ps->thread_failed)
		return;
	if (!v2->tpl_resolved)
		for (size_t k = 0; k < v2->ntpl; k++)
			if (resolve_template(ps, k)) {
				v2_failed(ps);
				return;
			}
	v2->tpl_resolved = true;
	for (size_t i = 0; i < v2->nrows; i++)
		if (add_row(ps, &v2->rows[i], i) || ps->thread_failed)
			return;
}

void v2_read_free(struct v2_read *v2)
{
	free(v2->stacks);
	free(v2->stack_n);
	free(v2->tpl);
	free(v2->tpl_refs);
	free(v2->rows);
}
