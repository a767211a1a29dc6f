/*
 * watch: the data behind `top`: the groups of one process followed over a
 * series of snapshots.
 *
 * Each sample (watch_update) groups a snapshot (group.h) and matches its
 * groups to the ones seen before by wait kind and symbolic signature, so a
 * group keeps its history across samples: its count at each of the last
 * WATCH_HISTORY samples, its change since the first sample, its growth rate
 * and the CPU its members used over the last interval (from their utime and
 * stime, matched by (tid, start_time)).  Two kinds of group are marked as
 * suspects: one that keeps growing (it grew at least twice and never shrank
 * over the last WATCH_GROWTH_WINDOW intervals or WATCH_GROWTH_SECONDS,
 * whichever is longer) and one whose members keep
 * using CPU (at least WATCH_SPIN_CPU of a core in each of the last two
 * intervals).  A group that empties stays listed with count 0 until it has
 * been empty for WATCH_HISTORY samples, so a vanished pile-up is seen.
 *
 * Memory: the watch owns its groups and history.  The snapshot passed to
 * watch_update must stay valid until the next update (or watch_free): each
 * group's `group` points into it.
 */
#ifndef THREADLEAK_WATCH_H
#define THREADLEAK_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "model/group.h"
#include "model/snapshot.h"

#define WATCH_HISTORY 60	/* samples of counts kept per group and in all */
#define WATCH_GROWTH_WINDOW 4	/* intervals looked at for "keeps growing", */
#define WATCH_GROWTH_SECONDS 10.0	/* or seconds, if that is more */
#define WATCH_RATE_WINDOW 5	/* intervals the growth rate is taken over */
#define WATCH_SPIN_CPU 0.5	/* share of one CPU that counts as spinning */

enum {
	WATCH_GROWING = 1,	/* keeps growing: a leak or a pile-up */
	WATCH_SPINNING = 2,	/* keeps using CPU */
};

struct watch_group {
	char *signature;		/* owned; with kind, the group's identity */
	enum wait_kind kind;
	size_t count;			/* members now; 0 once it has emptied */
	size_t first_count;		/* members when first seen */
	int first_sample;		/* the sample it was first seen in */
	long change;			/* count minus its count in the first
					   sample (0 when it appeared later) */
	double rate;			/* members gained per second, recently */
	double cpu;			/* CPU used over the last interval, in
					   cores (1.0: one core all the time) */
	double prev_cpu;		/* the same, the interval before */
	double max_blocked_sec;		/* the oldest member's wait; <0 unknown */
	bool max_blocked_partial;	/* a lower bound (group.h) */
	const struct group *group;	/* this sample's members and stack, NULL
					   when count is 0 */
	char where[192];		/* its own innermost frame (thread_own_frame)
					   as "function (file:line)" */
	bool go;			/* a group of goroutines */
	bool go_system;			/* ... of the runtime's own */
	char label[32];			/* what they wait for: the goroutines'
					   wait reason ("chan receive"), else
					   the wait kind's name */
	unsigned suspect;		/* WATCH_GROWING | WATCH_SPINNING */
	size_t history[WATCH_HISTORY];	/* counts, oldest first */
	size_t nhistory;
	int empty_for;			/* samples since it emptied */
};

enum watch_sort {
	WATCH_SORT_COUNT,	/* most members first */
	WATCH_SORT_GROWTH,	/* largest change since start first */
	WATCH_SORT_CPU,		/* most CPU first */
};

struct watch_thread_cpu;	/* private: per-thread CPU ticks */

struct watch {
	int samples;			/* updates so far */
	const struct snapshot *snap;	/* the latest sample */
	struct grouping grouping;	/* of snap */
	struct watch_group *groups;	/* in the order of the last sort */
	size_t ngroups, cap;
	size_t kinds[WAIT__COUNT];	/* OS threads per wait kind, now */
	size_t threads;			/* OS threads now */
	size_t first_threads;		/* OS threads in the first sample */
	size_t goroutines;		/* a Go program's goroutines now */
	size_t first_goroutines;	/* ... in the first sample */
	char go_waits[512];		/* goroutines per wait reason, largest
					   first: "100 chan receive, 3 select" */
	size_t trend[WATCH_HISTORY];	/* totals (goroutines in a Go program,
					   else threads), oldest first */
	double times[WATCH_HISTORY];	/* when each was taken (seconds) */
	size_t ntrend;
	double started, now;		/* time of the first and latest sample */
	double interval;		/* seconds since the previous sample */
	double cpu;			/* the whole process, in cores */
	size_t suspects;		/* groups with a suspect mark */
	enum watch_sort sort;
	struct watch_thread_cpu *ticks;	/* last sample's per-thread ticks */
	size_t nticks;
	double unchanged_at;		/* ticks still true then (watch_again) */
};

/* An empty watch; NULL on allocation failure. */
struct watch *watch_new(void);
void watch_free(struct watch *w);
/*
 * Adds a sample taken at now (seconds, any monotonic clock) and re-sorts.
 * snap must stay valid until the next update.  Returns 0 or -ENOMEM.
 */
int watch_update(struct watch *w, const struct snapshot *snap, double now);
/*
 * Adds a sample taken at now of the latest snapshot again, after a capture
 * that found no thread had run (capture_session_unchanged): the same
 * groups, no regrouping, their waits read again from the members' (the
 * capture aged them in place).  Returns 0,
 * -EINVAL before any sample, or -ENOMEM.
 */
int watch_again(struct watch *w, double now);
/* The latest snapshot's members had waits read since (top's
 * capture_session_complete): the groups' oldest waits follow. */
void watch_waits_read(struct watch *w);
void watch_sort(struct watch *w, enum watch_sort key);
const char *watch_sort_name(enum watch_sort key);

#endif
