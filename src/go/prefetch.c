/*
 * go/prefetch: see prefetch.h.
 *
 * A ring of DEPTH batches under one mutex.  The caller fills the slot
 * after the last submitted (FREE to QUEUED); a reader takes the oldest
 * queued one (READING), reads it and marks it READY; the caller takes
 * them in ring order (TAKEN) and frees each before the next.  Two reader
 * threads keep both CPUs of a small machine busy with the kernel's side
 * of the reads while the caller works; more gain nothing where the
 * caller's thread is the one left to wait for.
 */
#include "go/prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH (2 * GO_PREFETCH_MAX + 1)

enum { FREE, QUEUED, READING, READY, TAKEN };

struct go_prefetch {
	struct go_batch *slot[DEPTH];
	pthread_mutex_t lock;
	pthread_cond_t work, ready;
	pthread_t thread[GO_PREFETCH_MAX];
	int nthreads;
	bool stop, whole;
	int pid;
	const struct go_layout *lay;
	uint64_t submitted, taken, started;	/* batches, in ring order */
};

struct go_prefetch *go_prefetch_new(void)
{
	struct go_prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->ready, NULL);
	return p;
}

static void free_batch(struct go_batch *b)
{
	if (!b)
		return;
	free(b->b1);
	free(b->b2);
	free(b->wins);
	free(b->gather);
	free(b);
}

void go_prefetch_free(struct go_prefetch *p)
{
	if (!p)
		return;
	go_prefetch_end(p);
	for (int i = 0; i < DEPTH; i++)
		free_batch(p->slot[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->ready);
	free(p);
}

/* A batch's reads: what the whole or the hot read needs. */
static void read_batch(const struct go_prefetch *p, struct go_batch *b)
{
	const struct go_layout *l = p->lay;

	if (!p->whole) {
		go_read_gs(p->pid, b->addrs, b->k, l->hot_lo, l->hot_hi, b->b1, b->ok1, b->gather);
		return;
	}
	go_read_gs(p->pid, b->addrs, b->k, 0, l->g_size, b->b1, b->ok1, b->gather);
	go_read_windows(p->pid, l, b->b1, b->ok1, b->k, b->wins, b->win);
	go_read_gs(p->pid, b->addrs, b->k, l->hot_lo, l->hot_hi, b->b2, b->ok2, b->gather);
}

static void *reader(void *arg)
{
	struct go_prefetch *p = arg;
	struct sched_param batch = { 0 };

	/* A reader the caller wakes must not take the caller's CPU from
	 * it (wakeup preemption): batch threads never preempt. */
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct go_batch *b = p->started < p->submitted ? p->slot[p->started % DEPTH] : NULL;
		if (p->stop)
			break;
		if (!b) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		p->started++;
		b->state = READING;
		pthread_mutex_unlock(&p->lock);
		read_batch(p, b);
		pthread_mutex_lock(&p->lock);
		b->state = READY;
		pthread_cond_broadcast(&p->ready);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The CPUs this process may run on. */
static int cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return errno == EINVAL ? GO_PREFETCH_MAX : 1;	/* EINVAL: over CPU_SETSIZE */
	return CPU_COUNT(&set);
}

int go_prefetch_begin(struct go_prefetch *p, int pid, const struct go_layout *l, bool whole)
{
	sigset_t all, old;
	int want = cpus();

	p->pid = pid;
	p->lay = l;
	p->whole = whole;
	p->stop = false;
	p->submitted = p->taken = p->started = 0;
	p->nthreads = 0;
	if (want > GO_PREFETCH_MAX)
		want = GO_PREFETCH_MAX;
	if (want < 2)
		return 0;	/* one CPU: the caller reads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < want; i++) {
		if (pthread_create(&p->thread[i], NULL, reader, p) != 0)
			break;	/* fewer, or none: the caller reads */
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

struct go_batch *go_prefetch_slot(struct go_prefetch *p)
{
	if (p->submitted - p->taken >= DEPTH)
		return NULL;
	struct go_batch **s = &p->slot[p->submitted % DEPTH];
	if (*s && (*s)->state != FREE)
		return NULL;	/* taken, not yet released */
	if (!*s) {
		struct go_batch *b = calloc(1, sizeof(*b));
		if (b) {
			b->b1 = malloc((size_t)GO_BATCH * GO_G_MAX);
			b->b2 = malloc((size_t)GO_BATCH * GO_G_MAX);
			b->wins = malloc((size_t)GO_BATCH * GO_WINDOW);
			b->gather = malloc(GO_GATHER_BYTES);
		}
		if (!b || !b->b1 || !b->b2 || !b->wins || !b->gather) {
			free_batch(b);
			return NULL;
		}
		*s = b;
	}
	return *s;
}

void go_prefetch_submit(struct go_prefetch *p, struct go_batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->state = QUEUED;
	p->submitted++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

struct go_batch *go_prefetch_next(struct go_prefetch *p)
{
	if (p->taken == p->submitted)
		return NULL;
	struct go_batch *b = p->slot[p->taken % DEPTH];
	if (!p->nthreads) {
		p->started++;
		read_batch(p, b);
		b->state = READY;
	}
	pthread_mutex_lock(&p->lock);
	while (b->state != READY)
		pthread_cond_wait(&p->ready, &p->lock);
	b->state = TAKEN;
	p->taken++;
	pthread_mutex_unlock(&p->lock);
	return b;
}

void go_prefetch_release(struct go_prefetch *p, struct go_batch *b)
{
	pthread_mutex_lock(&p->lock);
	b->state = FREE;
	pthread_mutex_unlock(&p->lock);
}

void go_prefetch_end(struct go_prefetch *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->thread[i], NULL);
	p->nthreads = 0;
	for (int i = 0; i < DEPTH; i++)
		if (p->slot[i])
			p->slot[i]->state = FREE;
	p->submitted = p->taken = p->started = 0;
}
