/*
 * classify-table: the data behind classify.c.  To teach threadleak a new
 * wait, add a row here (and a case to tests/unit/test_classify.c).
 */
#include "capture/classify.h"

#include <sys/syscall.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct syscall_rule syscall_rules[] = {
	{ SYS_read, WAIT_READ, 0, -1 },
	{ SYS_readv, WAIT_READ, 0, -1 },
	{ SYS_pread64, WAIT_READ, 0, -1 },
	{ SYS_preadv, WAIT_READ, 0, -1 },
	{ SYS_preadv2, WAIT_READ, 0, -1 },
	{ SYS_recvfrom, WAIT_READ, 0, -1 },
	{ SYS_recvmsg, WAIT_READ, 0, -1 },
	{ SYS_recvmmsg, WAIT_READ, 0, -1 },
	{ SYS_msgrcv, WAIT_READ, -1, -1 },
	{ SYS_mq_timedreceive, WAIT_READ, 0, -1 },
	{ SYS_write, WAIT_WRITE, 0, -1 },
	{ SYS_writev, WAIT_WRITE, 0, -1 },
	{ SYS_pwrite64, WAIT_WRITE, 0, -1 },
	{ SYS_pwritev, WAIT_WRITE, 0, -1 },
	{ SYS_pwritev2, WAIT_WRITE, 0, -1 },
	{ SYS_sendto, WAIT_WRITE, 0, -1 },
	{ SYS_sendmsg, WAIT_WRITE, 0, -1 },
	{ SYS_sendmmsg, WAIT_WRITE, 0, -1 },
	{ SYS_sendfile, WAIT_WRITE, 0, -1 },
	{ SYS_splice, WAIT_WRITE, 2, -1 },
	{ SYS_msgsnd, WAIT_WRITE, -1, -1 },
	{ SYS_mq_timedsend, WAIT_WRITE, 0, -1 },
	{ SYS_poll, WAIT_POLL, -1, 0 },
	{ SYS_ppoll, WAIT_POLL, -1, 0 },
	{ SYS_select, WAIT_POLL, -1, -1 },
	{ SYS_pselect6, WAIT_POLL, -1, -1 },
	{ SYS_epoll_wait, WAIT_EPOLL, 0, -1 },
	{ SYS_epoll_pwait, WAIT_EPOLL, 0, -1 },
#ifdef SYS_epoll_pwait2
	{ SYS_epoll_pwait2, WAIT_EPOLL, 0, -1 },
#endif
	{ SYS_accept, WAIT_ACCEPT, 0, -1 },
	{ SYS_accept4, WAIT_ACCEPT, 0, -1 },
	{ SYS_connect, WAIT_CONNECT, 0, -1 },
	{ SYS_nanosleep, WAIT_SLEEP, -1, -1 },
	{ SYS_clock_nanosleep, WAIT_SLEEP, -1, -1 },
	{ SYS_wait4, WAIT_WAIT, -1, -1 },
	{ SYS_waitid, WAIT_WAIT, -1, -1 },
	{ SYS_pause, WAIT_SIGNAL, -1, -1 },
	{ SYS_rt_sigsuspend, WAIT_SIGNAL, -1, -1 },
	{ SYS_rt_sigtimedwait, WAIT_SIGNAL, -1, -1 },
	{ SYS_futex, WAIT_FUTEX, -1, 0 },
#ifdef SYS_futex_wait
	{ SYS_futex_wait, WAIT_FUTEX, -1, 0 },
#endif
	{ SYS_semop, WAIT_FUTEX, -1, -1 },
	{ SYS_semtimedop, WAIT_FUTEX, -1, -1 },
	{ SYS_flock, WAIT_MUTEX, 0, -1 },
};
const size_t n_syscall_rules = N(syscall_rules);

/*
 * For futex waits: the innermost frame that matches decides, so a condvar
 * waiter re-taking its mutex (__pthread_mutex_cond_lock) is a mutex wait.
 */
const struct frame_rule futex_frame_rules[] = {
	/* first: classify.c also looks for this row alone */
	{ "pthread_mutex_", WAIT_MUTEX },
	{ "lll_lock_wait", WAIT_MUTEX },
	{ "pthread_rwlock_", WAIT_MUTEX },
	{ "mtx_lock", WAIT_MUTEX },
	{ "mtx_timedlock", WAIT_MUTEX },
	{ "pthread_cond_", WAIT_CONDVAR },
	{ "cnd_wait", WAIT_CONDVAR },
	{ "cnd_timedwait", WAIT_CONDVAR },
	{ "pthread_join", WAIT_JOIN },
	{ "pthread_timedjoin", WAIT_JOIN },
	{ "pthread_clockjoin", WAIT_JOIN },
	{ "thrd_join", WAIT_JOIN },
	{ "sem_", WAIT_FUTEX },
	{ "new_sem_", WAIT_FUTEX },
	{ "pthread_barrier_", WAIT_FUTEX },
	{ "pthread_once", WAIT_FUTEX },
};
const size_t n_futex_frame_rules = N(futex_frame_rules);

