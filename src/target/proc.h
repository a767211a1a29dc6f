/*
 * proc: everything threadleak reads from /proc, without ptrace.
 *
 * Each reader fills a caller-provided struct and returns 0 or -errno
 * (-ENOENT/-ESRCH when the task is gone).  Paths are /proc/PID/task/TID/...
 * so that a thread's files are read through its own process.
 */
#ifndef THREADLEAK_PROC_H
#define THREADLEAK_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/cgroup.h"
#include "target/regs.h"

#define PF_KTHREAD_FLAG 0x00200000UL
#define PF_EXITING_FLAG 0x00000004UL

struct proc_stat {
	char comm[64];
	char state;
	int ppid;
	unsigned long flags;
	uint64_t utime, stime;
	uint64_t start_time;
	long num_threads;
	int processor;		/* CPU it last ran on */
	uint64_t sigpending;	/* its own pending signals (bit N-1: N) */
};

/*
 * Keeps /proc/PID/task open so that the per-thread readers below open
 * their files relative to it (for that pid only).  One at a time.
 */
int proc_open_task_dir(int pid);
void proc_close_task_dir(void);

/* /proc/PID/task/TID/stat; the leader's (TID = PID) when tid <= 0, whose
 * utime and stime are then the leader's own, not the process's. */
int proc_read_stat(int pid, int tid, struct proc_stat *st);
/* pid's start time (clock ticks after boot: with pid, which process it
 * is), 0 when it is gone. */
uint64_t proc_start_time(int pid);

/*
 * What a stat says of a thread's life, from least to most:
 *   gone     a zombie or dead (Z, X);
 *   exiting  gone, or in do_exit (PF_EXITING);
 *   dying    exiting, or with SIGKILL pending, which exit_group and a
 *            fatal signal give every thread before it runs again (a
 *            thread held in a ptrace stop may not have run since).
 */
bool proc_stat_gone(const struct proc_stat *st);
bool proc_stat_exiting(const struct proc_stat *st);
bool proc_stat_dying(const struct proc_stat *st);

/* Whether no thread of pid lives on: gone, or every thread dying.  One
 * thread with SIGKILL pending is enough: only a group exit gives it, and
 * the thread that called exit_group has neither it nor PF_EXITING for an
 * instant (preempted there, it looks alive). */
bool proc_process_ending(int pid);

/* A thread of pid through which its memory map, memory, files and
 * executable can be read: pid itself, unless it is a zombie leader (it
 * called pthread_exit: its maps, mem and fd are empty while the others
 * run), then any live thread's, which give the same process. */
int proc_live_thread(int pid);

/* Task ids of pid, ascending, malloc'd into *tids (caller frees); on an
 * error, none (*tids NULL, *n 0). */
int proc_list_tasks(int pid, int **tids, size_t *n);

struct proc_syscall {
	bool running;		/* the file said "running" */
	long nr;		/* syscall number; -1 when blocked outside one */
	uint64_t args[6];
	uint64_t sp, pc;
};

/* /proc/PID/task/TID/syscall: needs ptrace access, does not stop. */
int proc_read_syscall(int pid, int tid, struct proc_syscall *sc);

/* /proc/PID/task/TID/wchan into buf ("0" means none: buf set to ""). */
int proc_read_wchan(int pid, int tid, char *buf, size_t size);

/* se.exec_start of /proc/PID/task/TID/sched, in ms of the scheduler clock. */
int proc_read_exec_start(int pid, int tid, double *ms);
/*
 * The scheduler clock now, in ms, on each CPU (clocks of different CPUs
 * can be seconds apart on a VM): now_ms[cpu] for cpu < ncpu, <0 where it
 * could not be measured.  Moves the calling thread to each CPU in turn and
 * back.  Returns the number of CPUs measured.
 */
int proc_sched_clock_ms(double *now_ms, int ncpu);

/*
 * /proc/PID/task/TID/schedstat: how many times the task was run, and its
 * CPU time.  A task that runs at all moves the second; one that blocked
 * and woke moves the first (a thread spinning alone on a CPU can run for
 * long without being run again, so the count alone does not show it).
 */
struct proc_runs {
	uint64_t count;
	uint64_t ns;
};

int proc_read_runs(int pid, int tid, struct proc_runs *r);

/*
 * The CPU time of the whole process in ns, all its threads ever (its POSIX
 * process CPU clock; not from /proc, and readable without ptrace access).
 * It moves whenever any of its threads runs at all, so an unchanged value
 * says that none ran in between: one call instead of a read per thread.
 */
int proc_process_cpu_ns(int pid, uint64_t *ns);

/*
 * Kept descriptors, for a caller that asks again and again (top reads
 * every thread's "schedstat", check a creating thread's "syscall"): one
 * pread instead of open, read and close.  A descriptor follows the
 * thread, not its tid: once the thread has exited, reads fail with -ESRCH
 * even if the tid was reused.
 */
int proc_open_task_file(int pid, int tid, const char *file);
int proc_pread_runs(int fd, struct proc_runs *r);
int proc_pread_syscall(int fd, struct proc_syscall *sc);

/* readlink of /proc/PID/fd/FD and /proc/PID/exe into buf. */
int proc_read_fd_link(int pid, int fd, char *buf, size_t size);
int proc_read_exe(int pid, char *buf, size_t size);

/*
 * The instruction set of the program pid runs, from the ELF header of
 * /proc/PID/exe (the file mapped, whatever is at its path now): 64-bit
 * x86_64 or 32-bit i386.  0; -ENOTSUP for another (x32, a foreign
 * machine: *what says which, "x32"); -ESRCH; -errno.
 */
int proc_read_arch(int pid, enum arch *arch, const char **what);

/* Seconds since boot (/proc/uptime), the clock of stat's start_time. */
int proc_uptime(double *sec);

/* A number field of /proc/PID/status ("Tgid:", "TracerPid:"). */
int proc_read_status_field(int pid, const char *field, long *value);

/* Its pid in its own PID namespace: the last of NSpid: in
 * /proc/PID/status (pid itself when it shares threadleak's).  0,
 * -ENODATA (a kernel before 4.1), -ESRCH. */
int proc_read_nspid(int pid, int *nspid);

/* Where it runs, from /proc/PID/cgroup (model/cgroup.h): 0, -EINVAL for
 * a file not to be trusted (info then empty), -ESRCH. */
int proc_read_cgroup(int pid, struct cgroup_info *info);

/* Reads an int from a file such as /proc/sys/kernel/yama/ptrace_scope. */
int proc_read_int_file(const char *path, long *value);

#endif
