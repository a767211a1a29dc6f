/*
 * Unit tests for pprof labels: src/model/labels.c (pprof's text of a set, Go's
 * quoting, cleaning and order), src/go/labels.c (the reader, on Go maps
 * and slices laid out in this process's own memory, read through
 * memory_open(getpid()) as from a target: buckets, overflow chains, a map
 * being grown, and what a hostile target may hold), the snapshot's JSON
 * (written, read back, refused), grouping by label set, and serve's bound
 * on label values (src/export/metrics.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/labels.h"
#include "model/group.h"
#include "target/memory.h"
#include "go/labels.h"
#include "export/metrics.h"

/* ---- text ------------------------------------------------------------- */

static char *quoted(const char *s)
{
	static char buf[256];

	size_t n = labels_quote(s, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_quote_as_go(void **state)
{
	(void)state;
	/* what Go 1.26's %q printed for leaky's labels (its debug=1 dump) */
	assert_string_equal(quoted("tab\tnl\n\x01\x7f"), "\"tab\\tnl\\n\\x01\\x7f\"");
	assert_string_equal(quoted("quote\""), "\"quote\\\"\"");
	assert_string_equal(quoted("é\u200b\u00a0"), "\"é\\u200b\\u00a0\"");
	assert_string_equal(quoted("ünï"), "\"ünï\"");
	assert_string_equal(quoted(""), "\"\"");
	assert_string_equal(quoted("a\\b\a\b\f\r\v"), "\"a\\\\b\\a\\b\\f\\r\\v\"");
	/* not UTF-8: a byte each; an overlong '/' and a surrogate too */
	assert_string_equal(quoted("\xff\xc0\xaf\xed\xa0\x80"),
			    "\"\\xff\\xc0\\xaf\\xed\\xa0\\x80\"");
	/* C1 controls, separators, bidi, private use, BOM: \u; plane 15: \U */
	assert_string_equal(quoted("\xc2\x85\u2028\u202e\ue000\ufeff\U000f0000"),
			    "\"\\u0085\\u2028\\u202e\\ue000\\ufeff\\U000f0000\"");
	/* printable outside ASCII stays, U+FFFD too */
	assert_string_equal(quoted("日本\ufffd\U0001f600"), "\"日本\ufffd\U0001f600\"");
	/* cut to the buffer, the length whole */
	char small[5];
	assert_int_equal(labels_quote("abcdef", small, sizeof(small)), 8);
	assert_string_equal(small, "\"abc");
}

static void test_text_sorted_as_pprof(void **state)
{
	(void)state;
	struct label l[] = {
		{ "a", "1" }, { "a!", "2" }, { "empty", "" }, { "quote\"", "tab\tnl\n\x01\x7f" },
		{ "ünï", "é\u200b\u00a0" },
	};
	char *t = labels_text(l, 5);

	/* pprof sorts the quoted pairs: "a!" before "a" */
	assert_string_equal(t, "{\"a!\":\"2\", \"a\":\"1\", \"empty\":\"\", "
			       "\"quote\\\"\":\"tab\\tnl\\n\\x01\\x7f\", \"ünï\":\"é\\u200b\\u00a0\"}");
	free(t);
	t = labels_text(NULL, 0);
	assert_string_equal(t, "{}");
	free(t);
}

static void test_clean(void **state)
{
	(void)state;
	char *c = labels_clean("a\0b\xff", 4);

	assert_string_equal(c, "a\ufffdb\ufffd");
	free(c);
	/* cut at a character: 1023 bytes of 'x' then a 2-byte é */
	char *big = malloc(LABEL_LEN_MAX + 8);
	memset(big, 'x', LABEL_LEN_MAX - 1);
	memcpy(big + LABEL_LEN_MAX - 1, "é", 3);
	c = labels_clean(big, LABEL_LEN_MAX + 1);
	assert_int_equal(strlen(c), LABEL_LEN_MAX - 1);
	free(c);
	free(big);
}

static void test_sort_unique(void **state)
{
	(void)state;
	struct label l[] = { { strdup("b"), strdup("1") }, { strdup("a"), strdup("2") },
			     { strdup("b"), strdup("3") } };
	size_t n = labels_sort(l, 3, true);

	assert_int_equal(n, 2);
	assert_string_equal(l[0].key, "a");
	assert_string_equal(l[1].key, "b");
	for (size_t i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
}

/* ---- the reader, on Go's layouts in our own memory ---------------------- */

struct gostr {
	const char *p;
	uint64_t len;
};

struct bucket {
	uint8_t tophash[8];
	struct gostr keys[8];
	struct gostr values[8];
	struct bucket *overflow;
};

struct hmap {
	int64_t count;
	uint8_t flags, B;
	uint16_t noverflow;
	uint32_t hash0;
	struct bucket *buckets, *oldbuckets;
	uint64_t nevacuate;
	void *extra;
};

static struct memory *mem;

static int setup(void **state)
{
	(void)state;
	mem = memory_open(getpid());
	return mem ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	memory_close(mem);
	return 0;
}

static void put(struct bucket *b, int slot, const char *k, const char *v)
{
	b->tophash[slot] = 5 + (uint8_t)slot;
	b->keys[slot] = (struct gostr){ k, strlen(k) };
	b->values[slot] = (struct gostr){ v, strlen(v) };
}

/* reads the set at ptr as a Go 1.minor program's; returns its text */
static char *read_text(int minor, const void *ptr, int *rc)
{
	struct label *l;
	size_t n;

	memory_reset(mem);
	*rc = go_read_labels(mem, minor, (uint64_t)(uintptr_t)ptr, &l, &n);
	if (*rc < 0)
		return NULL;
	char *t = labels_text(l, n);
	go_labels_free(l, n);
	return t;
}

static void test_map_buckets(void **state)
{
	(void)state;
	static struct bucket b[2], over;
	static struct hmap h;
	static struct hmap *lm = &h;	/* g.labels points at the map variable */
	int rc;

	put(&b[0], 0, "route", "/leak");
	put(&b[0], 3, "handler", "leak");
	put(&b[1], 7, "tenant", "a");
	b[1].overflow = &over;
	put(&over, 1, "job", "x");
	b[0].tophash[1] = 1;	/* emptyOne */
	h = (struct hmap){ .count = 4, .B = 1, .buckets = b };
	char *t = read_text(19, &lm, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "{\"handler\":\"leak\", \"job\":\"x\", \"route\":\"/leak\", \"tenant\":\"a\"}");
	free(t);

	/* a count the slots do not add up to: refused */
	h.count = 5;
	assert_null(read_text(23, &lm, &rc));
	assert_int_equal(rc, -EINVAL);
	h.count = 4;

	/* an empty map, a nil map: an empty set */
	static struct hmap empty;
	static struct hmap *lm_empty = &empty, *lm_nil = NULL;
	t = read_text(19, &lm_empty, &rc);
	assert_string_equal(t, "{}");
	free(t);
	t = read_text(19, &lm_nil, &rc);
	assert_string_equal(t, "{}");
	free(t);
}

static void test_map_growing(void **state)
{
	(void)state;
	static struct bucket old[1], nb[2];
	static struct hmap h;
	static struct hmap *lm = &h;
	int rc;

	/* growing from B=0 to B=1: two entries moved (evacuatedX, Y), one
	 * still in the old bucket */
	put(&old[0], 0, "a", "1");
	put(&old[0], 1, "b", "2");
	put(&old[0], 2, "c", "3");
	old[0].tophash[0] = 2;
	old[0].tophash[1] = 3;
	put(&nb[0], 0, "a", "1");
	put(&nb[1], 0, "b", "2");
	h = (struct hmap){ .count = 3, .B = 1, .buckets = nb, .oldbuckets = old };
	char *t = read_text(21, &lm, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "{\"a\":\"1\", \"b\":\"2\", \"c\":\"3\"}");
	free(t);
}

static void test_map_hostile(void **state)
{
	(void)state;
	static struct bucket b[1];
	static struct hmap h;
	static struct hmap *lm = &h;
	int rc;

	/* an overflow chain that loops */
	put(&b[0], 0, "k", "v");
	b[0].overflow = &b[0];
	h = (struct hmap){ .count = 1000, .B = 0, .buckets = b };
	assert_null(read_text(19, &lm, &rc));
	assert_int_equal(rc, -EINVAL);
	b[0].overflow = NULL;
	/* too many buckets, a negative count, buckets that are not there */
	h = (struct hmap){ .count = 1, .B = GO_MAP_MAX_B + 1, .buckets = b };
	assert_null(read_text(19, &lm, &rc));
	assert_int_equal(rc, -EINVAL);
	h = (struct hmap){ .count = -1, .B = 0, .buckets = b };
	assert_null(read_text(19, &lm, &rc));
	h = (struct hmap){ .count = 1, .B = 0, .buckets = (struct bucket *)8 };
	assert_null(read_text(19, &lm, &rc));
	assert_int_equal(rc, -EFAULT);
	/* a string too long for a Go string, one that is not there */
	h = (struct hmap){ .count = 1, .B = 0, .buckets = b };
	b[0].values[0].len = 1ull << 40;
	assert_null(read_text(19, &lm, &rc));
	assert_int_equal(rc, -EINVAL);
	b[0].values[0] = (struct gostr){ (const char *)16, 4 };
	assert_null(read_text(19, &lm, &rc));
	assert_int_equal(rc, -EFAULT);
	/* g.labels itself unreadable */
	assert_null(read_text(19, (void *)8, &rc));
	assert_int_equal(rc, -EFAULT);
}

struct golabel {
	struct gostr key, value;
};

struct golist {
	struct golabel *p;
	uint64_t len, cap;
};

static void test_list(void **state)
{
	(void)state;
	static struct golabel l[2];
	static struct golist s;
	int rc;

	l[0] = (struct golabel){ { "handler", 7 }, { "leak", 4 } };
	l[1] = (struct golabel){ { "route", 5 }, { "/leak", 5 } };
	s = (struct golist){ l, 2, 2 };
	char *t = read_text(24, &s, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "{\"handler\":\"leak\", \"route\":\"/leak\"}");
	free(t);
	/* 1.27 reads as 1.24 */
	t = read_text(27, &s, &rc);
	assert_string_equal(t, "{\"handler\":\"leak\", \"route\":\"/leak\"}");
	free(t);
	/* an empty list is an empty set */
	s = (struct golist){ NULL, 0, 0 };
	t = read_text(26, &s, &rc);
	assert_string_equal(t, "{}");
	free(t);
	/* len past cap, no array */
	s = (struct golist){ l, 3, 2 };
	assert_null(read_text(26, &s, &rc));
	assert_int_equal(rc, -EINVAL);
	s = (struct golist){ NULL, 2, 2 };
	assert_null(read_text(26, &s, &rc));
	assert_int_equal(rc, -EINVAL);
}

static void test_bounds(void **state)
{
	(void)state;
	static struct golabel l[100];
	static char keys[100][8];
	static struct golist s;
	struct label *out;
	size_t n;

	/* 100 labels, given from the last key: the first 64 by key kept
	 * (one key with a NUL, "b\0z": cleaned, it sorts first) */
	for (int i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%03d", 99 - i);
		l[i] = (struct golabel){ { keys[i], 4 }, { "v", 1 } };
	}
	/* a long value and a NUL in a key */
	static char big[5000];
	memset(big, 'x', sizeof(big));
	l[0].value = (struct gostr){ big, sizeof(big) };
	l[1].key = (struct gostr){ "b\0z", 3 };
	s = (struct golist){ l, 100, 100 };
	memory_reset(mem);
	assert_int_equal(go_read_labels(mem, 26, (uint64_t)(uintptr_t)&s, &out, &n), 0);
	assert_int_equal(n, LABELS_MAX);
	assert_string_equal(out[0].key, "b\ufffdz");
	assert_string_equal(out[1].key, "k000");
	assert_string_equal(out[63].key, "k062");
	go_labels_free(out, n);
	/* the long value and the NUL, among the 64 when they sort first */
	l[0].key = (struct gostr){ "a", 1 };
	memory_reset(mem);
	assert_int_equal(go_read_labels(mem, 26, (uint64_t)(uintptr_t)&s, &out, &n), 0);
	assert_string_equal(out[0].key, "a");
	assert_int_equal(strlen(out[0].value), LABEL_LEN_MAX);
	bool nul = false;
	for (size_t i = 0; i < n; i++)
		nul |= strcmp(out[i].key, "b\ufffdz") == 0;
	assert_true(nul);
	go_labels_free(out, n);
}

static void test_memo_shares(void **state)
{
	(void)state;
	static struct golabel l[1] = { { { "tenant", 6 }, { "a", 1 } } };
	static struct golist s = { l, 1, 1 };
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct go_runtime rt = { .minor = 26 };
	struct go_labels_memo *m = go_labels_memo_new();

	memory_reset(mem);
	for (int i = 0; i < 3; i++) {
		struct thread *t = snapshot_add_thread(snap);
		t->goid = i + 1;
		t->pooled = t->frames_pooled = true;
		assert_int_equal(go_entry_labels(m, &rt, mem, snap, i < 2 ? (uintptr_t)&s : 0, t), 0);
	}
	assert_true(snap->threads[0].labelled && snap->threads[0].nlabels == 1);
	assert_ptr_equal(snap->threads[0].labels, snap->threads[1].labels);
	assert_false(snap->threads[2].labelled);
	/* an unreadable set: no labels, not an error */
	struct thread *t = snapshot_add_thread(snap);
	t->pooled = true;
	assert_int_equal(go_entry_labels(m, &rt, mem, snap, 8, t), 0);
	assert_false(t->labelled);
	assert_int_equal(go_entry_labels(NULL, &rt, mem, snap, 8, t), -ENOMEM);
	go_labels_memo_free(m);
	snapshot_free(snap);
}

/* ---- the model: JSON, groups, metrics ------------------------------------ */

static struct thread *goroutine(struct snapshot *snap, int64_t goid, const char *set)
{
	struct thread *t = snapshot_add_thread(snap);
	struct frame *f = thread_add_frame(t);

	t->goid = goid;
	t->go_wait = strdup("chan receive");
	t->wait.kind = WAIT_READ;
	f->function = strdup("main.worker");
	f->module = strdup("/bin/leaky");
	f->pc = 0x401000;
	if (set) {
		/* "k=v,k2=v2" */
		char *s = strdup(set), *save, *p;
		t->labelled = true;
		for (p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(p, '=');
			t->labels = realloc(t->labels, (t->nlabels + 1) * sizeof(*t->labels));
			*eq = '\0';
			t->labels[t->nlabels++] = (struct label){ strdup(p), strdup(eq + 1) };
		}
		free(s);
	}
	snap->ngoroutines++;
	return t;
}

static struct snapshot *go_snapshot(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	snap->version = SNAPSHOT_VERSION;
	snap->pid = 42;
	snap->runtime = strdup("go1.26.8");
	snap->exe = strdup("/bin/leaky");
	return snap;
}

static void test_json_round_trip(void **state)
{
	(void)state;
	struct snapshot *snap = go_snapshot();
	goroutine(snap, 1, "tenant=a,job=x");
	goroutine(snap, 2, NULL);
	goroutine(snap, 3, "");
	/* pooled as entries are: the array becomes the pool's */
	assert_int_equal(snapshot_pool_thread(snap, &snap->threads[0]), 0);
	char *json = snapshot_to_json(snap, true);
	assert_non_null(strstr(json, "\"labels\": {\n"));
	char err[256];
	struct snapshot *back = snapshot_from_json(json, strlen(json), err, sizeof(err));
	assert_non_null(back);
	assert_true(back->threads[0].labelled);
	assert_int_equal(back->threads[0].nlabels, 2);
	/* read back sorted */
	assert_string_equal(back->threads[0].labels[0].key, "job");
	assert_string_equal(back->threads[0].labels[1].value, "a");
	assert_false(back->threads[1].labelled);
	assert_true(back->threads[2].labelled);
	assert_int_equal(back->threads[2].nlabels, 0);
	/* the same text again */
	char *again = snapshot_to_json(back, true);
	assert_non_null(again);
	free(again);
	snapshot_free(back);
	free(json);
	snapshot_free(snap);
}

static void test_json_refused(void **state)
{
	(void)state;
	const char *head = "{\"format\":\"threadleak-snapshot\",\"version\":1,\"pid\":1,\"threads\":"
			   "[{\"tid\":0,\"goid\":5,\"frames\":[],\"labels\":";
	char doc[8192], err[256];
	struct snapshot *s;

	snprintf(doc, sizeof(doc), "%s%s}]}", head, "{\"k\":1}");
	assert_null(snapshot_from_json(doc, strlen(doc), err, sizeof(err)));
	assert_non_null(strstr(err, "threads[0].labels.k: expected a string"));
	snprintf(doc, sizeof(doc), "%s%s}]}", head, "[\"k\"]");
	assert_null(snapshot_from_json(doc, strlen(doc), err, sizeof(err)));
	assert_non_null(strstr(err, "labels: expected an object"));
	/* 65 labels */
	size_t len = (size_t)snprintf(doc, sizeof(doc), "%s{", head);
	for (int i = 0; i <= LABELS_MAX; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "%s\"k%d\":\"v\"", i ? "," : "", i);
	snprintf(doc + len, sizeof(doc) - len, "}}]}");
	assert_null(snapshot_from_json(doc, strlen(doc), err, sizeof(err)));
	assert_non_null(strstr(err, "more than 64 labels"));
	snprintf(doc, sizeof(doc), "%s%s}]}", head, "{\"b\":\"2\",\"a\":\"1\"}");
	s = snapshot_from_json(doc, strlen(doc), err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(s->threads[0].labels[0].key, "a");
	snapshot_free(s);
}

static void test_groups_split(void **state)
{
	(void)state;
	struct snapshot *snap = go_snapshot();
	struct grouping g;

	goroutine(snap, 1, "tenant=a");
	goroutine(snap, 2, "tenant=a");
	goroutine(snap, 3, "tenant=b");
	goroutine(snap, 4, NULL);
	goroutine(snap, 5, "");
	for (size_t i = 0; i < snap->nthreads; i++)
		assert_int_equal(snapshot_pool_thread(snap, &snap->threads[i]), 0);
	/* equal sets, one array */
	assert_ptr_equal(snap->threads[0].labels, snap->threads[1].labels);
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 4);
	assert_int_equal(g.groups[0].count, 2);
	assert_non_null(strstr(g.groups[0].signature, "|labels:{\"tenant\":\"a\"}|"));
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_metrics_bounded(void **state)
{
	(void)state;
	struct snapshot *snap = go_snapshot();
	char set[32], *text;
	size_t len;

	/* 12 sets: set i has 20 - i goroutines; and 3 without labels */
	int64_t goid = 1;
	for (int i = 0; i < 12; i++)
		for (int k = 0; k < 20 - i; k++) {
			snprintf(set, sizeof(set), "req=%02d", i);
			goroutine(snap, goid++, set);
		}
	for (int k = 0; k < 3; k++)
		goroutine(snap, goid++, NULL);
	struct metrics_target t = { 42, "leaky", snap, 0.01 };
	assert_int_equal(metrics_render(&t, 1, 100, 1, &text, &len), 0);
	int named = 0;
	for (int i = 0; i < 12; i++) {
		char want[128];
		snprintf(want, sizeof(want), ",pprof_labels=\"{\\\"req\\\":\\\"%02d\\\"}\"} %d\n", i, 20 - i);
		named += strstr(text, want) != NULL;
		if (i < METRICS_LABEL_SETS)
			assert_non_null(strstr(text, want));
	}
	assert_int_equal(named, METRICS_LABEL_SETS);
	/* the 4 smallest sets: 12 + 11 + 10 + 9 */
	assert_non_null(strstr(text, "function=\"main.worker\",pprof_labels=\"other\"} 42\n"));
	assert_non_null(strstr(text, "function=\"main.worker\"} 3\n"));
	free(text);
	snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_as_go),
		cmocka_unit_test(test_text_sorted_as_pprof),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_sort_unique),
		cmocka_unit_test(test_map_buckets),
		cmocka_unit_test(test_map_growing),
		cmocka_unit_test(test_map_hostile),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_memo_shares),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_groups_split),
		cmocka_unit_test(test_metrics_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
