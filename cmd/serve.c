/*
 * serve: `threadleak serve --listen ADDR [PID...] [--match REGEX]` — a
 * Prometheus exporter, and pprof's goroutine endpoint for each process.
 * Every interval it refreshes a capture session per process (as top does:
 * stop-free, only the threads that ran captured again), renders the
 * metrics and the index page once (export/metrics.h, export/index.h) and
 * hands them to the HTTP server (export/http.h), which serves them to
 * every request until the next refresh: a scrape never costs a capture.
 * A profile (/debug/pprof/goroutine?pid=PID[&debug=1|2]) is made from the
 * process's last capture when asked, on this thread, between captures and
 * while it waits for the next refresh (the server queues the request).
 *
 * With --match, the processes whose name (comm), container, unit, pod or
 * cgroup match (one regex per key, all given must match) are looked for
 * again at each refresh: new ones are watched, those that exited dropped.
 * Where a process runs (model/cgroup.h) labels its series: the last
 * snapshot's, kept while a capture fails.
 * A process that cannot be captured (no permission, a kernel thread,
 * another tracer) is said once on stderr and left out.  Once its port is
 * bound, serve keeps only the capabilities reading processes takes
 * (target/privilege.h), and says which of them it lacks.  Without --match,
 * serve ends when no PID it was given is left: exit 0 when they exited,
 * 2 when none could be captured.  SIGINT, SIGTERM or SIGHUP end it with 0.
 */
#include "cmd.h"
#include "capture/capture.h"
#include "target/privilege.h"
#include "target/proc.h"
#include "target/ptrace.h"
#include "base/escape.h"
#include "base/util.h"
#include "export/gotext.h"
#include "export/http.h"
#include "export/index.h"
#include "export/metrics.h"
#include "export/pprof.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TARGETS 4096

/* --match's keys: what a regex is matched against. */
enum match_key { MATCH_COMM, MATCH_CONTAINER, MATCH_UNIT, MATCH_POD, MATCH_CGROUP, MATCH__COUNT };
static const char *const match_keys[MATCH__COUNT] = { "comm", "container", "unit", "pod", "cgroup" };

struct target {
	int pid;
	char comm[64];
	struct cgroup_info where;	/* the last snapshot's (or scan's) */
	struct capture_session *session;
	const struct snapshot *snap;	/* the session's last, or NULL */
	double capture_sec;
	bool given;			/* a PID of the command line */
	bool gone;			/* exited: dropped after this refresh */
	bool refused;			/* cannot be captured: said once,
					   then left out while it lives */
	bool seen;			/* matched in this refresh's scan */
};

struct serve {
	const char *listen;
	double interval;
	double request_timeout;		/* a client's to send its request */
	long groups;
	bool have_match;		/* some --match */
	bool have[MATCH__COUNT];	/* --match KEY=REGEX, by key */
	regex_t match[MATCH__COUNT];
	struct capture_options copt;
	struct target *t;
	size_t n;
	unsigned long refreshes;
	size_t closed;			/* sessions closed since the last trim */
	bool watched;			/* some process was captured */
};

static const char head[] =
	"usage: threadleak serve --listen ADDR [OPTIONS] [PID...]\n"
	"\n"
	"Serves /metrics for Prometheus: per process its threads, goroutines and\n"
	"the largest groups of them by wait and function, refreshed every interval.\n"
	"\n";

#define STR_(x) #x
#define STR(x) STR_(x)

/* --match [KEY=]REGEX: once per key (a regex can say a|b), compiled
 * into o->dest's serve; no known KEY= before it: comm's. */
static int set_match(const struct opt *o, const char *arg)
{
	struct serve *s = o->dest;
	enum match_key k = MATCH_COMM;
	const char *re = arg;

	for (int i = 0; i < MATCH__COUNT; i++) {
		size_t n = strlen(match_keys[i]);
		if (strncmp(arg, match_keys[i], n) == 0 && arg[n] == '=') {
			k = (enum match_key)i;
			re = arg + n + 1;
			break;
		}
	}
	if (s->have[k]) {
		errorf("give --match %s= once (REGEX can say a|b)", match_keys[k]);
		return EXIT_USAGE;
	}
	if (regcomp(&s->match[k], re, REG_EXTENDED | REG_NOSUB) != 0) {
		errorf("--match: '%s' is not an extended regular expression", re);
		return EXIT_USAGE;
	}
	s->have[k] = s->have_match = true;
	return OPTS_GO_ON;
}

/* Whether re matches v; an absent value (none, "") matches nothing. */
static bool match_one(const regex_t *re, const char *v)
{
	return v && v[0] && regexec(re, v, 0, NULL, 0) == 0;
}

/* Whether pid (named comm) matches every --match given; reads where it
 * runs into *w when a key needs it. */
