/*
 * check-go: Go's part of check; see check-go.h.
 *
 * The blame is read at the final look of an exit with leaks, while the
 * exit is held: the goroutines left are parked (or cannot run), so their
 * g's and ancestors stand still.  It opens its own reader of the
 * process's goroutines (go/testblame.h) rather than keep the capture's:
 * a second read of allgs costs little next to the run of a test binary,
 * and only an exit that leaked pays it.
 */
#include "check/check-go.h"
#include "go/testblame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int check_go_env(void)
{
	const char *cur = getenv("GODEBUG");
	char *val;
	int rc;

	if (cur) {
		/* a setting of it in the list, where Go's parser sees one */
		for (const char *p = cur; (p = strstr(p, "tracebackancestors=")); p++)
			if (p == cur || p[-1] == ',')
				return 0;
	}
	if (asprintf(&val, "%s%stracebackancestors=%d", cur ? cur : "",
		     cur && *cur ? "," : "", CHECK_GO_ANCESTORS) < 0)
		return -ENOMEM;
	rc = setenv("GODEBUG", val, 1) < 0 ? -errno : 0;
	free(val);
	return rc;
}

bool check_go_woken(const struct thread *t)
{
	return t->goid && t->go_wait && strcmp(t->go_wait, "runnable") == 0 &&
	       t->nframes && t->frames[0].function &&
	       (strcmp(t->frames[0].function, "runtime.gopark") == 0 ||
		strcmp(t->frames[0].function, "runtime.goparkunlock") == 0);
}

void check_go_blame_free(struct check_report *r)
{
	for (size_t k = 0; r->blame && r->snap && k < r->snap->nthreads; k++) {
		free(r->blame[k].test);
		free(r->blame[k].sub);
	}
	free(r->blame);
	free(r->package);
	r->blame = NULL;
	r->package = NULL;
}

int check_go_blame(struct check_report *r, int pid)
{
	struct go_blamer *b;
	struct go_test_blame tb;
	char err[256], pkg[512];
	int rc;

	r->blame = calloc(r->snap->nthreads ? r->snap->nthreads : 1, sizeof(*r->blame));
	if (!r->blame)
		return -ENOMEM;
	rc = go_blamer_open(pid, &b, err, sizeof(err));
	if (rc < 0) {
		free(r->blame);
		r->blame = NULL;
		return rc;
	}
	r->ancestry = go_blamer_has_ancestry(b);
	if (go_blamer_package(b, pkg, sizeof(pkg)) == 0)
		r->package = strdup(pkg);
	for (size_t k = 0; k < r->snap->nthreads; k++) {
		const struct thread *t = &r->snap->threads[k];
		if (!t->goid || go_blame(b, t->goid, &tb) < 0 || !tb.test[0])
			continue;
		r->blame[k].test = strdup(tb.test);
		r->blame[k].sub = tb.sub[0] ? strdup(tb.sub) : NULL;
		r->blame[k].by_creator = tb.by_creator;
		/* no build info (before Go 1.20): the tests' package */
		if (!r->package && tb.pkg[0])
			r->package = strdup(tb.pkg);
	}
	go_blamer_close(b);
	return 0;
}

void check_go_blame_json(const struct check_report *r, size_t k, json_t *thread)
{
	const struct check_blame *b = r->blame ? &r->blame[k] : NULL;

	if (!b || !r->snap->threads[k].goid)
		return;
	json_object_set_new(thread, "test", b->test ? json_string(b->test) : json_null());
	if (b->sub)
		json_object_set_new(thread, "subtest_function", json_string(b->sub));
	if (b->test && b->by_creator)
		json_object_set_new(thread, "test_by_creator", json_true());
}

void check_go_report_json(const struct check_report *r, json_t *proc)
{
	json_object_set_new(proc, "woken", json_integer((json_int_t)r->woken));
	if (r->package)
		json_object_set_new(proc, "package", json_string(r->package));
	if (!r->blame)
		return;
	json_t *tests = json_object();
	size_t none = 0;
	for (size_t k = 0; tests && k < r->snap->nthreads; k++) {
		const char *name = r->blame[k].test;
		if (!name) {
			none += r->snap->threads[k].goid != 0;
			continue;
		}
		json_t *v = json_object_get(tests, name);
		json_object_set_new(tests, name,
				    json_integer(v ? json_integer_value(v) + 1 : 1));
	}
	json_object_set_new(proc, "tests", tests ? tests : json_object());
	json_object_set_new(proc, "not_from_a_test", json_integer((json_int_t)none));
	json_object_set_new(proc, "ancestry", json_boolean(r->ancestry));
}
