/*
 * snapshot-write-v1: an entry (a thread or a goroutine) written whole, as
 * version 1 writes every one and version 2 its threads and its templates
 * (a template: the stacks by index, no goid, go_minutes or blocked_sec).
 * Threads of one pool have equal stacks, mostly one after the other: a
 * frames array equal to one written lately is copied as text, not
 * written again.
 */
#include "model/snapshot.h"

#include <string.h>

#include "model/snapshot-write-impl.h"

static void write_wait(struct writer *w, const struct wait_info *wi, bool blocked)
{
	w_open(w, '{');
	w_key(w, "kind");
	w_string(w, wait_kind_name(wi->kind));
	w_key(w, "syscall");
	if (wi->syscall < 0)
		w_null(w);
	else
		w_string(w, wi->syscall_name);
	w_key(w, "syscall_nr");
	if (wi->syscall < 0)
		w_null(w);
	else
		w_int(w, wi->syscall);
	w_key(w, "fd");
	if (wi->fd < 0)
		w_null(w);
	else
		w_int(w, wi->fd);
	w_key(w, "object");
	w_string(w, wi->object);
	w_key(w, "address");
	if (wi->address)
		w_hex(w, wi->address);
	else
		w_null(w);
	w_key(w, "owner");
	if (wi->owner > 0)
		w_int(w, wi->owner);
	else
		w_null(w);
	if (blocked) {
		w_key(w, "blocked_sec");
		w_real(w, wi->blocked_sec);
	}
	w_close(w, '}');
}

static void write_frame(struct writer *w, const struct frame *f)
{
	w_open(w, '{');
	w_key(w, "pc");
	w_hex(w, f->pc);
	w_key(w, "module");
	w_string(w, f->module);
	w_key(w, "function");
	w_string(w, f->function);
	w_key(w, "file");
	w_string(w, f->file);
	w_key(w, "line");
	if (f->line > 0)
		w_int(w, f->line);
	else
		w_null(w);
	w_key(w, "offset");
	w_hex(w, f->offset);
	w_key(w, "inlined");
	w_bool(w, f->inlined);
	if (f->python) {	/* only where set: a Go stack's frames never are */
		w_key(w, "python");
		w_bool(w, true);
	}
	w_close(w, '}');
}

/* The array of n frames, or a copy of the text of an equal one written
 * lately at the same depth (every thread's frames are at one depth). */
void sw_write_frames(struct writer *w, const struct frame *frames, size_t n)
{
	for (int k = 0; k < FRAMES_SEEN && n; k++) {
		const struct frames_text *ft = &w->seen[k];
		if (ft->len && ft->n == n && sw_same_frames(ft->frames, frames, n)) {
			if (!w_reserve(w, ft->len))
				return;
			memcpy(w->buf + w->len, w->buf + ft->off, ft->len);
			w->len += ft->len;
			w->empty = false;
			return;
		}
	}
	size_t off = w->len;
	w_open(w, '[');
	for (size_t i = 0; i < n && !w->err; i++) {
		w_next(w);
		write_frame(w, &frames[i]);
	}
	w_close(w, ']');
	if (n && !w->err)
		w->seen[w->next_seen++ % FRAMES_SEEN] =
			(struct frames_text){ frames, n, off, w->len - off };
}

/* A goroutine's labels: an object, keys in order (unique: a key equal to
 * the one before, which no reader makes, is left out, as a duplicate
 * would make the document unreadable). */
static void write_labels(struct writer *w, const struct thread *t)
{
	w_open(w, '{');
	for (size_t i = 0; i < t->nlabels; i++) {
		if (i && sw_same_string(t->labels[i].key, t->labels[i - 1].key))
			continue;
		w_next(w);
		w_string(w, t->labels[i].key);
		w_lit(w, w->pretty ? ": " : ":");
		w_string(w, t->labels[i].value);
	}
	w_close(w, '}');
}

/* A thread (or goroutine) as version 1 writes it; with tr, a version 2
 * template: no goid, go_minutes or blocked_sec, the stacks by index. */
void sw_write_entry(struct writer *w, const struct thread *t, const struct template_refs *tr)
{
	char state[2] = { t->state, '\0' };

	w_open(w, '{');
	w_key(w, "tid");
	w_int(w, t->tid);
	w_key(w, "name");
	w_string(w, thread_name(t));
	/* only a printable ASCII letter reads back as one character */
	w_key(w, "state");
	w_string(w, t->state > ' ' && t->state < 0x7f ? state : NULL);
	w_key(w, "utime");
	w_u64(w, thread_utime(t));
	w_key(w, "stime");
	w_u64(w, thread_stime(t));
	w_key(w, "start_time");
	w_u64(w, thread_start_time(t));
	w_key(w, "partial");
	w_bool(w, t->partial);
	w_key(w, "error");
	w_string(w, t->error);
	w_key(w, "stopped");
	w_bool(w, t->stopped);
	w_key(w, "wait");
	write_wait(w, &t->wait, !tr);
	if (t->os && t->os->py_name) {
		w_key(w, "py_name");
		w_string(w, t->os->py_name);
	}
	if (t->os && t->os->py_wait) {
		w_key(w, "py_wait");
		w_string(w, t->os->py_wait);
	}
	w_key(w, "frames");
	if (tr)
		w_int(w, tr->frames);
	else
		sw_write_frames(w, t->frames, t->nframes);
	if (t->goid && !tr) {
		/* A goroutine's own fields: only on goroutines. */
		w_key(w, "goid");
		w_int(w, t->goid);
	}
	if (t->goid) {
		w_key(w, "go_wait");
		w_string(w, t->go_wait);
		w_key(w, "go_parent");
		w_int(w, t->go_parent);
		w_key(w, "go_tid");
		w_int(w, t->go_tid);
		if (!tr) {
			w_key(w, "go_minutes");
			if (t->go_minutes >= 0)
				w_real(w, t->go_minutes);
			else
				w_raw(w, "null", 4);
		}
		w_key(w, "go_system");
		w_bool(w, t->go_system);
		w_key(w, "created");
		if (tr)
			w_int(w, tr->created);
		else
			sw_write_frames(w, t->created, t->ncreated);
		if (t->labelled) {
			w_key(w, "labels");
			write_labels(w, t);
		}
	}
	w_close(w, '}');
}

void sw_thread_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	sw_write_entry(r, &tr->snap->threads[i], NULL);
}
