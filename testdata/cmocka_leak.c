/*
 * cmocka_leak: a unit-test binary built with a C test framework (cmocka)
 * in which one test of three forgets to join its worker, the case
 * `threadleak check -- ./test_binary` is for.  Every test passes.
 *
 *	test_adds		no threads
 *	test_joins_worker	starts a worker and joins it
 *	test_leaks_worker	starts a worker blocked in wait_forever()
 *				and returns without joining it (once the
 *				worker is blocked there)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdata.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pid_t waiter;	/* under lock: set by the worker about to wait */

NOINLINE void *wait_forever(void *arg)
{
	pthread_mutex_lock(&lock);
	waiter = tl_gettid();
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

NOINLINE void *add_one(void *arg)
{
	return (void *)((uintptr_t)arg + 1);
}

static void test_adds(void **state)
{
	(void)state;
	assert_int_equal(2 + 2, 4);
}

NOINLINE void test_joins_worker(void **state)
{
	pthread_t t;
	void *ret;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, add_one, (void *)41), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((uintptr_t)ret, 42);
}

NOINLINE void test_leaks_worker(void **state)
{
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, wait_forever, NULL), 0);
	/* Returns once the worker sleeps in its condvar (it set waiter
	 * holding the lock, which only pthread_cond_wait lets go): a report
	 * made at once finds it in wait_forever on a loaded machine too. */
	for (;;) {
		pid_t tid;

		pthread_mutex_lock(&lock);
		tid = waiter;
		pthread_mutex_unlock(&lock);
		if (tid && tl_thread_state(tid) == 'S')
			break;
		tl_sleep_ms(1);
	}
	BARRIER();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adds),
		cmocka_unit_test(test_joins_worker),
		cmocka_unit_test(test_leaks_worker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
