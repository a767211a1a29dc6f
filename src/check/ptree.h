/*
 * ptree: the processes below one process, read from /proc (each stat's
 * parent pid), for `check --timeout`: what is alive in a command's tree
 * at its deadline, and what is left to end.
 *
 * A snapshot of a moving tree: a process forked after its parent was
 * read is missing, so whoever ends a tree lists it again until nothing
 * is left.  The caller owns the array.
 */
#ifndef THREADLEAK_PTREE_H
#define THREADLEAK_PTREE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Every process below root (not root itself), parents before their
 * children, brothers by pid; the process except (its subtree too) left
 * out when it is not 0; zombies only when with_zombies.  0 and a malloc'd
 * array (NULL when there is none), or -errno.
 */
int ptree_list(int root, int except, bool with_zombies, int **pids, size_t *n);

#endif
