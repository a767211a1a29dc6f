/*
 * render-timeout: the text report of `check --timeout` when the deadline
 * passed, as `go test -timeout` panics with every goroutine: a header,
 * then each process of the command's tree as `threadleak snapshot`
 * shows it (grouped, goroutines first), then how the tree was ended.
 *
 *	threadleak: the command still ran at its deadline (--timeout 5s):
 *	2 processes, 12 threads and 9 goroutines alive, each below
 *
 *	go (pid 4242): go1.26.8, 5 goroutines ...
 *	…
 *	threadleak: timed out after 5s: 2 processes ended with SIGTERM
 *
 * Leaks found before the deadline (processes that exited with threads
 * left) come first, as check reports them.
 */
#include "check/check-timeout.h"
#include "views/render.h"
#include "base/escape.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* As Go prints a time.Duration: "500ms", "3s", "1.5s", "2m0s", "1h0m0s". */
static void go_duration(double sec, char *buf, size_t size)
{
	char s[32];
	int n;

	if (sec < 1) {
		snprintf(buf, size, "%gms", sec * 1000);
		return;
	}
	long whole = (long)sec, h = whole / 3600, m = whole % 3600 / 60;
	snprintf(s, sizeof(s), "%.3f", sec - (double)(whole - whole % 60));
	for (n = (int)strlen(s); s[n - 1] == '0'; n--)
		;	/* "3.000" -> "3", "1.500" -> "1.5" */
	s[s[n - 1] == '.' ? n - 1 : n] = '\0';
	if (h)
		snprintf(buf, size, "%ldh%ldm%ss", h, m, s);
	else if (m)
		snprintf(buf, size, "%ldm%ss", m, s);
	else
		snprintf(buf, size, "%ss", s);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int render_check_timeout(FILE *fp, const struct check_timeout *t,
			 const struct render_options *opt)
{
	size_t threads = 0, goroutines = 0;
	char after[64];

	if (t->c->nreports && render_check(fp, t->c, opt) < 0)
		return -ENOMEM;
	if (t->c->nreports)
		fprintf(fp, "\n");
	for (size_t i = 0; i < t->nsnaps; i++) {
		goroutines += t->snaps[i]->ngoroutines;
		threads += t->snaps[i]->nthreads - t->snaps[i]->ngoroutines;
	}
	fprintf(fp, "threadleak: the command still ran at its deadline (--timeout %s): ",
		esc(t->spelled));
	fprintf(fp, "%zu %s, %zu %s", t->nsnaps, plural(t->nsnaps, "process", "processes"),
		threads, plural(threads, "thread", "threads"));
	if (goroutines)
		fprintf(fp, " and %zu %s", goroutines, plural(goroutines, "goroutine", "goroutines"));
	fprintf(fp, " alive%s\n\n", t->nsnaps ? ", each below" : "");
	for (size_t i = 0; i < t->nsnaps; i++) {
		if (render_snapshot(fp, t->snaps[i], opt) < 0)
			return -ENOMEM;
	}
	go_duration(t->after, after, sizeof(after));
	fprintf(fp, "threadleak: timed out after %s: ", after);
	if (t->dl.ended_by == SIGKILL)
		fprintf(fp, "the command ended with SIGKILL (still running %.0fs after SIGTERM)",
			SUPERVISE_TERM_GRACE);
	else
		fprintf(fp, "the command ended with SIGTERM");
	if (t->dl.left)
		fprintf(fp, "; %zu %s did not end (in the kernel: state D?)", t->dl.left,
			plural(t->dl.left, "process", "processes"));
	fprintf(fp, "\n");
	return ferror(fp) ? -EIO : 0;
}