static bool matches(struct serve *s, int pid, const char *comm, struct cgroup_info *w)
{
	char shortid[CONTAINER_SHORT_ID + 1];

	if (s->have[MATCH_COMM] && !match_one(&s->match[MATCH_COMM], comm))
		return false;
	if (!s->have[MATCH_CONTAINER] && !s->have[MATCH_UNIT] && !s->have[MATCH_POD] &&
	    !s->have[MATCH_CGROUP])
		return true;
	if (proc_read_cgroup(pid, w) < 0)
		return false;
	snprintf(shortid, sizeof(shortid), "%.*s", CONTAINER_SHORT_ID, w->id);
	return (!s->have[MATCH_CONTAINER] || match_one(&s->match[MATCH_CONTAINER], w->id) ||
		match_one(&s->match[MATCH_CONTAINER], shortid) ||
		match_one(&s->match[MATCH_CONTAINER], w->runtime)) &&
	       (!s->have[MATCH_UNIT] || match_one(&s->match[MATCH_UNIT], w->unit)) &&
	       (!s->have[MATCH_POD] || match_one(&s->match[MATCH_POD], w->pod_uid)) &&
	       (!s->have[MATCH_CGROUP] || match_one(&s->match[MATCH_CGROUP], w->path));
}

static struct target *find(struct serve *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].pid == pid)
			return &s->t[i];
	return NULL;
}

static int parse_args(int argc, char **argv, struct serve *s)
{
	const struct opt opts[] = {
		{ "listen", 'l', OPT_STRING, &s->listen, "ADDR", "HOST:PORT, [IPV6]:PORT or :PORT (every address)" },
		{ "match", 'm', OPT_CALL, s, "REGEX", "also every process whose name matches (extended\n"
		  "regex on /proc/PID/comm), looked for at each refresh;\n"
		  "KEY=REGEX: whose KEY matches, KEY one of container (its\n"
		  "id, full or short, or runtime), unit (systemd's), pod\n"
		  "(its UID), cgroup (its path), comm; once per KEY, all\n"
		  "given must match", .call = set_match },
		{ "interval", 'd', OPT_SECONDS, &s->interval, "SEC", "seconds between refreshes (default 15)",
		  "--interval wants seconds from 0.1, e.g. 15, not '%s'", 0.1, 86400 },
		{ "request-timeout", 0, OPT_SECONDS, &s->request_timeout, "SEC",
		  "\n"
		  "a client's time to send its whole request (default 10)",
		  "--request-timeout wants seconds from 1 to " STR(HTTP_REQUEST_SEC_MAX) ", not '%s'",
		  1, HTTP_REQUEST_SEC_MAX },
		{ "groups", 'n', OPT_LONG, &s->groups, "N", "series per process before the rest go to\n"
		  "kind=\"other\" (default 20)", "--groups wants a number from 1 to 10000, not '%s'", 1, 10000 },
		{ "unwinder", 'u', OPT_UNWINDER, &s->copt.unwinder, "NAME", "libdw (default) or libunwind" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	const struct opts_command cmd = { "serve", head, NULL, 24, false, opts };
	int rc = opts_parse(&cmd, argc, argv), pid;
	long tgid;

	if (rc != OPTS_GO_ON)
		return rc;
	if (!s->listen) {
		errorf("serve needs --listen HOST:PORT; try 'threadleak serve --help'");
		return EXIT_USAGE;
	}
	if (optind == argc && !s->have_match) {
		errorf("serve needs PIDs or --match [KEY=]REGEX; try 'threadleak serve --help'");
		return EXIT_USAGE;
	}
	if (argc - optind > MAX_TARGETS) {
		errorf("serve watches at most %d processes", MAX_TARGETS);
		return EXIT_USAGE;
	}
	s->t = calloc((size_t)MAX_TARGETS, sizeof(*s->t));
	if (!s->t) {
		errorf("out of memory");
		return EXIT_ERROR;
	}
	for (int i = optind; i < argc; i++) {
		if (!parse_pid(argv[i], &pid)) {
			errorf("'%s' is not a process id", argv[i]);
			return EXIT_USAGE;
		}
		/* a thread id: its process, as snapshot takes it */
		if (proc_read_status_field(pid, "Tgid:", &tgid) == 0 && tgid > 0)
			pid = (int)tgid;
		if (find(s, pid))
			continue;	/* given twice: one series */
		struct target *t = &s->t[s->n++];
		t->pid = pid;
		t->given = true;
	}
	return OPTS_GO_ON;
}

/* --match: the processes whose comm matches, added when new; marks
 * which are still there. */
static void scan(struct serve *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct proc_stat st;
	struct cgroup_info w = { 0 };
	int pid;

	for (size_t i = 0; i < s->n; i++)
		s->t[i].seen = s->t[i].given;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!parse_pid(e->d_name, &pid) || pid == getpid() ||
		    proc_read_stat(pid, pid, &st) < 0 || !matches(s, pid, st.comm, &w))
			continue;
		struct target *t = find(s, pid);
		if (!t && s->n < MAX_TARGETS) {
			t = &s->t[s->n++];
			memset(t, 0, sizeof(*t));
			t->pid = pid;
			t->where = w;
		}
		if (t)
			t->seen = true;
	}
	closedir(d);
}

