/*
 * check-timeout: the processes of a command alive at its deadline; see
 * check-timeout.h.
 *
 * The supervisor calls on_deadline() with the tree's live processes,
 * parents first; each is captured in turn (the others run on meanwhile:
 * a snapshot per process, not one instant for the whole tree).  One that
 * ended meanwhile is only counted.  A signal to threadleak during the
 * captures (the capture's own guard, ptrace.h) stops them: what is left
 * is listed from /proc, each thread saying why it has no stack.
 */
#include "check/check-timeout.h"
#include "capture/capture.h"
#include "target/proc.h"
#include "target/ptrace.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void on_deadline(void *arg, const int *pids, size_t npids)
{
	struct check_timeout *t = arg;
	struct capture_options opt = {
		.stop_timeout = 1.0,
		.no_goroutines = t->c && t->c->goroutines == CHECK_GO_NONE,
	};
	char err[512], why[600];

	for (size_t i = 0; i < npids; i++) {
		struct snapshot *snap = NULL;
		int rc = -EINTR;

		snprintf(err, sizeof(err), "threadleak was interrupted");
		if (!pt_interrupted())
			rc = capture_snapshot(pids[i], &opt, &snap, err, sizeof(err));
		if (rc == -ESRCH) {
			t->gone++;	/* ended since the tree was listed */
			continue;
		}
		if (rc < 0) {
			snprintf(why, sizeof(why), "stack not captured: %s", err);
			snap = capture_listed_only(pids[i], why);
			if (!snap) {
				t->gone++;
				continue;
			}
		}
		if (grow_array(&t->snaps, &t->scap, t->nsnaps + 1, sizeof(*t->snaps)) < 0) {
			snapshot_free(snap);
			continue;
		}
		t->snaps[t->nsnaps++] = snap;
	}
}

void check_timeout_arm(struct check_timeout *t, struct check *c,
		       double after, const char *spelled)
{
	memset(t, 0, sizeof(*t));
	t->after = after;
	t->spelled = spelled;
	t->c = c;
	t->dl.after = after;
	t->dl.reached = on_deadline;
	t->dl.arg = t;
	c->deadline = after > 0 ? &t->dl : NULL;
}

void check_timeout_free(struct check_timeout *t)
{
	for (size_t i = 0; i < t->nsnaps; i++)
		snapshot_free(t->snaps[i]);
	free(t->snaps);
	t->snaps = NULL;
	t->nsnaps = t->scap = 0;
}

/* ---- JSON ---- */

int check_timeout_write_json(const struct check_timeout *t, FILE *fp, int status)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	json_t *doc = NULL, *procs, *to;
	int rc = -ENOMEM;

	if (!mem)
		return -errno;
	rc = check_write_json(t->c, mem, status);
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	doc = json_loads(text, 0, NULL);
	procs = json_array();
	to = json_object();
	if (!doc || !procs || !to) {
		json_decref(procs);
		json_decref(to);
		goto out;
	}
	for (size_t i = 0; i < t->nsnaps; i++) {
		char *s = snapshot_to_json(t->snaps[i], false);
		json_t *snap = s ? json_loads(s, 0, NULL) : NULL;
		free(s);
		if (snap)
			json_array_append_new(procs, snap);
	}
	json_object_set_new(to, "after_sec", json_real(t->after));
	json_object_set_new(to, "duration", json_string(t->spelled ? t->spelled : ""));
	json_object_set_new(to, "ended_by", json_string(t->dl.ended_by == SIGKILL ? "SIGKILL" :
							"SIGTERM"));
	json_object_set_new(to, "not_ended", json_integer((json_int_t)t->dl.left));
	json_object_set_new(to, "processes", procs);
	json_object_set_new(doc, "timeout", to);
	rc = json_dumpf(doc, fp, JSON_INDENT(2)) < 0 || fputc('\n', fp) == EOF ? -EIO : 0;
out:
	json_decref(doc);
	free(text);
	return rc;
}
