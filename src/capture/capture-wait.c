/*
 * capture-wait: what each captured thread waits on, and since when.
 *
 * The call a thread is in comes from its stop's registers, or else from
 * its syscall line (capture-syscall.c); classify.h names the wait from
 * the call, wchan and frames, and what it waits on is then described:
 * the fd's object, a poll set's descriptors, a mutex's owner or a joined
 * thread.  How long it has waited is the scheduler clock of its CPU less
 * its last-run time.  With lazy_blocked those last-run times are read
 * only where they decide a group's oldest wait (capture_fill_oldest),
 * the rest later or never (capture_session_complete).
 */
#include "capture/capture-session.h"
#include "capture/classify.h"
#include "target/fds.h"
#include "target/memory.h"
#include "target/proc.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* poll(fds, nfds): name the descriptors of the pollfd array. */
static void describe_pollfds(struct capture_session *c, uint64_t addr, uint64_t nfds,
			     struct thread *t)
{
	struct { int32_t fd; int16_t events, revents; } pfd[8];
	size_t n = nfds < 8 ? (size_t)nfds : 8, len = 0;
	char buf[1024], desc[256];

	if (n == 0 || memory_read(c->mem, addr, pfd, n * sizeof(pfd[0])) < 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(buf) - 1; i++) {
		if (pfd[i].fd < 0)
			continue;
		if (t->wait.fd < 0)
			t->wait.fd = pfd[i].fd;
		if (fds_describe(c->fds, pfd[i].fd, desc, sizeof(desc)) < 0)
			snprintf(desc, sizeof(desc), "?");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d %s",
					len ? ", " : "", pfd[i].fd, desc);
	}
	if (nfds > n && len < sizeof(buf) - 1)
		snprintf(buf + len, sizeof(buf) - len, ", … (%llu fds)",
			 (unsigned long long)nfds);
	if (buf[0])
		t->wait.object = strdup(buf);
}

/* Seconds since the thread last ran, from the scheduler's clock; never
 * more than the thread's age (CPU clocks drift apart a little).  Unknown
 * (-1) for a thread stopped by a signal (state T): it ran to stop, so its
 * last run is its stop, not the start of its wait. */
static double blocked_for(struct capture_session *c, const struct work *w)
{
	int cpu = w->st.processor;

	if (w->st.state == 'T')
		return -1;
	/* Measuring the clocks moves us to every CPU in turn: a refresh
	 * that reads no last-run time does without. */
	if (c->clock_stale) {
		proc_sched_clock_ms(c->sched_now_ms, 256);
		c->clock_stale = false;
	}
	if (cpu < 0 || cpu >= 256)
		return -1;
	double now = c->sched_now_ms[cpu];
	if (w->exec_start_ms <= 0 || now <= 0)
		return -1;
	if (now < w->exec_start_ms)
		return 0;	/* it ran after the capture began */
	double sec = (now - w->exec_start_ms) / 1000.0;
	double age = c->uptime - (double)w->st.start_time / (double)sysconf(_SC_CLK_TCK);
	if (c->uptime > 0 && age >= 0 && sec > age)
		sec = age;
	return sec;
}

void capture_describe_wait(struct capture_session *c, struct work *w, struct thread *t)
{
	struct classify_input in = { 0 };
	struct classify_result res;
	struct syscall_call call;
	bool from_line = false;

	in.state = w->st.state;
	if (w->stopped && w->have_regs && capture_regs_in_syscall(&w->regs)) {
		struct cpu_regs r = w->regs;
		enum arch abi = capture_call_abi(c, r.arch, r.r[REG_DW_RIP]);
		regs_syscall_args(&r, abi);
		syscall_decode(abi, r.orig_rax, r.args, &call);
		capture_read_mem_args(c, &call);
	} else if (w->have_sc && !w->sc.running && w->sc.nr >= 0) {
		capture_syscall_line_call(c, w, &call);
		from_line = true;
	} else {
		syscall_decode(c->arch, -1, NULL, &call);
	}
	/* classify's tables are x86_64 calls: an i386 one's twin */
	in.nr = call.x86_64;
	in.args = call.args;
	in.wchan = w->wchan;
	in.frames = t->frames;
	in.nframes = t->nframes;
	classify_wait(&in, &res);

	t->wait.kind = res.kind;
	t->wait.syscall = call.nr;	/* the thread's own ABI's number */
	if (call.nr >= 0 && call.name)
		t->wait.syscall_name = strdup(call.name);
	if (res.kind == WAIT_RUNNING || res.kind == WAIT_UNKNOWN)
		return;
	t->wait.blocked_sec = blocked_for(c, w);
	t->wait.address = res.address;
	if (res.fd >= 0) {
		char desc[512];
		t->wait.fd = res.fd;
		bool known = w->have_fdlink && from_line && call.abi == w->call.abi &&
			     res.fd == (int)w->call.args[0];
		if ((known ? fds_describe_link(c->fds, w->fdlink, desc, sizeof(desc)) :
		     fds_describe(c->fds, res.fd, desc, sizeof(desc))) == 0)
			t->wait.object = strdup(desc);
	}
	if (res.kind == WAIT_POLL && res.address && in.nr != SYS_select &&
	    in.nr != SYS_pselect6) {
		describe_pollfds(c, res.address, in.args[1], t);
		t->wait.address = 0;
	}
	if (res.pthread_mutex && res.address) {
		/* glibc pthread_mutex_t: __owner (a tid) at offset 8, x86_64 and
		 * i386 alike. */
		int32_t owner;
		if (memory_read(c->mem, res.address + 8, &owner, sizeof(owner)) == 0 &&
		    owner > 0 && capture_find_work(c, owner))
			t->wait.owner = owner;
	}
	if (res.kind == WAIT_JOIN && res.address) {
		/* pthread_join waits on the joined thread's tid word. */
		int32_t tid;
		if (memory_read(c->mem, res.address, &tid, sizeof(tid)) == 0 &&
		    tid > 0 && capture_find_work(c, tid))
			t->wait.owner = tid;
	}
}