/* Closes t's session, if it has one: its memory goes back before the
 * next session is opened (the dead are ahead of the new in s->t). */
static void drop_session(struct serve *s, struct target *t)
{
	if (!t->session)
		return;
	capture_session_close(t->session);
	t->session = NULL;
	s->closed++;
}

/* Drops targets that are gone (or no longer match), closing their
 * sessions; keeps the order of the rest. */
static void prune(struct serve *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct target *t = &s->t[i];
		if (t->gone || (s->have_match && !t->seen)) {
			drop_session(s, t);
			continue;
		}
		s->t[kept++] = *t;
	}
	s->n = kept;
}

static void refresh(struct serve *s, struct target *t)
{
	char err[512];
	int rc;

	t->snap = NULL;
	if (!t->session) {
		struct proc_stat st;
		if (proc_read_stat(t->pid, t->pid, &st) == 0)
			snprintf(t->comm, sizeof(t->comm), "%s", st.comm);
		rc = capture_session_open(t->pid, &s->copt, &t->session, err, sizeof(err));
		if (rc == -ESRCH) {
			if (t->given)
				errorf("%s; not watched", err);
			t->gone = true;
		} else if (rc < 0 && rc != -EINTR) {
			errorf("%s; not watched", err);
			t->refused = true;
		}
		if (rc < 0)
			return;
	}
	double t0 = now_sec();
	rc = capture_session_refresh(t->session, &t->snap, err, sizeof(err));
	t->capture_sec = now_sec() - t0;
	s->watched |= rc == 0;
	if (rc == 0 && t->snap)
		t->where = t->snap->where;
	if (rc == -ESRCH || rc == -ESTALE) {
		if (t->given)
			errorf("process %d (%s) %s; no longer watched", t->pid, t->comm,
			       rc == -ESRCH ? "exited" : "runs another program now");
		t->gone = true;
		t->snap = NULL;
		drop_session(s, t);
	} else if (rc < 0 && rc != -EINTR) {
		errorf("%s; not watched", err);
		t->refused = true;
		t->snap = NULL;
		drop_session(s, t);
	}
}

static int publish(struct serve *s, struct http_server *http)
{
	struct metrics_target *m = calloc(s->n ? s->n : 1, sizeof(*m));
	char *text;
	size_t len;

	if (!m)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->t[i].refused)
			m[n++] = (struct metrics_target){ s->t[i].pid, s->t[i].comm, s->t[i].snap,
							  s->t[i].capture_sec, &s->t[i].where };
	s->refreshes++;
	int rc = metrics_render(m, n, (size_t)s->groups, s->refreshes, &text, &len);
	if (rc == 0) {
		http_publish(http, HTTP_METRICS, text, len);
		rc = index_render(m, n, s->interval, &text, &len);
	}
	if (rc == 0)
		http_publish(http, HTTP_INDEX, text, len);
	free(m);
	return rc;
}

/* job's answer: status and a text made by printf. */
static void answer_text(struct http_job *j, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void answer_text(struct http_job *j, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *body = NULL;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	j->status = body ? status : 500;
	j->type = "text/plain; charset=utf-8";
	j->body = body;
	j->len = body ? strlen(body) : 0;
}

/* The process a profile asks for: ?pid=, or the only one watched. */
static struct target *job_target(struct serve *s, struct http_job *j)
{
	int pid;
	struct target *only = NULL;
	size_t live = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->t[i].refused && !s->t[i].gone) {
			live++;
			only = &s->t[i];
		}
	}
	if (!j->pid[0]) {
		if (live == 1)
			return only;
		answer_text(j, 400, "%zu processes are watched: give one, ?pid=PID (the list is at /)\n",
			    live);
		return NULL;
	}
	struct target *t = parse_pid(j->pid, &pid) ? find(s, pid) : NULL;
	if (!t || t->refused || t->gone) {
		answer_text(j, 404, "process %s is not watched (the list is at /)\n",
			    parse_pid(j->pid, &pid) ? j->pid : "?");
		return NULL;
	}
	return t;
}

/* A profile of one process's last capture, as a Go program serves its
 * goroutines: gzipped profile.proto, or debug=1 or 2 text. */
