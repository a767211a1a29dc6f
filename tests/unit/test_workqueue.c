/*
 * Unit tests for src/base/workqueue.c: items done once each, in the order
 * pushed, by the worker thread; a producer that outruns the worker waits
 * for a slot; drain and close wait for everything pushed; a lone item
 * (less than a batch) is still done without a drain, after a nap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/workqueue.h"

#define MAX_ITEMS 5000

struct item {
	int value;
	pthread_t producer;
};

struct log {
	int values[MAX_ITEMS];
	atomic_int n;
	int slow_us;		/* the worker's time per item */
	int off_thread;		/* items done on another thread than the producer's */
};

static void record(void *arg, void *p)
{
	struct log *log = arg;
	struct item *it = p;

	if (log->slow_us)
		usleep((useconds_t)log->slow_us);
	if (!pthread_equal(it->producer, pthread_self()))
		log->off_thread++;
	int n = atomic_load(&log->n);
	log->values[n] = it->value;
	atomic_store(&log->n, n + 1);
}

static void push_values(struct workqueue *q, int from, int count)
{
	for (int i = from; i < from + count; i++) {
		struct item *it = workqueue_next(q);
		it->value = i;
		it->producer = pthread_self();
		workqueue_push(q);
	}
}

static void assert_in_order(const struct log *log, int count)
{
	assert_int_equal(atomic_load(&log->n), count);
	for (int i = 0; i < count; i++)
		assert_int_equal(log->values[i], i);
	assert_int_equal(log->off_thread, count);
}

/* Many more items than slots: the producer waits for room, nothing is
 * lost or done twice, the order holds, all on the worker's thread. */
static void test_order_through_a_small_ring(void **state)
{
	static struct log log;
	struct workqueue *q;

	(void)state;
	assert_int_equal(workqueue_open(&q, sizeof(struct item), 4, record, &log), 0);
	push_values(q, 0, MAX_ITEMS);
	workqueue_drain(q);
	assert_in_order(&log, MAX_ITEMS);
	workqueue_close(q);
}

/* A slow worker: drain returns only once the last item is done; items
 * pushed after a drain are done too, and close waits for them. */
static void test_drain_and_close_wait(void **state)
{
	static struct log log = { .slow_us = 2000 };
	struct workqueue *q;

	(void)state;
	assert_int_equal(workqueue_open(&q, sizeof(struct item), 8, record, &log), 0);
	push_values(q, 0, 5);
	workqueue_drain(q);
	assert_in_order(&log, 5);
	push_values(q, 5, 3);
	workqueue_close(q);
	assert_in_order(&log, 8);
}

/* One item, far less than a batch, and no drain: the worker's nap ends
 * and it is done (within a second: the nap is milliseconds). */
static void test_lone_item_done_after_a_nap(void **state)
{
	static struct log log;
	struct workqueue *q;

	(void)state;
	assert_int_equal(workqueue_open(&q, sizeof(struct item), 64, record, &log), 0);
	push_values(q, 0, 1);
	for (int i = 0; i < 1000 && atomic_load(&log.n) == 0; i++)
		usleep(1000);
	assert_in_order(&log, 1);
	workqueue_close(q);
}

/* Closing an idle queue, and closing nothing, are fine. */
static void test_close_idle(void **state)
{
	static struct log log;
	struct workqueue *q;

	(void)state;
	assert_int_equal(workqueue_open(&q, sizeof(struct item), 2, record, &log), 0);
	workqueue_close(q);
	workqueue_close(NULL);
	assert_int_equal(atomic_load(&log.n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_through_a_small_ring),
		cmocka_unit_test(test_drain_and_close_wait),
		cmocka_unit_test(test_lone_item_done_after_a_nap),
		cmocka_unit_test(test_close_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