/*
 * restart_syscall hides which call was restarted (after a ptrace stop or
 * SIGSTOP of a sleep, poll or timed futex wait): the libc wrapper on the
 * stack tells.  These names must match exactly (after normalization), so
 * that a program's own poll_loop() is not taken for poll().
 */
const struct frame_rule restart_frame_rules[] = {
	{ "clock_nanosleep", WAIT_SLEEP },
	{ "nanosleep", WAIT_SLEEP },
	{ "sleep", WAIT_SLEEP },
	{ "usleep", WAIT_SLEEP },
	{ "poll", WAIT_POLL },
	{ "ppoll", WAIT_POLL },
	{ "select", WAIT_POLL },
	{ "pselect", WAIT_POLL },
	{ "epoll_wait", WAIT_EPOLL },
	{ "epoll_pwait", WAIT_EPOLL },
};
const size_t n_restart_frame_rules = N(restart_frame_rules);

/*
 * Blocking calls that return EINTR (not a transparent restart) when the
 * thread is stopped by ptrace, so capture never stops a thread in them.
 * Socket calls are here because any of them may run with a timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO), which turns a restart into EINTR.
 */
const long eintr_syscalls[] = {
	SYS_epoll_wait, SYS_epoll_pwait,
#ifdef SYS_epoll_pwait2
	SYS_epoll_pwait2,
#endif
	SYS_semop, SYS_semtimedop, SYS_rt_sigtimedwait, SYS_io_getevents,
#ifdef SYS_io_pgetevents
	SYS_io_pgetevents,
#endif
	SYS_io_uring_enter, SYS_mq_timedreceive, SYS_mq_timedsend,
	SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_sendto, SYS_sendmsg,
	SYS_sendmmsg, SYS_accept, SYS_accept4, SYS_connect,
};
const size_t n_eintr_syscalls = N(eintr_syscalls);

/* Kernel wait points, for when neither the syscall nor the stack says. */
const struct wchan_rule wchan_rules[] = {
	{ "futex", WAIT_FUTEX },
	{ "hrtimer_nanosleep", WAIT_SLEEP },
	{ "do_nanosleep", WAIT_SLEEP },
	{ "do_sys_poll", WAIT_POLL },
	{ "poll_schedule_timeout", WAIT_POLL },
	{ "do_select", WAIT_POLL },
	{ "core_sys_select", WAIT_POLL },
	{ "ep_poll", WAIT_EPOLL },
	{ "do_epoll_wait", WAIT_EPOLL },
	{ "pipe_read", WAIT_READ },
	{ "anon_pipe_read", WAIT_READ },
	{ "pipe_write", WAIT_WRITE },
	{ "anon_pipe_write", WAIT_WRITE },
	{ "unix_stream_read", WAIT_READ },
	{ "unix_stream_data_wait", WAIT_READ },
	{ "sk_wait_data", WAIT_READ },
	{ "wait_woken", WAIT_READ },
	{ "inet_csk_accept", WAIT_ACCEPT },
	{ "unix_wait_for_peer", WAIT_CONNECT },
	{ "inet_wait_for_connect", WAIT_CONNECT },
	{ "do_wait", WAIT_WAIT },
	{ "kernel_wait4", WAIT_WAIT },
	{ "sigsuspend", WAIT_SIGNAL },
	{ "do_sigtimedwait", WAIT_SIGNAL },
	{ "sys_pause", WAIT_SIGNAL },
};
const size_t n_wchan_rules = N(wchan_rules);

/*
 * A goroutine's wait, as its runtime names it (runtime.waitReasonStrings,
 * read from the process), to the nearest kind; the first rule whose text
 * begins the reason wins.  The reason itself is kept beside the kind.
 */
const struct go_reason_rule go_reason_rules[] = {
	{ "chan receive", WAIT_READ },		/* also "(nil chan)" */
	{ "chan send", WAIT_WRITE },
	{ "select", WAIT_POLL },		/* also "(no cases)" */
	{ "IO wait", WAIT_POLL },		/* the network poller */
	{ "sync.Mutex.Lock", WAIT_MUTEX },
	{ "sync.RWMutex", WAIT_MUTEX },		/* .Lock, .RLock */
	{ "sync.WaitGroup.Wait", WAIT_JOIN },
	{ "sync.Cond.Wait", WAIT_CONDVAR },
	{ "semacquire", WAIT_FUTEX },		/* a semaphore (1.19: also Mutex) */
	{ "sleep", WAIT_SLEEP },
	{ "wait for GC cycle", WAIT_OTHER },
};
const size_t n_go_reason_rules = N(go_reason_rules);
