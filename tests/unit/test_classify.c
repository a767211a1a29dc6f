/*
 * Unit tests of the classification table and rules (classify.c), with
 * frames as libc6-dbg names them on Debian bookworm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/syscall.h>

#include "capture/classify.h"
#include "stacks/symbols.h"
#include "model/locks.h"

static struct classify_result run(char state, long nr, const char *wchan,
				  const char *const *fns)
{
	static struct frame frames[16];
	uint64_t args[6] = { 7, 0x1000, 3, 0, 0, 0 };
	struct classify_input in = { 0 };
	struct classify_result r;
	size_t n = 0;

	memset(frames, 0, sizeof(frames));
	while (fns && fns[n]) {
		frames[n].function = (char *)fns[n];
		n++;
	}
	in.state = state;
	in.nr = nr;
	in.args = args;
	in.wchan = wchan;
	in.frames = frames;
	in.nframes = n;
	classify_wait(&in, &r);
	return r;
}

static void test_normalize(void **state)
{
	(void)state;
	assert_string_equal(symbols_public_name("__GI___pthread_mutex_lock"), "pthread_mutex_lock");
	assert_string_equal(symbols_public_name("___pthread_cond_wait"), "pthread_cond_wait");
	assert_string_equal(symbols_public_name("__libc_read"), "read");
	assert_string_equal(symbols_public_name("__GI___clock_nanosleep"), "clock_nanosleep");
	assert_string_equal(symbols_public_name("main"), "main");
	assert_string_equal(symbols_public_name("__"), "");
}

static void test_running_wins(void **state)
{
	const char *fns[] = { "__lll_lock_wait", "pthread_mutex_lock", NULL };

	(void)state;
	assert_int_equal(run('R', SYS_futex, "", fns).kind, WAIT_RUNNING);
	assert_int_equal(run('R', -1, "", NULL).kind, WAIT_RUNNING);
}

static void test_futex_by_frames(void **state)
{
	const char *mutex[] = { "futex_wait", "__GI___lll_lock_wait",
				"lll_mutex_lock_optimized", "___pthread_mutex_lock",
				"worker", NULL };
	const char *cond[] = { "__futex_abstimed_wait_common64",
			       "__pthread_cond_wait_common", "___pthread_cond_wait",
			       "worker", NULL };
	const char *relock[] = { "__lll_lock_wait", "__pthread_mutex_cond_lock",
				 "__pthread_cond_wait_common", "worker", NULL };
	const char *join[] = { "__futex_abstimed_wait_common", "__pthread_clockjoin_ex",
			       "main", NULL };
	const char *sem[] = { "__futex_abstimed_wait_common", "__new_sem_wait_slow64",
			      "worker", NULL };
	const char *bare[] = { "syscall", "my_futex_lock", NULL };
	const char *stdio[] = { "__lll_lock_wait_private", "_IO_puts", NULL };
	struct classify_result r;

	(void)state;
	r = run('S', SYS_futex, "futex_do_wait", mutex);
	assert_int_equal(r.kind, WAIT_MUTEX);
	assert_true(r.pthread_mutex);
	assert_int_equal(r.address, 7);
	r = run('S', SYS_futex, "", cond);
	assert_int_equal(r.kind, WAIT_CONDVAR);
	assert_false(r.pthread_mutex);
	/* a condvar waiter re-taking its mutex waits for the mutex */
	r = run('S', SYS_futex, "", relock);
	assert_int_equal(r.kind, WAIT_MUTEX);
	assert_true(r.pthread_mutex);
	assert_int_equal(run('S', SYS_futex, "", join).kind, WAIT_JOIN);
	assert_int_equal(run('S', SYS_futex, "", sem).kind, WAIT_FUTEX);
	assert_int_equal(run('S', SYS_futex, "", bare).kind, WAIT_FUTEX);
	r = run('S', SYS_futex, "", stdio);
	assert_int_equal(r.kind, WAIT_MUTEX);
	assert_false(r.pthread_mutex);
}

