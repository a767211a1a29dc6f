/*
 * top: `threadleak top [options] PID` — a live view of the groups of a
 * process's threads: the loop of htop (refresh on a timer, read keys with a
 * timeout) around a capture session (capture.h: each refresh captures only
 * threads that changed), the watch model (watch.h) and either the
 * interactive screen (tui.h) or, with -b, text frames on stdout
 * (render_watch).
 */
#include "cmd.h"
#include "base/escape.h"
#include "capture/capture.h"
#include "base/outfile.h"
#include "target/proc.h"
#include "target/ptrace.h"
#include "views/render.h"
#include "views/tui.h"
#include "base/util.h"
#include "views/watch.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct top {
	int pid;
	bool batch;
	long iterations;	/* 0: until quit or the target exits */
	double interval;
	int sort;		/* enum watch_sort */
	const char *color;
	const char *save_dir;
	struct capture_options copt;
};

static const char head[] = "usage: threadleak top [OPTIONS] PID\n\n";
static const char tail[] =
	"\n"
	"keys: q quit, s save a snapshot, Enter a group's stack and threads,\n"
	"      c/g/u sort by count/growth/cpu, p pause, +/- refresh interval, h help\n";
static const char *const sorts[] = {
	[WATCH_SORT_COUNT] = "count", [WATCH_SORT_GROWTH] = "growth", [WATCH_SORT_CPU] = "cpu", NULL
};

