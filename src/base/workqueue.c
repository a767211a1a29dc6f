/*
 * workqueue: a ring of slots, one mutex and two condition variables; see
 * workqueue.h.
 *
 * pushed and done count items for ever (they never wrap in practice):
 * slot i % nitems holds item i.  The worker sleeps without a time limit
 * only when nothing waits; the producer signals it only when it sleeps and
 * a batch is ready (or on drain and close), and the worker signals the
 * producer only when it waits.
 */
#include "base/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* the worker waits for an item or the end */
	pthread_cond_t room;	/* the producer waits for a slot, or a drain */
	pthread_t thread;
	unsigned char *slots;
	size_t item_size, nitems;
	uint64_t pushed, done;
	bool worker_waits, producer_waits, quit, drain;
	void (*fn)(void *arg, void *item);
	void *arg;
};

static void *slot(struct workqueue *q, uint64_t i)
{
	return q->slots + (size_t)(i % q->nitems) * q->item_size;
}

static uint64_t batch(const struct workqueue *q)
{
	return q->nitems / 2 ? q->nitems / 2 : 1;
}

/* Called with the lock held: sleeps WORKQUEUE_NAP_MS or until woken. */
static void nap(struct workqueue *q)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += WORKQUEUE_NAP_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	q->worker_waits = true;
	pthread_cond_timedwait(&q->work, &q->lock, &until);
	q->worker_waits = false;
}

static void *worker(void *arg)
{
	struct workqueue *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->done == q->pushed && !q->quit) {
			q->worker_waits = true;
			pthread_cond_wait(&q->work, &q->lock);
			q->worker_waits = false;
			/* A batch, a drain or the end; else a nap, then go. */
			if (q->pushed - q->done < batch(q) && !q->drain && !q->quit)
				nap(q);
		}
		if (q->done == q->pushed)
			break;	/* quit, and nothing is left */
		void *item = slot(q, q->done);
		pthread_mutex_unlock(&q->lock);
		q->fn(q->arg, item);
		pthread_mutex_lock(&q->lock);
		q->done++;
		if (q->producer_waits)
			pthread_cond_signal(&q->room);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int workqueue_open(struct workqueue **out, size_t item_size, size_t nitems,
		   void (*fn)(void *arg, void *item), void *arg)
{
	struct workqueue *q = calloc(1, sizeof(*q));
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->slots = calloc(nitems, item_size);
	if (!q->slots) {
		free(q);
		return -ENOMEM;
	}
	q->item_size = item_size;
	q->nitems = nitems;
	q->fn = fn;
	q->arg = arg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&q->room, NULL);
	/* Signals are for the producer's thread (its poll must see them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, worker, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(q->slots);
		free(q);
		return -rc;
	}
	*out = q;
	return 0;
}

/* Called with the lock held: waits until the worker has done the items
 * before item upto. */
static void wait_done(struct workqueue *q, uint64_t upto)
{
	while (q->done < upto) {
		q->producer_waits = true;
		pthread_cond_wait(&q->room, &q->lock);
		q->producer_waits = false;
	}
}

void *workqueue_next(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	/* A slot is free once the item nitems before the next one is done. */
	if (q->pushed >= q->nitems)
		wait_done(q, q->pushed - q->nitems + 1);
	void *item = slot(q, q->pushed);
	pthread_mutex_unlock(&q->lock);
	return item;
}

void workqueue_push(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->pushed++;
	/* The first item wakes it for a nap; a full batch ends the nap. */
	if (q->worker_waits && (q->pushed - q->done == 1 || q->pushed - q->done >= batch(q)))
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

void workqueue_drain(struct workqueue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->drain = true;
	if (q->worker_waits)
		pthread_cond_signal(&q->work);
	wait_done(q, q->pushed);
	q->drain = false;
	pthread_mutex_unlock(&q->lock);
}

void workqueue_close(struct workqueue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->quit = true;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q);
}
