/*
 * privilege: what reading other processes needs, kept, and nothing else.
 *
 * Reading a process from outside takes two capabilities: CAP_SYS_PTRACE
 * (to attach, and to read the memory and the /proc files the kernel
 * guards as ptrace does: maps, mem, stack, fd) and CAP_DAC_READ_SEARCH
 * (for the /proc files of another user's process that are mode 0400, and
 * the target's program and libraries through /proc/PID/root, which may be
 * anyone's files).  A long-lived reader (serve) drops every other one
 * once it has what it needed more for (its port bound): from its
 * effective, permitted, inheritable and ambient sets, and, when it may
 * (CAP_SETPCAP), the bounding set, so that nothing it runs later gets
 * them back; and sets no_new_privs.  Run by a user given just those two
 * (setcap, or systemd's AmbientCapabilities), it has as much as root
 * would keep.
 */
#ifndef THREADLEAK_PRIVILEGE_H
#define THREADLEAK_PRIVILEGE_H

#include <stddef.h>

/*
 * Keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (those of them held) and
 * drops every other capability; sets no_new_privs.  0, or -errno with why
 * in err.  missing gets, when one of the two is not held, a sentence of
 * what that costs ("" when both are): the caller says it.
 */
int privilege_keep_tracing(char *missing, size_t missing_len, char *err, size_t errlen);

#endif