static int parse_args(int argc, char **argv, struct top *t)
{
	const struct opt opts[] = {
		{ "batch", 'b', OPT_TRUE, &t->batch, NULL, "text frames on stdout instead of the interactive view" },
		{ "iterations", 'n', OPT_LONG, &t->iterations, "N", "stop after N refreshes (default: until quit, or until\n"
		  "the process exits)", "-n wants a number of refreshes, 1 or more, not '%s'", 1, LONG_MAX },
		{ "delay", 'd', OPT_SECONDS, &t->interval, "SEC", "seconds between refreshes (default 1)",
		  "-d wants seconds between refreshes, 0.1 to 3600, not '%s'", 0.1, 3600 },
		{ "sort", 's', OPT_ENUM, &t->sort, "KEY", "growth (default), count or cpu",
		  "--sort wants growth, count or cpu, not '%s'", .names = sorts },
		{ "save-dir", 0, OPT_STRING, &t->save_dir, "DIR", "where the 's' key saves snapshots (default .)" },
		{ "unwinder", 'u', OPT_UNWINDER, &t->copt.unwinder, "NAME", "libdw (default) or libunwind" },
		{ "no-python", 0, OPT_TRUE, &t->copt.no_python, NULL, "a Python program's C frames as they are, without\n"
		  "its Python frames in place of the interpreter's" },
		{ "timeout", 0, OPT_SECONDS, &t->copt.stop_timeout, "SEC", "how long to wait for a thread to stop (default 1)",
		  "--timeout wants seconds, e.g. 0.5, not '%s'", 0.001, 3600 },
		{ "color", 0, OPT_COLOR, &t->color, "WHEN", "batch: auto (default), always or never", .alias = "colour" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	const struct opts_command cmd = { "top", head, tail, 24, false, opts };
	int rc = opts_parse(&cmd, argc, argv);

	if (rc == OPTS_GO_ON)
		rc = opts_one_pid(&cmd, argc, argv, &t->pid);
	return rc;
}

/* 's': the current snapshot into DIR/threadleak-PID-YYYYmmdd-HHMMSS.json. */
static void save(const struct top *t, const struct snapshot *snap,
		 struct tui_state *st)
{
	char path[4096], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(path, sizeof(path), "%s/threadleak-%d-%s.json",
		 t->save_dir ? t->save_dir : ".", t->pid, stamp);
	struct out_file of;
	char err[512];
	int rc = out_file_open(&of, path, err, sizeof(err));
	if (rc == 0) {
		rc = snapshot_write_file(snap, of.fp);
		if (rc < 0) {
			out_file_abort(&of);
			snprintf(err, sizeof(err), "cannot write %.160s: %s", path, strerror(-rc));
		} else {
			rc = out_file_commit(&of, err, sizeof(err));
		}
	}
	if (rc < 0)
		snprintf(st->message, sizeof(st->message), "%.200s", err);
	else	/* a long directory shows cut: the file name is at its end */
		snprintf(st->message, sizeof(st->message),
			 "saved %.160s; compare later: threadleak diff FILE %d",
			 path_base(path), t->pid);
}

static int capture_error(int rc, const char *err)
{
	errorf("%s", err);
	if (rc == -EINTR) {
		int sig = pt_interrupted();
		return 128 + (sig ? sig : SIGINT);
	}
	return EXIT_ERROR;
}

int cmd_top(int argc, char **argv)
{
	struct top t = { .interval = 1.0, .sort = WATCH_SORT_GROWTH,
			 .copt = { .stop_timeout = 1.0, .lazy_blocked = true } };
	struct capture_session *session = NULL;
	struct watch *w = NULL;
	struct tui *tui = NULL;
	struct tui_state st = { 0 };
	char err[512];
	int rc = parse_args(argc, argv, &t);

	if (rc >= 0)
		return rc;
	if (!t.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		errorf("top needs a terminal for its interactive view; use -b for text frames");
		return EXIT_USAGE;
	}
	rc = capture_session_open(t.pid, &t.copt, &session, err, sizeof(err));
	if (rc < 0)
		return capture_error(rc, err);
	w = watch_new();
	if (!w) {
		errorf("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	w->sort = t.sort;
	st.pid = t.pid;
	st.interval = t.interval;

	struct render_options ropt = { .color = want_color(t.color) };
	const struct snapshot *snap = NULL;
	char comm[64] = "?";
	double started = now_sec();
	int exited = 0;
	struct proc_stat ps;

	/* Named now: a process that exits before the first capture still
	 * gets its name in the exit line. */
	if (proc_read_stat(t.pid, t.pid, &ps) == 0)
		snprintf(comm, sizeof(comm), "%s", ps.comm);

	for (long i = 0;; i++) {
		double began = now_sec(), cpu0 = cpu_sec();
		rc = capture_session_refresh(session, &snap, err, sizeof(err));
		/* The process watched is gone, or runs another program:
		 * either ends what there was to watch (exit 0). */
		if (rc == -ESRCH || rc == -ESTALE) {
			exited = rc == -ESRCH ? 1 : 2;
			break;
		}
		if (rc < 0) {
			if (tui && rc == -EINTR) {
				rc = EXIT_OK;	/* Ctrl-C is how one leaves the view */
				break;
			}
			tui_close(tui);
			tui = NULL;
			rc = capture_error(rc, err);
			goto out;
		}
		snprintf(comm, sizeof(comm), "%s", snap->comm ? snap->comm : "?");
		if ((capture_session_unchanged(session) ? watch_again(w, began) :
		     watch_update(w, snap, began)) < 0) {
			tui_close(tui);
			tui = NULL;
			errorf("out of memory");
			rc = EXIT_ERROR;
			goto out;
		}
		if (t.batch) {
			render_watch(stdout, w, capture_session_recaptured(session),
				     (cpu_sec() - cpu0) * 1000.0, &ropt);
			if (fflush(stdout) != 0)
				break;	/* main reports the write error */
		} else {
			if (!tui) {
				tui = tui_open(err, sizeof(err));
				if (!tui) {
					errorf("%s; use -b for text frames", err);
					rc = EXIT_ERROR;
					goto out;
				}
			}
			/* The detail view lists every thread's wait. */
			if (tui_in_detail(tui) && capture_session_complete(session))
				watch_waits_read(w);
			st.capture_ms = snap->capture_ms;
			st.recaptured = capture_session_recaptured(session);
			tui_draw(tui, w, &st);
		}
		if (t.iterations && i + 1 >= t.iterations) {
			rc = EXIT_OK;
			break;
		}
		if (t.batch) {
			if (!cmd_sleep_until(began + t.interval)) {
				rc = -EINTR;
				break;
			}
			continue;
		}
		enum tui_event ev;
		while ((ev = tui_wait(tui, w, &st, began + st.interval)) == TUI_SAVE ||
		       ev == TUI_DETAIL) {
			if (capture_session_complete(session))
				watch_waits_read(w);
			if (ev == TUI_SAVE)
				save(&t, snap, &st);
			else
				tui_draw(tui, w, &st);
		}
		if (ev == TUI_QUIT) {
			rc = EXIT_OK;
			break;
		}
	}
	tui_close(tui);
	tui = NULL;
	if (exited) {
		fprintf(stderr, "threadleak: process %d (%s) %s; watched it for %.1fs, %d sample%s\n",
			t.pid, esc(comm), exited == 1 ? "exited" : "runs another program now (exec)",
			now_sec() - started, w->samples, w->samples == 1 ? "" : "s");
		rc = EXIT_OK;
	} else if (rc == -EINTR) {
		int sig = pt_interrupted();
		rc = 128 + (sig ? sig : SIGINT);
	}
out:
	tui_close(tui);
	watch_free(w);
	capture_session_close(session);
	return rc;
}
