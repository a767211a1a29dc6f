/*
 * fds: what a file descriptor of the target is, in words a person reads:
 * "pipe:[4242]", "tcp 127.0.0.1:8001 -> 127.0.0.1:53122", "tcp listen
 * 0.0.0.0:80", "unix /run/x.sock", "/var/log/app.log".
 *
 * Socket inodes are looked up in the target's own /proc/PID/net tables
 * (its network namespace), each parsed once per fd_table and only when a
 * socket is first described.  The caller owns the table.
 */
#ifndef THREADLEAK_FDS_H
#define THREADLEAK_FDS_H

#include <stddef.h>

struct fd_table;

struct fd_table *fds_open(int pid);
void fds_close(struct fd_table *t);
/* Drops what was learnt of sockets: they are read again when next needed. */
void fds_forget(struct fd_table *t);
/* Fills buf; returns 0 or -errno (the fd is not open). */
int fds_describe(struct fd_table *t, int fd, char *buf, size_t size);
/* The same for an fd whose link (readlink of /proc/PID/fd/N) was read. */
int fds_describe_link(struct fd_table *t, const char *link, char *buf, size_t size);

#endif
