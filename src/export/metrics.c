/*
 * metrics: the exposition written into an open_memstream buffer, family
 * by family (Prometheus wants each metric's samples together, after its
 * HELP and TYPE), each family looping over the targets.  A target's
 * series are reduced first: its groups summed by their labels (keytab.h),
 * sorted by
 * count (then by labels, so that equal counts keep their order from one
 * refresh to the next), cut at max_groups.
 *
 * A goroutine group's pprof labels (labels.h: their text as pprof's
 * debug=1 prints it) label its series pprof_labels, for the
 * METRICS_LABEL_SETS sets with the most goroutines of the process; the
 * groups of every other set add up in series labelled
 * pprof_labels="other" (a label per request must not make a series per
 * request); a group without labels has no such label.  Sets whose first
 * 200 bytes are the same are one value.
 *
 * Label values come from the target (comm, function names): a backslash,
 * a double quote and a newline are escaped as the format says, other
 * control bytes and bytes that are not UTF-8 become '?', and a value is
 * cut at 200 bytes, so that no target can break the exposition.
 */
#include "export/metrics.h"
#include "export/keytab.h"
#include "model/group.h"
#include "model/labels.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 200

struct series {
	const char *entry;	/* "thread", "goroutine" */
	const char *kind;
	char function[LABEL_MAX + 1];
	char labels[LABEL_MAX + 1];	/* pprof labels' text, "other", "" */
	size_t count;
};

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
		     (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (!len || len > n || (len == 2 && s[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void put_value(FILE *fp, const char *v)
{
	const unsigned char *s = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)s), used = 0;

	putc('"', fp);
	for (size_t i = 0; i < n && used < LABEL_MAX;) {
		size_t len = utf8_len(s + i, n - i);
		if (len == 0 || s[i] == 0x7f || (s[i] < ' ' && s[i] != '\n')) {
			putc('?', fp);
			i += len ? len : 1;
		} else if (s[i] == '\\' || s[i] == '"') {
			fprintf(fp, "\\%c", s[i++]);
		} else if (s[i] == '\n') {
			fputs("\\n", fp);
			i++;
		} else {
			fwrite(s + i, 1, len, fp);
			i += len;
		}
		used++;
	}
	putc('"', fp);
}

static void put_label(FILE *fp, const char *name, const char *v, int len)
{
	char buf[LABEL_MAX + 1];

	if (!v || !v[0])
		return;	/* an empty label is no label */
	snprintf(buf, sizeof(buf), "%.*s", len, v);
	fprintf(fp, ",%s=", name);
	put_value(fp, buf);
}

static void put_target(FILE *fp, const struct metrics_target *t)
{
	const struct cgroup_info *w = t->where;

	fprintf(fp, "pid=\"%d\",comm=", t->pid);
	put_value(fp, t->comm);
	if (!w)
		return;
	put_label(fp, "container_runtime", w->runtime, LABEL_MAX);
	put_label(fp, "container_id", w->id, CONTAINER_SHORT_ID);
	put_label(fp, "pod_uid", w->pod_uid, LABEL_MAX);
	put_label(fp, "unit", w->unit, LABEL_MAX);
}

static void family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int cmp_series(const void *x, const void *y)
{
	const struct series *a = x, *b = y;
	int c;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if ((c = strcmp(a->entry, b->entry)) || (c = strcmp(a->kind, b->kind)) ||
	    (c = strcmp(a->function, b->function)))
		return c;
	return strcmp(a->labels, b->labels);
}

/* A label set of a process and how many of its entries have it. */
struct labelset {
	const char *text;
	size_t count;
};

static int cmp_labelset(const void *x, const void *y)
{
	const struct labelset *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->text, b->text);
}

/*
 * The label sets that name series: the METRICS_LABEL_SETS with the most
 * entries (then in text order), as ids of texts (their pprof text, cut as
 * a label value is) in *out, which keeps[id - 1] says; -ENOMEM.
 */
static int pick_labelsets(const struct snapshot *snap, const struct grouping *g,
			  struct keytab *texts, bool **keeps)
{
	struct labelset *v = NULL;
	size_t cap = 0;
	int rc = 0;

	*keeps = NULL;
	for (size_t i = 0; i < g->ngroups && !rc; i++) {
		const struct thread *t = g->groups[i].threads[0];
		if (!t->goid || !t->labelled || thread_go_runtime(snap, t))
			continue;
		char *text = labels_text(t->labels, t->nlabels);
		int64_t id = text ? keytab_id(texts, text, strnlen(text, LABEL_MAX), NULL) : -ENOMEM;
		free(text);
		if (id < 0) {
			rc = -ENOMEM;
			break;
		}
		assert(id >= 1);	/* keytab's ids: 1..n, v[id - 1] below */
		if ((size_t)id > cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct labelset *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			memset(nv + cap, 0, (ncap - cap) * sizeof(*nv));
			v = nv;
			cap = ncap;
		}
		v[id - 1].text = keytab_key(texts, id);
		v[id - 1].count += g->groups[i].count;
	}
	if (!rc && !(*keeps = calloc(texts->n + 1, sizeof(**keeps))))
		rc = -ENOMEM;
	if (!rc) {
		if (texts->n)	/* else no array */
			qsort(v, texts->n, sizeof(*v), cmp_labelset);
		/* texts are unique: find each kept one's id again */
		for (size_t k = 0; k < texts->n && k < METRICS_LABEL_SETS; k++) {
			int64_t id = keytab_id(texts, v[k].text, strlen(v[k].text), NULL);
			if (id > 0)
				(*keeps)[id - 1] = true;
		}
	}
	free(v);
	return rc;
}

/* The series of a snapshot, in *out (malloc'd), sorted; -ENOMEM. */
static int series_of(const struct snapshot *snap, struct series **out, size_t *nout)
{
	struct keytab keys = { 0 }, texts = { 0 };
	struct grouping g;
	struct series *v;
	bool *keeps = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (group_snapshot(snap, &g) < 0)
		return -ENOMEM;
	if (!(v = calloc(g.ngroups ? g.ngroups : 1, sizeof(*v))) ||
	    pick_labelsets(snap, &g, &texts, &keeps) < 0) {
		free(v);
		grouping_free(&g);
		keytab_free(&texts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g.ngroups; i++) {
		const struct thread *t = g.groups[i].threads[0];
		const struct frame *f = thread_own_frame(snap, t);
		struct series s = { t->goid ? "goroutine" : "thread", wait_kind_name(g.groups[i].kind),
				    "", "", g.groups[i].count };
		if (thread_go_runtime(snap, t))
			continue;
		if (f && f->function)
			snprintf(s.function, sizeof(s.function), "%s", f->function);
		else if (f)
			/* module+offset: no address of this run in a label */
			frame_label(f, s.function, sizeof(s.function));
		else
			snprintf(s.function, sizeof(s.function), "?");
		if (t->goid && t->labelled && !thread_go_runtime(snap, t)) {
			/* a kept set by its text, the others as "other" */
			char *text = labels_text(t->labels, t->nlabels);
			int64_t id = text ? keytab_id(&texts, text, strnlen(text, LABEL_MAX), NULL) : -1;
			free(text);
			if (id < 0) {
				rc = -ENOMEM;
				break;
			}
			snprintf(s.labels, sizeof(s.labels), "%s",
				 keeps[id - 1] ? keytab_key(&texts, id) : "other");
		}
		char key[sizeof(s.function) + sizeof(s.labels) + 64];
		int klen = snprintf(key, sizeof(key), "%s%c%s%c%s%c%s", s.entry, 0, s.kind, 0,
				    s.function, 0, s.labels);
		int64_t id = keytab_id(&keys, key, (size_t)klen, NULL);
		if (id < 0) {
			rc = -ENOMEM;
			break;
		}
		if ((size_t)id > n)
			v[n++] = s;
		else
			v[id - 1].count += s.count;
	}
	grouping_free(&g);
	keytab_free(&keys);
	keytab_free(&texts);
	free(keeps);
	if (rc < 0) {
		free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), cmp_series);
	*out = v;
	*nout = n;
	return 0;
}

int metrics_render(const struct metrics_target *targets, size_t n, size_t max_groups,
		   unsigned long refreshes, char **text, size_t *len)
{
	FILE *fp = open_memstream(text, len);
	int rc = 0;

	if (!fp)
		return -ENOMEM;
	family(fp, "threadleak_refreshes_total", "counter",
	       "Captures of the processes watched; scrapes between two get the same text.");
	fprintf(fp, "threadleak_refreshes_total %lu\n", refreshes);
	family(fp, "threadleak_up", "gauge", "Whether the last capture of the process worked.");
	for (size_t i = 0; i < n; i++) {
		fputs("threadleak_up{", fp);
		put_target(fp, &targets[i]);
		fprintf(fp, "} %d\n", targets[i].snap != NULL);
	}
	family(fp, "threadleak_threads", "gauge", "Threads of the process.");
	for (size_t i = 0; i < n; i++) {
		const struct snapshot *s = targets[i].snap;
		if (!s)
			continue;
		fputs("threadleak_threads{", fp);
		put_target(fp, &targets[i]);
		fprintf(fp, "} %zu\n", s->nthreads - s->ngoroutines);
	}
	family(fp, "threadleak_goroutines", "gauge",
	       "Goroutines of a Go process, the runtime's own included.");
	for (size_t i = 0; i < n; i++) {
		const struct snapshot *s = targets[i].snap;
		if (!s || !s->runtime || s->runtime_note)
			continue;
		fputs("threadleak_goroutines{", fp);
		put_target(fp, &targets[i]);
		fprintf(fp, "} %zu\n", s->ngoroutines);
	}
	family(fp, "threadleak_capture_seconds", "gauge", "How long the last capture took.");
	for (size_t i = 0; i < n; i++) {
		if (!targets[i].snap)
			continue;
		fputs("threadleak_capture_seconds{", fp);
		put_target(fp, &targets[i]);
		fprintf(fp, "} %.6f\n", targets[i].capture_sec);
	}
	family(fp, "threadleak_group_count", "gauge",
	       "Threads or goroutines waiting the same way (kind) in the same function, "
	       "the largest series of each process; the rest in kind=\"other\".");
	for (size_t i = 0; i < n && !rc; i++) {
		struct series *v;
		size_t nv, other = 0;
		if (!targets[i].snap)
			continue;
		if ((rc = series_of(targets[i].snap, &v, &nv)) < 0)
			break;
		for (size_t k = 0; k < nv; k++) {
			if (k >= max_groups) {
				other += v[k].count;
				continue;
			}
			fputs("threadleak_group_count{", fp);
			put_target(fp, &targets[i]);
			fprintf(fp, ",entry=\"%s\",kind=\"%s\",function=", v[k].entry, v[k].kind);
			put_value(fp, v[k].function);
			/* none: no label at all, the series a program
			 * without labels always had */
			if (v[k].labels[0]) {
				fputs(",pprof_labels=", fp);
				put_value(fp, v[k].labels);
			}
			fprintf(fp, "} %zu\n", v[k].count);
		}
		fputs("threadleak_group_count{", fp);
		put_target(fp, &targets[i]);
		fprintf(fp, ",entry=\"other\",kind=\"other\",function=\"other\"} %zu\n", other);
		free(v);
	}
	if (fclose(fp) != 0 && !rc)
		rc = -ENOMEM;
	if (rc < 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}
