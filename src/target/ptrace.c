/*
 * ptrace: seize, interrupt, wait with a deadline, registers, detach.
 *
 * The deadline of a wait is enforced with a one-shot ITIMER_REAL: its
 * SIGALRM handler is installed without SA_RESTART, so a blocked
 * waitpid(tid) returns EINTR when time is up.  The same guard catches
 * SIGINT/SIGTERM/SIGHUP, which only set a flag: the capture loop sees it,
 * detaches every thread it holds, and only then exits.
 */
#include "target/ptrace.h"
#include "target/proc.h"
#include "base/util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/user.h>
#include <stdlib.h>
#include <sys/wait.h>

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t alarm_fired;
static bool releasing;		/* inside pt_release_pending() */

static void guard_handler(int sig)
{
	if (sig == SIGALRM)
		alarm_fired = 1;
	else if (!stop_signal)
		stop_signal = sig;
}

void pt_install_signal_guard(void)
{
	static bool installed;
	struct sigaction sa;
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };

	if (installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = guard_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: waits must return EINTR */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	installed = true;
}

void pt_remove_signal_guard(void)
{
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	/* One that came after the last look at the flag: act on it now. */
	if (stop_signal)
		raise(stop_signal);
}

int pt_interrupted(void)
{
	return stop_signal;
}

int pt_seize_interrupt(int tid)
{
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		int err = -errno;
		/* Seized but not interruptible: it is exiting.  Our exit or
		 * its exit ends the attachment. */
		return err;
	}
	return 0;
}

static void arm_alarm(double seconds)
{
	struct itimerval it = { 0 };

	if (seconds < 0.001)
		seconds = 0.001;
	it.it_value.tv_sec = (time_t)seconds;
	it.it_value.tv_usec = (suseconds_t)((seconds - (double)it.it_value.tv_sec) * 1e6);
	alarm_fired = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_alarm(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* A thread that exited but cannot be reaped yet: a zombie leader, whose
 * exit the kernel reports only once the other threads are reaped (ours,
 * traced, only when we wait for them).  Waiting for it would take the
 * whole deadline. */
static bool is_zombie(int tid)
{
	struct proc_stat st;

	return proc_read_stat(tid, tid, &st) < 0 || proc_stat_gone(&st);
}

#define WAIT_SLICE 0.05	/* s: how often a blocked wait looks for a zombie */

enum pt_stop pt_wait_stop(int tid, double deadline, int *pending_sig)
{
	*pending_sig = 0;
	for (;;) {
		int st;
		pid_t r;

		/* After Ctrl-C, waits go on only to release threads: those
		 * callers pass a short deadline and ignore PT_INTERRUPTED. */
		if (stop_signal && !releasing)
			return PT_INTERRUPTED;
		/* Cheap first try: most threads have stopped already. */
		r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r == 0) {
			double left = deadline - now_sec();
			if (left <= 0)
				return PT_TIMEOUT;
			arm_alarm(left < WAIT_SLICE ? left : WAIT_SLICE);
			r = waitpid(tid, &st, __WALL);
			disarm_alarm();
			if (r < 0 && errno == EINTR) {
				if (stop_signal && !releasing)
					return PT_INTERRUPTED;
				if (is_zombie(tid))
					return PT_EXITED;
				continue;	/* deadline is checked above */
			}
		}
		if (r < 0)
			return errno == ECHILD ? PT_EXITED : PT_EXITED;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return PT_EXITED;
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		int event = (st >> 16) & 0xff;
		if (event == PTRACE_EVENT_STOP) {
			/* Our interrupt (SIGTRAP) or a group stop: stopped. */
			return PT_STOPPED;
		}
		/* A signal-delivery stop: the thread is stopped too, and the
		 * signal must be handed back on detach. */
		*pending_sig = sig;
		return PT_STOPPED;
	}
}

int pt_get_regs(int tid, struct cpu_regs *regs)
{
	struct user_regs_struct u;

	if (ptrace(PTRACE_GETREGS, tid, 0, &u) < 0)
		return -errno;
	memset(regs, 0, sizeof(*regs));
	regs->r[REG_DW_RAX] = u.rax;
	regs->r[REG_DW_RDX] = u.rdx;
	regs->r[REG_DW_RCX] = u.rcx;
	regs->r[REG_DW_RBX] = u.rbx;
	regs->r[REG_DW_RSI] = u.rsi;
	regs->r[REG_DW_RDI] = u.rdi;
	regs->r[REG_DW_RBP] = u.rbp;
	regs->r[REG_DW_RSP] = u.rsp;
	regs->r[REG_DW_R8] = u.r8;
	regs->r[REG_DW_R9] = u.r9;
	regs->r[REG_DW_R10] = u.r10;
	regs->r[REG_DW_R11] = u.r11;
	regs->r[REG_DW_R12] = u.r12;
	regs->r[REG_DW_R13] = u.r13;
	regs->r[REG_DW_R14] = u.r14;
	regs->r[REG_DW_R15] = u.r15;
	regs->r[REG_DW_RIP] = u.rip;
	regs->valid = REGS_ALL_VALID;
	regs->orig_rax = (long)u.orig_rax;
	regs->rax = u.rax;
	regs->fs_base = u.fs_base;
	/* 32-bit code runs in the compat code segment (__USER32_CS, 0x23):
	 * its registers are the low halves, r8-r15 do not exist, and its
	 * system calls take their arguments in ebx, ecx, edx, esi, edi, ebp. */
	regs->arch = u.cs == 0x23 ? ARCH_I386 : ARCH_X86_64;
	if (regs->arch == ARCH_I386) {
		regs->valid &= ~(0xffu << REG_DW_R8);
		regs->orig_rax = (int32_t)u.orig_rax;
		regs->rax = (uint64_t)(int64_t)(int32_t)u.rax;
	}
	regs_syscall_args(regs, regs->arch);
	return 0;
}

int pt_detach(int tid, int sig)
{
	if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) < 0)
		return -errno;
	return 0;
}

static int *pending;
static size_t npending, cappending;

void pt_forget(int tid)
{
	if (grow_array(&pending, &cappending, npending + 1, sizeof(*pending)) == 0)
		pending[npending++] = tid;
}

int pt_release_pending(double seconds)
{
	double deadline = now_sec() + seconds;
	size_t kept = 0;

	releasing = true;
	for (size_t i = 0; i < npending; i++) {
		int sig;
		enum pt_stop r = pt_wait_stop(pending[i], deadline, &sig);
		if (r == PT_STOPPED)
			pt_detach(pending[i], sig);
		else if (r != PT_EXITED)
			pending[kept++] = pending[i];
	}
	releasing = false;
	npending = kept;
	return (int)kept;
}
