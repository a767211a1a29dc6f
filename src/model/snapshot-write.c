/*
 * snapshot-write: a snapshot's JSON text, both versions; see snapshot.h.
 *
 * This file writes the document: its top-level members in the document's
 * order, then the threads (version 2: the threads, then the goroutines'
 * rows), the bulk of a snapshot, in runs formatted on every CPU and handed
 * on in order.  An entry is written by snapshot-write-v1.c, version 2's
 * tables and rows by snapshot-write-v2.c, all through the buffered writer
 * of snapshot-writer.h: the text is byte for byte what jansson prints for
 * the same tree with JSON_INDENT(1) or JSON_COMPACT (the unit tests check
 * this by reparsing and redumping).  Unknown values are null.
 */
#include "model/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/snapshot-write-impl.h"
#include "base/util.h"

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when s starts a bad one.
 * Stops at a NUL, which is never a continuation byte.
 */
size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The threads, the bulk of a snapshot, are written in runs of
 * THREADS_PER_RUN: each run is formatted into a writer of its own on every
 * CPU (run_parallel_then), and the runs are handed on in order, to stdio
 * or to the one buffer, as they are done.  A run starts as the threads
 * array would continue: at the array's depth, with a comma before its
 * first thread unless it is the first run.
 */
#define THREADS_PER_RUN 128

/* A file written whole is fsync'd when it is done (outfile.c): the disk
 * starts on what is written already while the rest is formatted, and the
 * final fsync waits for less (16 MiB: 9 ms -> 3 ms). */
