/*
 * Unit tests for src/export: keytab's numbering, the Prometheus
 * exposition (series summed by labels, cut at max_groups into "other",
 * hostile names escaped), folded stacks (root first, the wait as leaf, no
 * ';' or control byte from a name) and the pprof profile, read back with
 * zlib and protobuf-c (string 0 empty, one sample per group, an inline
 * chain as the lines of one location, the mapping's build id), Go's
 * goroutine texts and serve's index page (hostile names escaped).
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
#include <zlib.h>

#include "export/folded.h"
#include "export/gotext.h"
#include "export/index.h"
#include "export/keytab.h"
#include "export/metrics.h"
#include "export/pprof.h"
#include "profile.pb-c.h"

static struct frame *add_frame(struct thread *t, const char *module, const char *fn,
			       uint64_t pc, bool inlined)
{
	struct frame *f = thread_add_frame(t);

	assert_non_null(f);
	f->module = module ? strdup(module) : NULL;
	f->function = fn ? strdup(fn) : NULL;
	f->file = strdup("p.c");
	f->line = 7;
	f->pc = pc;
	f->offset = pc - 0x1000;
	f->inlined = inlined;
	return f;
}

/* n threads named name in fn (called from start_thread), waiting kind. */
static void add_threads(struct snapshot *snap, int n, const char *name, const char *fn,
			enum wait_kind kind)
{
	static int tid = 100;

	for (int i = 0; i < n; i++) {
		struct thread *t = snapshot_add_thread(snap);
		assert_non_null(t);
		t->tid = ++tid;
		t->state = 'S';
		thread_os(t)->name = strdup(name);
		t->wait.kind = kind;
		t->wait.blocked_sec = 3.0;
		add_frame(t, "/lib/libc.so.6", "futex_wait", 0x1010, true);
		add_frame(t, "/lib/libc.so.6", "__lll_lock_wait", 0x1010, false);
		add_frame(t, "/bin/p", fn, 0x1200 + strlen(fn), false);	/* a pc of its own */
		add_frame(t, "/lib/libc.so.6", "start_thread", 0x1300, false);
	}
}

static struct snapshot *new_snapshot(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION;
	snap->pid = 42;
	snap->comm = strdup("p");
	snap->exe = strdup("/bin/p");
	snap->modules = calloc(2, sizeof(*snap->modules));
	assert_non_null(snap->modules);
	snap->modules[0] = (struct module_info){ strdup("/bin/p"), strdup("abcdef01"), 0x1000, 0x9000 };
	snap->modules[1] = (struct module_info){ strdup("/lib/libc.so.6"), NULL, 0x1000, 0x9000 };
	snap->nmodules = 2;
	return snap;
}

static void test_keytab_numbers_once(void **state)
{
	struct keytab t = { 0 };
	char key[32];
	int added;

	(void)state;
	assert_int_equal(keytab_id(&t, "a\0b", 3, &added), 1);
	assert_true(added);
	assert_int_equal(keytab_id(&t, "a\0c", 3, &added), 2);
	assert_int_equal(keytab_id(&t, "a\0b", 3, &added), 1);
	assert_false(added);
	assert_int_equal(keytab_id(&t, "a", 1, NULL), 3);	/* a prefix is another key */
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(keytab_id(&t, key, (size_t)n, NULL), 4 + i);
	}
	for (int i = 0; i < 5000; i += 97) {
		int n = snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(keytab_id(&t, key, (size_t)n, NULL), 4 + i);
		assert_string_equal(keytab_key(&t, 4 + i), key);
	}
	keytab_free(&t);
}