/* Session: a thread that has not run since the last refresh has waited
 * that much longer. */
void capture_waited_longer(const struct capture_session *c, struct thread *t)
{
	if (t->wait.blocked_sec >= 0)
		t->wait.blocked_sec += c->refresh_at - c->prev_refresh_at;
}

static double thread_age(const struct capture_session *c, const struct thread *t)
{
	return c->uptime - (double)thread_start_time(t) / (double)sysconf(_SC_CLK_TCK);
}

/* Reads a thread's last-run time if unknown and sets its blocked time. */
static void read_blocked(struct capture_session *c, struct work *w,
			 struct thread *t)
{
	double ms;

	if (w->exec_start_ms <= 0 &&
	    proc_read_exec_start(c->pid, w->tid, &ms) == 0)
		w->exec_start_ms = ms;
	t->wait.blocked_sec = blocked_for(c, w);
}

static bool waits(const struct thread *t)
{
	return t->wait.kind != WAIT_RUNNING && t->wait.kind != WAIT_UNKNOWN;
}

/* A stack's identity for lazy_blocked: its raw pcs and syscall. */
uint64_t capture_stack_key(const struct work *w, const struct thread *t)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(t->wait.syscall + 1);

	for (int i = 0; i < w->nraw; i++)
		h = (h ^ w->raw[i].pc) * 1099511628211ULL;
	return h ^ (uint64_t)t->wait.kind << 56;
}

struct by_age {
	uint64_t start_time;
	uint64_t key;
	struct work *w;
	struct thread *t;
};

static int cmp_by_age(const void *a, const void *b)
{
	const struct by_age *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->start_time > y->start_time) - (x->start_time < y->start_time);
}

/*
 * lazy_blocked: what a group shows is its oldest wait, and a thread cannot
 * have waited longer than it has lived.  So within each set of identical
 * stacks, threads are taken oldest first, and one whose age is within
 * OLDEST_SLACK_SEC of the longest wait found so far is not read at all:
 * it cannot change the answer.  In the usual leak (threads that block
 * soon after they start) that is one read per group instead of one per
 * thread.  Where ages do not settle it (threads that ran long after they
 * started), at most OLDEST_READS more are read per stack and refresh, and
 * the others are marked BLOCKED_NOT_READ, so that the group's oldest wait
 * shows as a lower bound until later refreshes have read them.  Known
 * last-run times are kept across refreshes.
 */
int capture_fill_oldest(struct capture_session *c, struct snapshot *snap)
{
	struct by_age *v = malloc((snap->nthreads ? snap->nthreads : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->snap_index >= snap->nthreads)
			continue;
		struct thread *t = &snap->threads[w->snap_index];
		if (waits(t))
			v[n++] = (struct by_age){ thread_start_time(t), w->key, w, t };
	}
	qsort(v, n, sizeof(*v), cmp_by_age);
	c->unread_waits = c->skipped_waits = false;
	for (size_t i = 0; i < n;) {
		double best = -1;
		size_t j = i;
		int reads = 0;
		for (; j < n && v[j].key == v[i].key; j++) {
			struct thread *t = v[j].t;
			if (v[j].w->exec_start_ms <= 0) {
				if (best >= 0 &&
				    thread_age(c, t) <= best + OLDEST_SLACK_SEC) {
					t->wait.blocked_sec = -1;
					c->skipped_waits = true;
					continue;
				}
				if (reads >= OLDEST_READS) {
					t->wait.blocked_sec = BLOCKED_NOT_READ;
					c->unread_waits = c->skipped_waits = true;
					continue;
				}
				reads++;
			}
			read_blocked(c, v[j].w, t);
			if (t->wait.blocked_sec > best)
				best = t->wait.blocked_sec;
		}
		i = j;
	}
	free(v);
	return 0;
}

bool capture_session_complete(struct capture_session *c)
{
	bool read = false;

	for (size_t i = 0; c->snap && c->skipped_waits && i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->snap_index >= c->snap->nthreads)
			continue;
		struct thread *t = &c->snap->threads[w->snap_index];
		if (waits(t) && w->exec_start_ms <= 0) {
			read_blocked(c, w, t);
			read = true;
		}
	}
	c->unread_waits = c->skipped_waits = false;
	return read;
}
