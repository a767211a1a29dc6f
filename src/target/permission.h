/*
 * permission: why the kernel refuses threadleak a process, in words, with
 * the fix.
 *
 * Without CAP_SYS_PTRACE the answer is the usual one (the same user, or
 * the capability; Yama's ptrace_scope).  With it, telling the user to add
 * it is no help, so the refusal is explained by what differs:
 *   - the target's /proc files (syscall: mode 0400) are another user's:
 *     reading them needs CAP_DAC_READ_SEARCH (or CAP_DAC_OVERRIDE) too,
 *     whatever CAP_SYS_PTRACE allows (threadleak given cap_sys_ptrace
 *     alone by setcap, run by a user, on a root process);
 *   - the target is in a user namespace that is not threadleak's nor one
 *     below it: a capability counts only there (threadleak in a
 *     container, its target outside);
 *   - else the target holds capabilities threadleak lacks, named from
 *     /proc/PID/status CapPrm and our own effective set (libcap): a
 *     security module (AppArmor, SELinux) may want a tracer with as much.
 */
#ifndef THREADLEAK_PERMISSION_H
#define THREADLEAK_PERMISSION_H

#include <stddef.h>

/* "cannot trace PID: Operation not permitted (WHY: FIX)" into err;
 * returns -EPERM. */
int permission_error(int pid, char *err, size_t errlen);

#endif