static char *render(struct snapshot *snap, size_t max_groups)
{
	struct metrics_target targets[2] = {
		{ 42, "p", snap, 0.25 },
		{ 43, "gone", NULL, 0 },
	};
	char *text;
	size_t len;

	assert_int_equal(metrics_render(targets, 2, max_groups, 7, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_metrics_series_and_other(void **state)
{
	struct snapshot *snap = new_snapshot();
	(void)state;

	add_threads(snap, 5, "w", "worker", WAIT_MUTEX);
	add_threads(snap, 3, "x", "other_fn", WAIT_MUTEX);
	add_threads(snap, 2, "y", "third", WAIT_MUTEX);
	char *text = render(snap, 2);
	assert_non_null(strstr(text, "# TYPE threadleak_group_count gauge\n"));
	assert_non_null(strstr(text, "threadleak_refreshes_total 7\n"));
	assert_non_null(strstr(text, "threadleak_up{pid=\"42\",comm=\"p\"} 1\n"));
	assert_non_null(strstr(text, "threadleak_up{pid=\"43\",comm=\"gone\"} 0\n"));
	assert_null(strstr(text, "threadleak_threads{pid=\"43\""));
	assert_non_null(strstr(text, "threadleak_threads{pid=\"42\",comm=\"p\"} 10\n"));
	assert_non_null(strstr(text,
		"threadleak_group_count{pid=\"42\",comm=\"p\",entry=\"thread\",kind=\"mutex\",function=\"worker\"} 5\n"
		"threadleak_group_count{pid=\"42\",comm=\"p\",entry=\"thread\",kind=\"mutex\",function=\"other_fn\"} 3\n"
		"threadleak_group_count{pid=\"42\",comm=\"p\",entry=\"other\",kind=\"other\",function=\"other\"} 2\n"));
	assert_null(strstr(text, "third"));
	free(text);
	snapshot_free(snap);
}

static void test_metrics_sums_equal_labels(void **state)
{
	struct snapshot *snap = new_snapshot();
	(void)state;

	/* two stacks (another caller below worker), one label set */
	add_threads(snap, 2, "w", "worker", WAIT_MUTEX);
	add_threads(snap, 3, "w", "worker", WAIT_MUTEX);
	snap->threads[4].frames[3].function[0] = 'S';
	char *text = render(snap, 20);
	assert_non_null(strstr(text, "function=\"worker\"} 5\n"));
	free(text);
	snapshot_free(snap);
}

/* Where a process runs labels every series of it: the container's runtime
 * and short id, the pod, the unit; an empty one is no label. */
static void test_metrics_where(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct cgroup_info docker, unit;
	struct metrics_target targets[3] = {
		{ 42, "p", snap, 0, &docker },
		{ 43, "q", NULL, 0, &unit },
		{ 44, "r", NULL, 0, NULL },
	};
	char *text;
	size_t len;
	(void)state;

	assert_int_equal(cgroup_parse_path("/kubepods.slice/kubepods-pod8a6c1d2e_3f40_4b5c_9d6e_"
					   "7f8091a2b3c4.slice/cri-containerd-3f2a9c1b7e6d5a4f3e2d1c0b9a8f7e6d"
					   "5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09.scope", &docker), 0);
	assert_int_equal(cgroup_parse_path("/system.slice/nginx.service", &unit), 0);
	add_threads(snap, 2, "w", "worker", WAIT_MUTEX);
	assert_int_equal(metrics_render(targets, 3, 20, 1, &text, &len), 0);
	assert_non_null(strstr(text, "threadleak_threads{pid=\"42\",comm=\"p\",container_runtime="
				"\"containerd\",container_id=\"3f2a9c1b7e6d\",pod_uid=\"8a6c1d2e-3f40-"
				"4b5c-9d6e-7f8091a2b3c4\"} 2\n"));
	assert_non_null(strstr(text, "pod_uid=\"8a6c1d2e-3f40-4b5c-9d6e-7f8091a2b3c4\",entry=\"thread\""));
	assert_non_null(strstr(text, "threadleak_up{pid=\"43\",comm=\"q\",unit=\"nginx.service\"} 0\n"));
	assert_non_null(strstr(text, "threadleak_up{pid=\"44\",comm=\"r\"} 0\n"));
	free(text);
	snapshot_free(snap);
}

static void test_metrics_escapes(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct metrics_target target = { 42, "a\"b\\c\nd\x01\xff", snap, 0 };
	char *text;
	size_t len;
	(void)state;

	add_threads(snap, 1, "w", "f\"n\\x\ny\x7f", WAIT_MUTEX);
	assert_int_equal(metrics_render(&target, 1, 20, 1, &text, &len), 0);
	assert_non_null(strstr(text, "comm=\"a\\\"b\\\\c\\nd??\""));
	assert_non_null(strstr(text, "function=\"f\\\"n\\\\x\\ny?\""));
	for (size_t i = 0; i < len; i++)
		assert_true(text[i] == '\n' || (unsigned char)text[i] >= ' ');
	free(text);
	snapshot_free(snap);
}

static char *folded(struct snapshot *snap)
{
	char *text = NULL;
	size_t len;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	assert_int_equal(export_folded(snap, fp), 0);
	fclose(fp);
	return text;
}

static void test_folded_root_first_wait_leaf(void **state)
{
	struct snapshot *snap = new_snapshot();
	(void)state;

	add_threads(snap, 4, "w", "wor;ker\x1b[2J", WAIT_CONDVAR);
	char *text = folded(snap);
	assert_string_equal(text, "start_thread;wor:ker\\x1b[2J;__lll_lock_wait;futex_wait;[condvar] 4\n");
	free(text);
	snapshot_free(snap);
}

static void test_folded_goroutine(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct thread *t;
	(void)state;

	snap->ngoroutines = 1;
	t = snapshot_add_thread(snap);
	t->goid = 7;
	t->go_wait = strdup("chan receive");
	t->wait.kind = WAIT_READ;
	add_frame(t, "/bin/p", "runtime.gopark", 0x1100, false);
	add_frame(t, "/bin/p", "main.f", 0x1200, false);
	add_frame(t, "/bin/p", "runtime.goexit", 0x1300, false);
	char *text = folded(snap);
	assert_string_equal(text, "main.f;runtime.gopark;[chan receive] 1\n");
	free(text);
	snapshot_free(snap);
}

static char *gotext(struct snapshot *snap, int debug)
{
	char *text = NULL;
	size_t len;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	assert_int_equal(export_gotext(snap, debug, fp), 0);
	fclose(fp);
	return text;
}

/* No control byte but newlines (and tabs, where Go has them). */
static void assert_printable(const char *text, bool tabs)
{
	for (const char *c = text; *c; c++)
		assert_true(*c == '\n' || (tabs && *c == '\t') ||
			    ((unsigned char)*c >= ' ' && *c != 0x7f));
}

static void test_gotext_threads(void **state)
{
	struct snapshot *snap = new_snapshot();
	(void)state;

	add_threads(snap, 3, "w\x1b]0;x\x07", "wor\nker\x1b[2J", WAIT_CONDVAR);
	add_threads(snap, 1, "main", "main_wait", WAIT_SIGNAL);
	char *t1 = gotext(snap, 1), *t2 = gotext(snap, 2);
	/* debug=1: the largest stack first, its frames under it (the inline
	 * frame's pc once in the "@" line) */
	assert_string_equal(t1, "thread profile: total 4\n"
			    "3 @ 0x1010 0x120b 0x1300\n"
			    "#\t0x1010\tfutex_wait\tp.c:7\n"
			    "#\t0x1010\t__lll_lock_wait\tp.c:7\n"
			    "#\t0x120b\twor\\x0aker\\x1b[2J\tp.c:7\n"
			    "#\t0x1300\tstart_thread\tp.c:7\n\n"
			    "1 @ 0x1010 0x1209 0x1300\n"
			    "#\t0x1010\tfutex_wait\tp.c:7\n"
			    "#\t0x1010\t__lll_lock_wait\tp.c:7\n"
			    "#\t0x1209\tmain_wait\tp.c:7\n"
			    "#\t0x1300\tstart_thread\tp.c:7\n\n");
	/* debug=2: each thread, its name and wait, its frames */
	assert_non_null(strstr(t2, " \"w\\x1b]0;x\\x07\" [condvar]:\nfutex_wait(...)\n\tp.c:7\n"
				   "__lll_lock_wait(...)\n\tp.c:7\n"
				   "wor\\x0aker\\x1b[2J(...)\n\tp.c:7\n"));
	assert_non_null(strstr(t2, " \"main\" [signal]:\n"));
	assert_printable(t1, true);
	assert_printable(t2, true);
	free(t1);
	free(t2);
	snapshot_free(snap);
}

static void test_gotext_goroutine(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct thread *t;
	(void)state;

	snap->ngoroutines = 1;
	t = snapshot_add_thread(snap);
	t->goid = 7;
	t->go_wait = strdup("chan receive");
	t->go_minutes = 12;
	t->go_parent = 1;
	t->wait.kind = WAIT_READ;
	add_frame(t, "/bin/p", "runtime.gopark", 0x1100, false);
	add_frame(t, "/bin/p", "main.f", 0x1200, false);
	t->frames[1].file = (free(t->frames[1].file), NULL);	/* no file: "?:0" */
	t->created = calloc(1, sizeof(*t->created));
	assert_non_null(t->created);
	t->created[0].function = strdup("main.main");
	t->created[0].file = strdup("main.go");
	t->created[0].line = 25;
	t->ncreated = 1;
	char *t2 = gotext(snap, 2);
	assert_string_equal(t2, "goroutine 7 [chan receive, 12 minutes]:\n"
			    "runtime.gopark(...)\n\tp.c:7\nmain.f(...)\n\t?:0\n"
			    "created by main.main in goroutine 1\n\tmain.go:25\n\n");
	char *t1 = gotext(snap, 1);
	assert_string_equal(t1, "goroutine profile: total 1\n1 @ 0x1100 0x1200\n"
			    "#\t0x1100\truntime.gopark\tp.c:7\n#\t0x1200\tmain.f\t?:0\n\n");
	assert_int_equal(export_gotext(snap, 3, stdout), -EINVAL);
	free(t1);
	free(t2);
	snapshot_free(snap);
}

static void test_index_escapes(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct metrics_target targets[2] = {
		{ 42, "<b>\"a&b'\x1b[2J", snap, 0.0125, NULL },
		{ 43, "gone", NULL, 0, NULL },
	};
	char *text;
	size_t len;
	(void)state;

	add_threads(snap, 2, "w", "f", WAIT_MUTEX);
	assert_int_equal(index_render(targets, 2, 15, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "<tr><td>42</td><td>&lt;b&gt;&quot;a&amp;b&#39;\\x1b[2J</td><td></td>"
				     "<td>2</td><td></td><td>12.5 ms</td>"));
	assert_non_null(strstr(text, "href=\"/debug/pprof/goroutine?pid=42&amp;debug=2\""));
	assert_non_null(strstr(text, "<tr><td>43</td><td>gone</td><td></td><td colspan=\"4\">no capture"));
	assert_null(strstr(text, "<b>"));
	assert_printable(text, false);
	free(text);
	snapshot_free(snap);
}

/* The profile export_pprof writes, gunzipped and unpacked. */
static Perftools__Profiles__Profile *profile_of(struct snapshot *snap)
{
	char *gz = NULL;
	size_t gzlen;
	FILE *fp = open_memstream(&gz, &gzlen);
	static unsigned char raw[1 << 20];
	z_stream z = { 0 };

	assert_non_null(fp);
	assert_int_equal(export_pprof(snap, fp), 0);
	fclose(fp);
	assert_true(gzlen > 2 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)gz;
	z.avail_in = (unsigned)gzlen;
	z.next_out = raw;
	z.avail_out = sizeof(raw);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = sizeof(raw) - z.avail_out;
	inflateEnd(&z);
	free(gz);
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, len, raw);
	assert_non_null(p);
	return p;
}

static const char *label_str(const Perftools__Profiles__Profile *p,
			     const Perftools__Profiles__Sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (strcmp(p->string_table[s->label[i]->key], key) == 0)
			return p->string_table[s->label[i]->str];
	return NULL;
}

static void test_pprof_profile(void **state)
{
	struct snapshot *snap = new_snapshot();
	(void)state;

	add_threads(snap, 5, "w", "worker", WAIT_MUTEX);
	add_threads(snap, 2, "v", "other_fn", WAIT_CONDVAR);
	Perftools__Profiles__Profile *p = profile_of(snap);
	assert_string_equal(p->string_table[0], "");
	assert_int_equal(p->n_sample_type, 1);
	assert_string_equal(p->string_table[p->sample_type[0]->type], "thread");
	assert_string_equal(p->string_table[p->sample_type[0]->unit], "count");
	assert_int_equal(p->n_sample, 2);
	const Perftools__Profiles__Sample *s = p->sample[0];
	assert_int_equal(s->value[0], 5);
	assert_string_equal(label_str(p, s, "wait"), "mutex");
	assert_string_equal(label_str(p, s, "thread"), "w");
	/* four frames, the first two one pc: three locations */
	assert_int_equal(s->n_location_id, 3);
	const Perftools__Profiles__Location *loc = p->location[s->location_id[0] - 1];
	assert_int_equal(loc->id, s->location_id[0]);
	assert_int_equal(loc->n_line, 2);
	assert_string_equal(p->string_table[p->function[loc->line[0]->function_id - 1]->name],
			    "futex_wait");
	assert_string_equal(p->string_table[p->function[loc->line[1]->function_id - 1]->name],
			    "__lll_lock_wait");
	/* the executable's mapping first, with its build id */
	assert_true(p->n_mapping == 2);
	assert_string_equal(p->string_table[p->mapping[0]->filename], "/bin/p");
	assert_string_equal(p->string_table[p->mapping[0]->build_id], "abcdef01");
	assert_int_equal(p->mapping[0]->memory_start, 0x1000);
	/* the same pcs in the second group: the same locations, not new */
	assert_int_equal(p->n_location, 4);
	perftools__profiles__profile__free_unpacked(p, NULL);
	snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keytab_numbers_once),
		cmocka_unit_test(test_metrics_series_and_other),
		cmocka_unit_test(test_metrics_sums_equal_labels),
		cmocka_unit_test(test_metrics_where),
		cmocka_unit_test(test_metrics_escapes),
		cmocka_unit_test(test_folded_root_first_wait_leaf),
		cmocka_unit_test(test_folded_goroutine),
		cmocka_unit_test(test_pprof_profile),
		cmocka_unit_test(test_gotext_threads),
		cmocka_unit_test(test_gotext_goroutine),
		cmocka_unit_test(test_index_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