static void test_syscalls(void **state)
{
	struct classify_result r;

	(void)state;
	r = run('S', SYS_read, "anon_pipe_read", NULL);
	assert_int_equal(r.kind, WAIT_READ);
	assert_int_equal(r.fd, 7);
	assert_int_equal(run('S', SYS_recvfrom, "", NULL).kind, WAIT_READ);
	assert_int_equal(run('S', SYS_sendmsg, "", NULL).kind, WAIT_WRITE);
	assert_int_equal(run('S', SYS_write, "", NULL).kind, WAIT_WRITE);
	assert_int_equal(run('S', SYS_poll, "", NULL).kind, WAIT_POLL);
	assert_int_equal(run('S', SYS_pselect6, "", NULL).kind, WAIT_POLL);
	r = run('S', SYS_epoll_wait, "", NULL);
	assert_int_equal(r.kind, WAIT_EPOLL);
	assert_int_equal(r.fd, 7);
	assert_int_equal(run('S', SYS_epoll_pwait, "", NULL).kind, WAIT_EPOLL);
	assert_int_equal(run('S', SYS_accept4, "", NULL).kind, WAIT_ACCEPT);
	assert_int_equal(run('S', SYS_connect, "", NULL).kind, WAIT_CONNECT);
	assert_int_equal(run('S', SYS_clock_nanosleep, "", NULL).kind, WAIT_SLEEP);
	assert_int_equal(run('S', SYS_wait4, "", NULL).kind, WAIT_WAIT);
	assert_int_equal(run('S', SYS_pause, "", NULL).kind, WAIT_SIGNAL);
	assert_int_equal(run('S', SYS_rt_sigtimedwait, "", NULL).kind, WAIT_SIGNAL);
	r = run('S', SYS_getpid, "", NULL);
	assert_int_equal(r.kind, WAIT_OTHER);
	assert_int_equal(r.fd, -1);
}

static void test_restart_syscall(void **state)
{
	const char *sleep[] = { "__GI___clock_nanosleep", "__nanosleep", "worker", NULL };
	const char *poll[] = { "__GI___poll", "poll_loop", NULL };
	const char *mine[] = { "poll_loop", "main", NULL };
	const char *cond[] = { "__futex_abstimed_wait_common", "___pthread_cond_timedwait64", NULL };

	(void)state;
	assert_int_equal(run('S', SYS_restart_syscall, "", sleep).kind, WAIT_SLEEP);
	assert_int_equal(run('S', SYS_restart_syscall, "", poll).kind, WAIT_POLL);
	/* a program's own poll_loop is no evidence; the wait channel is */
	assert_int_equal(run('S', SYS_restart_syscall, "hrtimer_nanosleep", mine).kind, WAIT_SLEEP);
	assert_int_equal(run('S', SYS_restart_syscall, "", mine).kind, WAIT_OTHER);
	assert_int_equal(run('S', SYS_restart_syscall, "", cond).kind, WAIT_CONDVAR);
}

static void test_wchan_fallback(void **state)
{
	(void)state;
	assert_int_equal(run('S', -1, "futex_do_wait", NULL).kind, WAIT_FUTEX);
	assert_int_equal(run('S', -1, "do_epoll_wait", NULL).kind, WAIT_EPOLL);
	assert_int_equal(run('S', -1, "inet_csk_accept", NULL).kind, WAIT_ACCEPT);
	assert_int_equal(run('D', -1, "", NULL).kind, WAIT_OTHER);
	assert_int_equal(run('Z', -1, "", NULL).kind, WAIT_UNKNOWN);
}

static void test_tables_sane(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_syscall_rules; i++) {
		assert_non_null(syscall_name(syscall_rules[i].nr));
		assert_true(syscall_rules[i].kind > WAIT_RUNNING);
		assert_true(syscall_rules[i].kind < WAIT__COUNT);
		for (size_t j = i + 1; j < n_syscall_rules; j++)
			assert_int_not_equal(syscall_rules[i].nr, syscall_rules[j].nr);
	}
	assert_string_equal(futex_frame_rules[0].prefix, "pthread_mutex_");
	assert_string_equal(syscall_name(SYS_futex), "futex");
	assert_string_equal(syscall_name(SYS_epoll_wait), "epoll_wait");
	assert_null(syscall_name(-1));
	assert_null(syscall_name(100000));
}

static void test_lock_cycle(void **state)
{
	struct thread th[4] = { 0 };
	struct snapshot snap = { .threads = th, .nthreads = 4 };
	int cycle[8];

	(void)state;
	for (int i = 0; i < 4; i++) {
		th[i].tid = 10 + i;
		th[i].wait.kind = WAIT_MUTEX;
	}
	th[0].wait.owner = 11;	/* 10 -> 11 -> 12 -> 10 */
	th[1].wait.owner = 12;
	th[2].wait.owner = 10;
	th[3].wait.owner = 10;	/* 13 waits on the cycle, not part of it */
	assert_int_equal(lock_cycle(&snap, &th[0], cycle, 8), 3);
	assert_int_equal(cycle[1], 11);
	assert_int_equal(cycle[2], 12);
	assert_int_equal(lock_cycle(&snap, &th[3], cycle, 8), 0);
	th[2].wait.owner = 99;	/* owner outside: no cycle */
	assert_int_equal(lock_cycle(&snap, &th[0], cycle, 8), 0);
	assert_int_equal(lock_cycle(&snap, &th[0], cycle, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_running_wins),
		cmocka_unit_test(test_futex_by_frames),
		cmocka_unit_test(test_syscalls),
		cmocka_unit_test(test_restart_syscall),
		cmocka_unit_test(test_wchan_fallback),
		cmocka_unit_test(test_tables_sane),
		cmocka_unit_test(test_lock_cycle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