static void write_back(struct thread_runs *tr, size_t written)
{
	tr->unsynced += written;
	if (tr->file_fd < 0 || tr->unsynced < WRITE_BACK_BYTES)
		return;
	tr->unsynced = 0;
	if (fflush(tr->out->fp) == 0)
		sync_file_range(tr->file_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static void format_run(void *arg, size_t k)
{
	struct thread_runs *tr = arg;
	struct writer *r = &tr->runs[k];
	size_t end = (k + 1) * THREADS_PER_RUN;

	r->pretty = tr->out->pretty;
	r->depth = tr->out->depth;
	r->empty = k == 0;
	if (end > tr->n)
		end = tr->n;
	for (size_t i = k * THREADS_PER_RUN; i < end && !r->err; i++) {
		w_next(r);
		tr->item(r, tr, i);
	}
}

static int hand_on_run(void *arg, size_t k)
{
	struct thread_runs *tr = arg;
	struct writer *r = &tr->runs[k], *out = tr->out;

	if (!out->err && r->err)
		out->err = r->err;
	if (!out->err && r->len) {
		if (out->fp) {
			errno = 0;
			if (fwrite(r->buf, 1, r->len, out->fp) != r->len)
				out->err = errno ? -errno : -EIO;
			write_back(tr, r->len);
		} else {
			w_raw(out, r->buf, r->len);
		}
	}
	free(r->buf);
	r->buf = NULL;
	return 0;
}

/* The n items of an array (its '[' written), formatted on every CPU. */
void sw_write_items(struct writer *w, const struct snapshot *snap, size_t n,
			void (*item)(struct writer *, const struct thread_runs *, size_t),
			const struct v2_tables *v2)
{
	size_t nruns = (n + THREADS_PER_RUN - 1) / THREADS_PER_RUN;
	struct thread_runs tr = { snap, w, calloc(nruns ? nruns : 1, sizeof(*tr.runs)), -1, 0,
				  n, item, v2 };
	struct stat st;

	if (w->fp && fileno(w->fp) >= 0 && fstat(fileno(w->fp), &st) == 0 && S_ISREG(st.st_mode))
		tr.file_fd = fileno(w->fp);

	if (!tr.runs || (w_flush(w), w->err)) {
		w->err = w->err ? w->err : -ENOMEM;
		free(tr.runs);
		return;
	}
	if (run_parallel_then(nruns, 0, format_run, &tr, hand_on_run, &tr) < 0)
		w->err = w->err ? w->err : -ENOMEM;
	for (size_t k = 0; k < nruns; k++)
		free(tr.runs[k].buf);	/* what an error left */
	free(tr.runs);
	w->empty = n == 0;
}

/* Where it runs: the members that say something (none: none). */
static void write_where(struct writer *w, const struct cgroup_info *c)
{
	if (c->path[0]) {
		w_key(w, "cgroup");
		w_string(w, c->path);
	}
	if (c->runtime[0]) {
		w_key(w, "container");
		w_open(w, '{');
		w_key(w, "runtime");
		w_string(w, c->runtime);
		w_key(w, "id");
		w_string(w, c->id);
		w_close(w, '}');
	}
	if (c->pod_uid[0]) {
		w_key(w, "pod_uid");
		w_string(w, c->pod_uid);
	}
	if (c->unit[0]) {
		w_key(w, "unit");
		w_string(w, c->unit);
	}
}

/* The whole document and its newline; returns 0 or -errno. */
static int write_snapshot(struct writer *w, const struct snapshot *snap,
			  const struct v2_tables *v2)
{
	w_open(w, '{');
	w_key(w, "format");
	w_string(w, SNAPSHOT_FORMAT);
	w_key(w, "version");
	w_int(w, v2 ? SNAPSHOT_VERSION : SNAPSHOT_VERSION_FLAT);
	w_key(w, "pid");
	w_int(w, snap->pid);
	if (snap->nspid) {	/* each only when known: not in older files */
		w_key(w, "nspid");
		w_int(w, snap->nspid);
	}
	w_key(w, "comm");
	w_string(w, snap->comm);
	w_key(w, "exe");
	w_string(w, snap->exe);
	write_where(w, &snap->where);
	w_key(w, "unwinder");
	w_string(w, snap->unwinder);
	w_key(w, "taken_at");
	w_int(w, snap->taken_at);
	w_key(w, "capture_ms");
	w_real(w, snap->capture_ms);
	w_key(w, "threads_stopped");
	w_int(w, snap->threads_stopped);
	if (snap->stop_ms_total >= 0) {	/* not in a file made before them */
		w_key(w, "stop_ms_total");
		w_real(w, snap->stop_ms_total);
		w_key(w, "stop_ms_max");
		w_real(w, snap->stop_ms_max);
	}
	w_key(w, "partial");
	w_bool(w, snap->partial);
	w_key(w, "note");
	w_string(w, snap->note);
	w_key(w, "runtime");
	w_string(w, snap->runtime);
	w_key(w, "runtime_note");
	w_string(w, snap->runtime_note);
	w_key(w, "go_layouts");
	w_string(w, snap->go_layouts);
	if (snap->python || snap->python_note) {	/* only a Python's */
		w_key(w, "python");
		w_string(w, snap->python);
		w_key(w, "python_note");
		w_string(w, snap->python_note);
	}
	w_key(w, "modules");
	w_open(w, '[');
	for (size_t i = 0; i < snap->nmodules; i++) {
		const struct module_info *m = &snap->modules[i];
		w_next(w);
		w_open(w, '{');
		w_key(w, "path");
		w_string(w, m->path);
		w_key(w, "build_id");
		w_string(w, m->build_id);
		w_key(w, "start");
		w_hex(w, m->start);
		w_key(w, "end");
		w_hex(w, m->end);
		if (m->note) {
			w_key(w, "note");
			w_string(w, m->note);
		}
		w_close(w, '}');
	}
	w_close(w, ']');
	if (v2)
		sw_write_v2_tables(w, snap, v2);
	w_key(w, "threads");
	w_open(w, '[');
	if (v2)
		sw_write_items(w, snap, v2->nos, sw_os_item, v2);
	else
		sw_write_items(w, snap, snap->nthreads, sw_thread_item, NULL);
	w_close(w, ']');
	if (v2) {
		w_key(w, "goroutines");
		w_open(w, '[');
		sw_write_items(w, snap, v2->ng, sw_row_item, v2);
		w_close(w, ']');
	}
	w_close(w, '}');
	w_raw(w, "\n", 1);
	w_flush(w);
	return w->err;
}

int snapshot_write(const struct snapshot *snap, FILE *fp, bool pretty)
{
	struct writer w = { .fp = fp, .pretty = pretty };
	int err;

	if (!snap || !fp)
		return -EINVAL;
	err = write_snapshot(&w, snap, NULL);
	free(w.buf);
	if (err)
		return err;
	errno = 0;
	if (fflush(fp) || ferror(fp))
		return errno ? -errno : -EIO;
	return 0;
}

int snapshot_write_file(const struct snapshot *snap, FILE *fp)
{
	struct writer w = { .fp = fp };
	struct v2_tables v;
	int err;

	if (!snap || !fp)
		return -EINVAL;
	err = sw_v2_make(&v, snap);
	if (!err)
		err = write_snapshot(&w, snap, &v);
	sw_v2_free(&v);
	free(w.buf);
	if (err)
		return err;
	errno = 0;
	if (fflush(fp) || ferror(fp))
		return errno ? -errno : -EIO;
	return 0;
}

int snapshot_save(const struct snapshot *snap, const char *path)
{
	FILE *fp = fopen(path, "w");
	int rc;

	if (!fp)
		return -errno;
	rc = snapshot_write_file(snap, fp);
	if (fclose(fp) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * The document exactly as snapshot_write() writes it, trailing newline
 * included; the caller frees it with free().  NULL with errno set on error.
 */
char *snapshot_to_json(const struct snapshot *snap, bool pretty)
{
	struct writer w = { .pretty = pretty };
	int err;

	if (!snap) {
		errno = EINVAL;
		return NULL;
	}
	err = write_snapshot(&w, snap, NULL);
	if (err) {
		free(w.buf);
		errno = -err;
		return NULL;
	}
	w.buf[w.len] = '\0';
	return w.buf;
}
