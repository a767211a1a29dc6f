/*
 * classify: what a thread waits on, from its state, system call and
 * arguments, kernel wait point (wchan) and symbolized frames.
 *
 * Pure: no /proc, no memory reads.  It says which argument is the fd or
 * the futex address and whether the futex is a pthread mutex whose owner
 * can be read; capture-wait.c fetches those.  The rules are tables of data
 * in classify-table.c.
 */
#ifndef THREADLEAK_CLASSIFY_H
#define THREADLEAK_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/snapshot.h"
#include "target/syscall-abi.h"

struct classify_input {
	char state;			/* /proc state letter */
	long nr;			/* syscall in progress (its x86_64
					   number: syscall-abi.h), -1 when none */
	const uint64_t *args;		/* its six arguments (may be NULL) */
	const char *wchan;		/* "" or NULL when unknown */
	const struct frame *frames;	/* symbolized, innermost first */
	size_t nframes;
};

struct classify_result {
	enum wait_kind kind;
	int fd;				/* fd waited on, -1 when none */
	uint64_t address;		/* futex address, 0 when none */
	bool pthread_mutex;		/* address is a pthread_mutex_t */
	const char *reason;		/* what decided: "syscall", "frame", "wchan", "state" */
};

void classify_wait(const struct classify_input *in, struct classify_result *out);

/*
 * Whether stopping a thread blocked in syscall nr would make the call fail
 * with EINTR in the program instead of restarting (epoll_wait, semop,
 * sigtimedwait, socket calls that may have a timeout...).  fd_is_socket
 * says whether the call's fd is a socket (read/write on sockets with
 * SO_RCVTIMEO/SO_SNDTIMEO return EINTR too).
 */
bool stop_would_eintr(long nr, bool fd_is_socket);


/* The tables, exported for the unit tests. */
struct go_reason_rule {
	const char *prefix;
	enum wait_kind kind;
};
extern const struct go_reason_rule go_reason_rules[];
extern const size_t n_go_reason_rules;
/* The nearest kind of a goroutine's wait reason ("chan receive"); NULL or
 * an unknown reason is WAIT_OTHER. */
enum wait_kind classify_go_reason(const char *reason);

struct syscall_rule {
	long nr;
	enum wait_kind kind;
	int fd_arg;			/* argument index of the fd, or -1 */
	int addr_arg;			/* argument index of an address, or -1 */
};

struct frame_rule {
	const char *prefix;		/* of the normalized function name */
	enum wait_kind kind;
};

struct wchan_rule {
	const char *prefix;
	enum wait_kind kind;
};

extern const struct syscall_rule syscall_rules[];
extern const size_t n_syscall_rules;
extern const struct frame_rule futex_frame_rules[];
extern const size_t n_futex_frame_rules;
extern const struct frame_rule restart_frame_rules[];
extern const size_t n_restart_frame_rules;
extern const long eintr_syscalls[];
extern const size_t n_eintr_syscalls;
extern const struct wchan_rule wchan_rules[];
extern const size_t n_wchan_rules;

#endif
