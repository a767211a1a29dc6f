/*
 * snapshot-read-entries: a snapshot's JSON values into the model, for
 * the document reader (snapshot-read.c), which hands them over one at a
 * time as jval.h trees.  Every known field is checked for type and range
 * (snapshot-read-values.c's accessors), with a message naming it ("threads[3].frames[0].pc: expected a hex
 * string"); an absent optional field means "unknown", null is accepted
 * exactly where the writer may write it, unknown fields are ignored.
 * Version 1's entries are whole threads (sr_read_thread()).  Version 2's
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

static int read_wait(struct reader *r, const struct jv *o, struct wait_info *w)
{
	const struct jv *kind = jv_get(o, "kind");
	json_int_t v;

	if (kind && !jv_is_null(kind)) {
		if (!jv_is_string(kind))
			return sr_fail(r, "kind", "expected a string or null");
		/* A kind from a newer writer reads as "unknown". */
		w->kind = wait_kind_from_name(kind->s);
	}
	if (sr_get_string(r, o, "syscall", &w->syscall_name))
		return -1;
	if (sr_get_int(r, o, "syscall_nr", SR_NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->syscall = (int)v;
	if (sr_get_int(r, o, "fd", SR_NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->fd = (int)v;
	if (sr_get_string(r, o, "object", &w->object))
		return -1;
	if (sr_get_hex(r, o, "address", SR_NULLABLE, &w->address))
		return -1;
	if (sr_get_int(r, o, "owner", SR_NULLABLE, 1, INT_MAX, 0, &v))
		return -1;
	w->owner = (int)v;
	return sr_get_number(r, o, "blocked_sec", -1, &w->blocked_sec);
}

static int read_frame(struct reader *r, const struct jv *o, struct frame *f)
{
	json_int_t v;

	if (sr_get_hex(r, o, "pc", SR_REQUIRED, &f->pc) ||
	    sr_get_string(r, o, "module", &f->module) ||
	    sr_get_string(r, o, "function", &f->function) ||
	    sr_get_string(r, o, "file", &f->file))
		return -1;
	if (sr_get_int(r, o, "line", SR_NULLABLE, 0, INT_MAX, 0, &v))
		return -1;
	f->line = (int)v;
	if (sr_get_hex(r, o, "offset", SR_NULLABLE, &f->offset))
		return -1;
	if (sr_get_bool(r, o, "python", &f->python))
		return -1;
	return sr_get_bool(r, o, "inlined", &f->inlined);
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
		return sr_fail(r, "labels", "expected an object");
	if (v->n > LABELS_MAX)
		return sr_failf(r, "%slabels: more than %d labels", r->where, LABELS_MAX);
	for (n = 0; n < v->n; n++) {
		const struct jv *key = &v->items[2 * n], *val = &v->items[2 * n + 1];
		if (!jv_is_string(val))
			return sr_failf(r, "%slabels.%s: expected a string", r->where,
				     key->n > 40 ? "(a key)" : key->s);
		if (key->n > LABEL_LEN_MAX || val->n > LABEL_LEN_MAX)
			return sr_failf(r, "%slabels: a key or value longer than %d bytes", r->where,
				     LABEL_LEN_MAX);
		/* the arena's, valid while this thread is read */
		tmp[n] = (struct label){ (char *)key->s, (char *)val->s };
	}
	qsort(tmp, n, sizeof(*tmp), cmp_label_key);
	for (size_t i = 0; i < n; i++)
		if (!r->pool || !(tmp[i].key = strpool_add(r->pool, tmp[i].key, strlen(tmp[i].key))) ||
		    !(tmp[i].value = strpool_add(r->pool, tmp[i].value, strlen(tmp[i].value))))
			return sr_failf(r, "out of memory");
	if (n && !(t->labels = strpool_label_array(r->pool, tmp, n)))
		return sr_failf(r, "out of memory");
	t->nlabels = n;
	t->labelled = true;
	return 0;
}

/* A goroutine's own fields (snapshot.h). */
static int read_goroutine(struct reader *r, const struct jv *o, size_t ti, struct thread *t)
{
	json_int_t v;
	const struct jv *created;

	if (sr_get_string(r, o, "go_wait", &t->go_wait) ||
	    sr_get_int(r, o, "go_parent", SR_OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	t->go_parent = v;
	if (sr_get_int(r, o, "go_tid", SR_OPTIONAL, 0, INT_MAX, 0, &v))
		return -1;
	t->go_tid = (int)v;
	const struct jv *m = r->tpl ? NULL : jv_get(o, "go_minutes");
	t->go_minutes = -1;
	if (m && !jv_is_null(m) &&
	    (sr_get_number(r, o, "go_minutes", -1, &t->go_minutes) || t->go_minutes < 0))
		return sr_fail(r, "go_minutes", "expected a number of minutes, 0 or more");
	if (sr_get_bool(r, o, "go_system", &t->go_system) || read_labels(r, o, t))
		return -1;
	created = jv_get(o, "created");
	return created ? read_frames(r, created, "created", ti, t, true) : 0;
}

int sr_read_thread(struct reader *r, const struct jv *o, size_t ti,
		       struct thread *t)
{
	const struct jv *v, *frames;
	json_int_t tid;

	json_int_t goid = 1;
	snprintf(r->where, sizeof(r->where), "%s[%zu].", r->array, ti);
	/* A goroutine has a goid, and no tid of its own (0); a template's
	 * goroutines have theirs in their rows. */
	if (!r->tpl && sr_get_int(r, o, "goid", SR_OPTIONAL, 0, INT64_MAX, 0, &goid))
		return -1;
	t->goid = goid;
	if (sr_get_int(r, o, "tid", SR_REQUIRED, goid ? 0 : 1, INT_MAX, 0, &tid))
		return -1;
	t->tid = (int)tid;
	if (goid && read_goroutine(r, o, ti, t))
		return -1;
	char *name;
	if (sr_get_string(r, o, "name", &name))
		return -1;
	if (name) {
		if (!thread_os(t)) {
			if (!r->pool)
				free(name);
			return sr_failf(r, "out of memory");
		}
		t->os->name = name;
	}
	char *py_name, *py_wait;
	if (sr_get_string(r, o, "py_name", &py_name))
		return -1;
	if (sr_get_string(r, o, "py_wait", &py_wait)) {
		if (!r->pool)
			free(py_name);
		return -1;
	}
	if (py_name || py_wait) {
		if (!thread_os(t)) {
			if (!r->pool) {
				free(py_name);
				free(py_wait);
			}
			return sr_failf(r, "out of memory");
		}
		t->os->py_name = py_name;
		t->os->py_wait = py_wait;
	}
	v = jv_get(o, "state");
	if (v && !jv_is_null(v)) {
		if (!jv_is_string(v) || v->n != 1)
			return sr_fail(r, "state",
				    "expected a one-character string");
		t->state = v->s[0];
	}
	/* a goroutine's are 0: no os part for them */
	uint64_t utime = 0, stime = 0, start_time = 0;
	if (sr_get_u64(r, o, "utime", &utime) ||
	    sr_get_u64(r, o, "stime", &stime) ||
	    sr_get_u64(r, o, "start_time", &start_time) ||
	    sr_get_bool(r, o, "partial", &t->partial) ||
	    sr_get_string(r, o, "error", &t->error) ||
	    sr_get_bool(r, o, "stopped", &t->stopped))
		return -1;
	if (utime || stime || start_time) {
		if (!thread_os(t))
			return sr_failf(r, "out of memory");
		t->os->utime = utime;
		t->os->stime = stime;
		t->os->start_time = start_time;
	}

	v = jv_get(o, "wait");
	if (v && !jv_is_null(v)) {
		if (!jv_is_object(v))
			return sr_fail(r, "wait", "expected an object or null");
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
			return sr_fail(r, key, "expected the index of a stack");
		*(created ? &r->created_ref : &r->frames_ref) = frames->i;
		return 0;
	}
	if (!jv_is_array(frames))
		return sr_fail(r, key, "expected an array");
	for (fi = 0; fi < frames->n; fi++) {
		v = &frames->items[fi];
		struct frame *f;

		if (!jv_is_object(v))
			return sr_failf(r, "%s[%zu].%s[%zu]: expected "
				     "an object", r->array, ti, key, fi);
		if (created) {
			if (t->ncreated >= 4096)
				return sr_failf(r, "%s[%zu].%s: too many frames", r->array, ti, key);
			f = realloc(t->created, (t->ncreated + 1) * sizeof(*f));
			if (!f)
				return sr_failf(r, "out of memory");
			t->created = f;
			f = &t->created[t->ncreated++];
			memset(f, 0, sizeof(*f));
		} else {
			f = thread_add_frame(t);
		}
		if (!f)
			return sr_failf(r, "out of memory");
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
int sr_stack_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct thread t = { 0 };

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v)) {
		sr_failf(r, "stacks[%zu]: expected an array of frames", i);
		return v2_failed(ps);
	}
	if (v->n > 4096) {
		sr_failf(r, "stacks[%zu]: too many frames", i);
		return v2_failed(ps);
	}
	if (snapshot_grow_implied((void **)&v2->stacks, v2->nstacks, sizeof(*v2->stacks)) ||
	    snapshot_grow_implied((void **)&v2->stack_n, v2->nstacks, sizeof(*v2->stack_n)))
		return sr_out_of_memory(ps);
	for (size_t fi = 0; fi < v->n; fi++) {
		struct frame *f = thread_add_frame(&t);
		if (!f) {
			free(t.frames);
			return sr_out_of_memory(ps);
		}
		snprintf(r->where, sizeof(r->where), "stacks[%zu][%zu].", i, fi);
		if (!jv_is_object(&v->items[fi])) {
			free(t.frames);
			sr_failf(r, "stacks[%zu][%zu]: expected an object", i, fi);
			return v2_failed(ps);
		}
		if (read_frame(r, &v->items[fi], f)) {
			free(t.frames);
			return v2_failed(ps);
		}
	}
	if (strpool_thread_frames(ps->snap->pool, &t) < 0) {
		free(t.frames);
		return sr_out_of_memory(ps);
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
			return sr_failf(&ps->r, "templates[%zu].%s: stack %lld, of %zu", k,
				     j ? "created" : "frames", (long long)ref, v2->nstacks);
		*(j ? &t->created : &t->frames) = v2->stacks[ref];
		*(j ? &t->ncreated : &t->nframes) = v2->stack_n[ref];
	}
	return 0;
}

/* "templates": goroutine entries without their own fields. */
int sr_template_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_object(v)) {
		sr_failf(r, "templates[%zu]: expected an object", i);
		return v2_failed(ps);
	}
	if (v2->ntpl >= SNAPSHOT_MAX_ENTRIES) {
		sr_failf(r, "templates: more than %zu", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (snapshot_grow_implied((void **)&v2->tpl, v2->ntpl, sizeof(*v2->tpl)) ||
	    snapshot_grow_implied((void **)&v2->tpl_refs, v2->ntpl, sizeof(*v2->tpl_refs)))
		return sr_out_of_memory(ps);
	struct thread *t = &v2->tpl[v2->ntpl];
	memset(t, 0, sizeof(*t));
	wait_info_init(&t->wait);
	t->pooled = t->frames_pooled = true;
	r->array = "templates";
	r->tpl = true;
	r->frames_ref = r->created_ref = -1;
	int rc = sr_read_thread(r, v, i, t);
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
		sr_failf(&ps->r, "goroutines[%zu]: template %u, of %zu", i, w->tpl, v2->ntpl);
		return v2_failed(ps);
	}
	if (ps->snap->nthreads >= SNAPSHOT_MAX_ENTRIES) {
		sr_failf(&ps->r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	struct thread *t = snapshot_add_thread(ps->snap);
	if (!t)
		return sr_out_of_memory(ps);
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
int sr_row_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct row w = { .minutes = -1, .blocked = -1, .fd = -1 };
	const struct jv *e;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v) || v->n < 2 || v->n > 8) {
		sr_failf(r, "goroutines[%zu]: expected [goid, template, ...]", i);
		return v2_failed(ps);
	}
	e = &v->items[0];
	if (!jv_is_integer(e) || e->i < 1) {
		sr_failf(r, "goroutines[%zu][0]: expected a goroutine id", i);
		return v2_failed(ps);
	}
	w.goid = e->i;
	e = &v->items[1];
	if (!jv_is_integer(e) || e->i < 0 || e->i >= UINT32_MAX) {
		sr_failf(r, "goroutines[%zu][1]: expected the index of a template", i);
		return v2_failed(ps);
	}
	w.tpl = (uint32_t)e->i;
	if (row_elem(v, 2, &e)) {
		if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			sr_failf(r, "goroutines[%zu][2]: expected minutes, 0 or more, or null", i);
			return v2_failed(ps);
		}
		w.minutes = jv_number(e);
	}
	w.blocked = w.minutes >= 0 ? w.minutes * 60 : -1;
	if (row_elem(v, 3, &e)) {
		if (jv_is_integer(e) && e->i == -1) {
			w.blocked = -1;
		} else if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			sr_failf(r, "goroutines[%zu][3]: expected seconds, 0 or more, -1 or null", i);
			return v2_failed(ps);
		} else {
			w.blocked = jv_number(e);
		}
	}
	if (row_elem(v, 4, &e)) {
		if (!jv_is_integer(e) || e->i < 0 || e->i > INT_MAX) {
			sr_failf(r, "goroutines[%zu][4]: expected a file descriptor or null", i);
			return v2_failed(ps);
		}
		w.fd = (int)e->i;
	}
	if (row_elem(v, 5, &e)) {
		if (!jv_is_string(e)) {
			sr_failf(r, "goroutines[%zu][5]: expected a string or null", i);
			return v2_failed(ps);
		}
		if (!(w.object = strpool_add(ps->snap->pool, e->s, e->n)))
			return sr_out_of_memory(ps);
	}
	if (row_elem(v, 6, &e) && (!jv_is_string(e) || sr_parse_hex(e->s, &w.address))) {
		sr_failf(r, "goroutines[%zu][6]: expected a hex string or null", i);
		return v2_failed(ps);
	}
	if (row_elem(v, 7, &e)) {
		if (!jv_is_integer(e) || e->i < 1 || e->i > INT_MAX) {
			sr_failf(r, "goroutines[%zu][7]: expected a thread id or null", i);
			return v2_failed(ps);
		}
		w.owner = (int)e->i;
	}
	if (v2->tpl_seen && v2->tpl_resolved)
		return add_row(ps, &w, i);
	if (v2->nrows >= SNAPSHOT_MAX_ENTRIES) {
		sr_failf(r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (v2->nrows == v2->rows_cap) {
		size_t cap = v2->rows_cap ? v2->rows_cap * 2 : 1024;
		struct row *p = realloc(v2->rows, cap * sizeof(*p));
		if (!p)
			return sr_out_of_memory(ps);
		v2->rows = p;
		v2->rows_cap = cap;
	}
	v2->rows[v2->nrows++] = w;
	return 0;
}

/* The end of a version 2 document: templates given their stacks, then
 * the rows kept for them made entries. */
void sr_v2_finish(struct parser *ps)
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

void sr_v2_read_free(struct v2_read *v2)
{
	free(v2->stacks);
	free(v2->stack_n);
	free(v2->tpl);
	free(v2->tpl_refs);
	free(v2->rows);
}