static void answer_profile(struct serve *s, struct http_job *j)
{
	long debug = 0;
	char *end;

	if (j->debug[0]) {
		debug = strtol(j->debug, &end, 10);
		if (*end || debug < 0 || debug > 2) {
			answer_text(j, 400, "debug=%s: give 0 (profile.proto), 1 or 2 (text)\n",
				    esc(j->debug));
			return;
		}
	}
	struct target *t = job_target(s, j);
	if (!t)
		return;
	if (!t->snap) {
		answer_text(j, 503, "process %d (%s): no capture yet, or its last failed\n",
			    t->pid, esc(t->comm));
		return;
	}
	FILE *fp = open_memstream(&j->body, &j->len);
	if (!fp) {
		answer_text(j, 500, "out of memory\n");
		return;
	}
	int rc = debug == 0 ? export_pprof(t->snap, fp) : export_gotext(t->snap, (int)debug, fp);
	bool failed = ferror(fp) != 0;
	if (fclose(fp) != 0 || failed || rc < 0) {
		free(j->body);
		answer_text(j, 500, "cannot make the profile: %s\n", strerror(rc < 0 ? -rc : ENOMEM));
		return;
	}
	j->status = 200;
	j->type = debug == 0 ? "application/octet-stream" : "text/plain; charset=utf-8";
	j->attachment = debug == 0;
}

static void answer_jobs(struct serve *s, struct http_server *http)
{
	struct http_job *j;

	while ((j = http_take_job(http))) {
		answer_profile(s, j);
		http_answer_job(http, j);
	}
}

/* Answers profiles until deadline; false when a signal ends serve. */
static bool wait_until(struct serve *s, struct http_server *http, double deadline)
{
	struct pollfd p = { .fd = http_jobs_fd(http), .events = POLLIN };

	for (;;) {
		if (pt_interrupted())
			return false;
		answer_jobs(s, http);
		double left = deadline - now_sec();
		if (left <= 0)
			return true;
		poll(&p, 1, left > 3600 ? 3600000 : (int)(left * 1e3) + 1);	/* a signal cuts it short */
	}
}

int cmd_serve(int argc, char **argv)
{
	struct serve s = { .interval = 15, .request_timeout = HTTP_REQUEST_SEC, .groups = 20,
			   .copt = { .stop_timeout = 1.0, .lazy_blocked = true } };
	char err[512];
	int rc = parse_args(argc, argv, &s);

	if (rc >= 0)
		goto out;
	pt_install_signal_guard();
	struct http_server *http = http_listen(s.listen, (unsigned)(s.request_timeout + 0.5), err,
						       sizeof(err));
	if (!http) {
		rc = errno == EINVAL ? EXIT_USAGE : EXIT_ERROR;
		errorf("%s", err);
		goto out;
	}
	/* The port is bound: from here on, only what reading processes
	 * takes, before any thread is made (each keeps its own sets). */
	char missing[512];
	if (privilege_keep_tracing(missing, sizeof(missing), err, sizeof(err)) < 0 ||
	    http_run(http, err, sizeof(err)) < 0) {
		errorf("%s", err);
		http_stop(http);
		rc = EXIT_ERROR;
		goto out;
	}
	if (missing[0])
		errorf("serve has %s", missing);
	fprintf(stderr, "threadleak: serving http://%s/metrics\n", http_address(http));
	for (;;) {
		double began = now_sec();
		if (s.have_match)
			scan(&s);
		for (size_t i = 0; i < s.n && !pt_interrupted(); i++) {
			if (!s.t[i].gone && !s.t[i].refused)
				refresh(&s, &s.t[i]);
			answer_jobs(&s, http);	/* between captures too */
		}
		if (pt_interrupted())
			break;
		if (publish(&s, http) < 0) {
			errorf("out of memory");
			rc = EXIT_ERROR;
			break;
		}
		/* The snapshots stay the sessions' until their next refresh:
		 * drop the dead only after the metrics are made.  A closed
		 * session's memory (its page cache, libdw's data) is freed
		 * in the middle of the heap, where malloc keeps it: under
		 * --match and a churn of processes, 76 MB and more kept
		 * with none left to watch.  Give it back. */
		prune(&s);
		if (s.closed) {
			malloc_trim(0);
			s.closed = 0;
		}
		size_t live = 0;
		for (size_t i = 0; i < s.n; i++)
			live += !s.t[i].refused;
		if (!s.have_match && live == 0) {
			/* all exited: done; none ever captured: an error */
			errorf("no process left to watch");
			rc = s.watched ? EXIT_OK : EXIT_ERROR;
			break;
		}
		if (!wait_until(&s, http, began + s.interval))
			break;
	}
	http_stop(http);
	if (rc < 0)
		rc = EXIT_OK;	/* stopped by a signal: the way to end it */
out:
	for (size_t i = 0; i < s.n; i++)
		capture_session_close(s.t[i].session);
	free(s.t);
	for (int k = 0; k < MATCH__COUNT; k++)
		if (s.have[k])
			regfree(&s.match[k]);
	return rc;
}
