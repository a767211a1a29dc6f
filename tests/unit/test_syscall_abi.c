/*
 * Unit tests of syscall-abi.c: i386 system calls turned into their x86_64
 * twins (the numbers of Debian 12's i386 glibc's calls), socketcall and
 * ipc opened, and the x86_64 ABI left as it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/syscall.h>

#include "capture/classify.h"
#include "target/syscall-abi.h"
#include "target/syscall-i386.h"

static void test_x86_64(void **state)
{
	uint64_t args[6] = { 3, 0x1000, 1, 0, 0, 0 };
	struct syscall_call c;

	(void)state;
	syscall_decode(ARCH_X86_64, SYS_pause, args, &c);
	assert_int_equal(c.x86_64, SYS_pause);
	assert_string_equal(c.name, "pause");
	syscall_decode(ARCH_X86_64, -1, NULL, &c);
	assert_int_equal(c.nr, -1);
	assert_int_equal(c.x86_64, -1);
	assert_null(c.name);
}

static void test_i386_twins(void **state)
{
	static const struct { long nr; const char *name; long twin; } t[] = {
		{ 0, "restart_syscall", SYS_restart_syscall },
		{ 3, "read", SYS_read },
		{ 29, "pause", SYS_pause },		/* shmget on x86_64 */
		{ 240, "futex", SYS_futex },
		{ 422, "futex_time64", SYS_futex },
		{ 267, "clock_nanosleep", SYS_clock_nanosleep },
		{ 407, "clock_nanosleep_time64", SYS_clock_nanosleep },
		{ 7, "waitpid", SYS_wait4 },
		{ 114, "wait4", SYS_wait4 },
		{ 142, "_newselect", SYS_select },
		{ 308, "pselect6", SYS_pselect6 },
		{ 168, "poll", SYS_poll },
		{ 256, "epoll_wait", SYS_epoll_wait },
		{ 177, "rt_sigtimedwait", SYS_rt_sigtimedwait },
		{ 252, "exit_group", SYS_exit_group },
		{ 435, "clone3", SYS_clone3 },
		{ 120, "clone", SYS_clone },
	};
	uint64_t args[6] = { 0xffffffff00000005ull, 0, 0, 0, 0, 0 };
	struct syscall_call c;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		syscall_decode(ARCH_I386, t[i].nr, args, &c);
		assert_string_equal(c.name, t[i].name);
		assert_int_equal(c.x86_64, t[i].twin);
		assert_int_equal(c.nr, t[i].nr);
		assert_int_equal(c.args[0], 5);	/* 32-bit arguments */
	}
	assert_int_equal(NR32_exit_group, 252);
	assert_int_equal(NR32_socketcall, 102);
	/* a call with no x86_64 twin matches no rule, and is a call */
	syscall_decode(ARCH_I386, 48 /* signal */, args, &c);
	assert_int_equal(c.x86_64, SYSCALL_NO_TWIN);
	syscall_decode(ARCH_I386, 100000, args, &c);
	assert_int_equal(c.x86_64, SYSCALL_NO_TWIN);
	assert_null(c.name);
}

static void test_socketcall(void **state)
{
	uint64_t args[6] = { 10 /* SYS_RECV */, 0xffd0, 0, 0, 0, 0 };
	uint32_t mem[4] = { 9, 0x5000, 64, 0 };
	struct syscall_call c;

	(void)state;
	syscall_decode(ARCH_I386, NR32_socketcall, args, &c);
	assert_string_equal(c.name, "recv");
	assert_int_equal(c.x86_64, SYS_recvfrom);
	assert_int_equal(c.mem_args, 0xffd0);
	assert_int_equal(c.nmem_args, 4);
	syscall_decode_mem(&c, mem);
	assert_int_equal(c.args[0], 9);
	assert_int_equal(c.args[2], 64);
	assert_int_equal(c.args[4], 0);
	assert_int_equal(c.nmem_args, 0);
	args[0] = 5;
	syscall_decode(ARCH_I386, NR32_socketcall, args, &c);
	assert_string_equal(c.name, "accept");
	assert_int_equal(c.x86_64, SYS_accept);
	args[0] = 3;
	syscall_decode(ARCH_I386, NR32_socketcall, args, &c);
	assert_int_equal(c.x86_64, SYS_connect);
	/* an unknown sub-call: socketcall, no twin, nothing to read */
	args[0] = 99;
	syscall_decode(ARCH_I386, NR32_socketcall, args, &c);
	assert_string_equal(c.name, "socketcall");
	assert_int_equal(c.x86_64, SYSCALL_NO_TWIN);
	assert_int_equal(c.nmem_args, 0);
	/* the waits they are */
	assert_true(stop_would_eintr(SYS_recvfrom, false));
}

static void test_ipc(void **state)
{
	/* ipc(SEMOP, semid 7, nsops 1, 0, sops 0x4000, 0) */
	uint64_t args[6] = { 1, 7, 1, 0, 0x4000, 0 };
	struct syscall_call c;

	(void)state;
	syscall_decode(ARCH_I386, NR32_ipc, args, &c);
	assert_string_equal(c.name, "semop");
	assert_int_equal(c.x86_64, SYS_semop);
	assert_int_equal(c.args[0], 7);
	assert_int_equal(c.args[1], 0x4000);
	assert_int_equal(c.args[2], 1);
	args[0] = 0x10000 | 12;	/* version 1 in the high half: msgrcv */
	syscall_decode(ARCH_I386, NR32_ipc, args, &c);
	assert_string_equal(c.name, "msgrcv");
	assert_int_equal(c.x86_64, SYS_msgrcv);
	args[0] = 77;
	syscall_decode(ARCH_I386, NR32_ipc, args, &c);
	assert_string_equal(c.name, "ipc");
	assert_int_equal(c.x86_64, SYSCALL_NO_TWIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_64),
		cmocka_unit_test(test_i386_twins),
		cmocka_unit_test(test_socketcall),
		cmocka_unit_test(test_ipc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
