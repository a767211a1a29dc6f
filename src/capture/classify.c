/*
 * classify: applies the tables of classify-table.c; see classify.h.
 *
 * Order of evidence: a thread on a CPU is running; otherwise the system
 * call and its arguments; for futex waits (and for restart_syscall, whose
 * number says nothing) the innermost recognised frame; then the kernel's
 * wait point; and last "other" with the syscall name.
 */
#include "capture/classify.h"
#include "stacks/symbols.h"

#include <string.h>
#include <sys/syscall.h>

static const struct frame_rule *match_frames(const struct classify_input *in,
					     const struct frame_rule *rules,
					     size_t nrules, bool exact)
{
	for (size_t i = 0; i < in->nframes; i++) {
		const char *fn = in->frames[i].function;
		if (!fn)
			continue;
		fn = symbols_public_name(fn);
		for (size_t r = 0; r < nrules; r++)
			if (exact ? strcmp(fn, rules[r].prefix) == 0 :
			    strncmp(fn, rules[r].prefix, strlen(rules[r].prefix)) == 0)
				return &rules[r];
	}
	return NULL;
}

static enum wait_kind match_wchan(const char *wchan)
{
	if (!wchan || !*wchan)
		return WAIT_UNKNOWN;
	for (size_t r = 0; r < n_wchan_rules; r++)
		if (strncmp(wchan, wchan_rules[r].prefix,
			    strlen(wchan_rules[r].prefix)) == 0)
			return wchan_rules[r].kind;
	return WAIT_UNKNOWN;
}

static const struct syscall_rule *match_syscall(long nr)
{
	for (size_t r = 0; r < n_syscall_rules; r++)
		if (syscall_rules[r].nr == nr)
			return &syscall_rules[r];
	return NULL;
}

void classify_wait(const struct classify_input *in, struct classify_result *out)
{
	const struct syscall_rule *sr;
	const struct frame_rule *fr;
	enum wait_kind wk;

	out->kind = WAIT_OTHER;
	out->fd = -1;
	out->address = 0;
	out->pthread_mutex = false;
	out->reason = "syscall";

	if (in->state == 'R') {
		out->kind = WAIT_RUNNING;
		out->reason = "state";
		return;
	}
	if (in->state == 'Z' || in->state == 'X') {
		out->kind = WAIT_UNKNOWN;
		out->reason = "state";
		return;
	}

	sr = in->nr >= 0 ? match_syscall(in->nr) : NULL;
	if (sr && in->args) {
		if (sr->fd_arg >= 0)
			out->fd = (int)in->args[sr->fd_arg];
		if (sr->addr_arg >= 0)
			out->address = in->args[sr->addr_arg];
	}
	if (sr && sr->kind != WAIT_FUTEX) {
		out->kind = sr->kind;
		return;
	}
	if (sr && in->nr == SYS_futex) {
		fr = match_frames(in, futex_frame_rules, n_futex_frame_rules, false);
		out->kind = fr ? fr->kind : WAIT_FUTEX;
		/* The innermost match may be the lock primitive under
		 * pthread_mutex_lock: any pthread_mutex_ frame above it says
		 * the futex word is a pthread_mutex_t. */
		out->pthread_mutex = fr && out->kind == WAIT_MUTEX &&
			match_frames(in, futex_frame_rules, 1, false);
		out->reason = fr ? "frame" : "syscall";
		return;
	}
	if (sr) {
		out->kind = sr->kind;
		return;
	}
	/* restart_syscall, no syscall, or one we have no rule for. */
	if (in->nr == SYS_restart_syscall || in->nr < 0) {
		fr = match_frames(in, restart_frame_rules, n_restart_frame_rules, true);
		if (!fr)
			fr = match_frames(in, futex_frame_rules,
					  n_futex_frame_rules, false);
		if (fr) {
			out->kind = fr->kind;
			out->reason = "frame";
			return;
		}
	}
	wk = match_wchan(in->wchan);
	if (wk != WAIT_UNKNOWN) {
		out->kind = wk;
		out->reason = "wchan";
		return;
	}
	out->kind = WAIT_OTHER;
}

bool stop_would_eintr(long nr, bool fd_is_socket)
{
	for (size_t i = 0; i < n_eintr_syscalls; i++)
		if (eintr_syscalls[i] == nr)
			return true;
	if (fd_is_socket)
		return nr == SYS_read || nr == SYS_readv || nr == SYS_write ||
		       nr == SYS_writev;
	return false;
}

enum wait_kind classify_go_reason(const char *reason)
{
	for (size_t i = 0; reason && i < n_go_reason_rules; i++)
		if (strncmp(reason, go_reason_rules[i].prefix,
			    strlen(go_reason_rules[i].prefix)) == 0)
			return go_reason_rules[i].kind;
	return WAIT_OTHER;
}
