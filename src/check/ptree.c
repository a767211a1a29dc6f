/*
 * ptree: the processes below one process; see ptree.h.
 *
 * One pass over /proc reads every process's parent (its stat), then the
 * ones below root are marked, parents first: a pass over the list (sorted
 * by pid) marks a process whose parent is marked, again until a pass
 * marks nothing (a child's pid can be lower than its parent's once pids
 * wrap).  Then a walk from root writes them out in tree order.  A system
 * has hundreds of processes and a command's tree a few: cheap enough to
 * do every few milliseconds while a tree is being ended.
 */
#include "check/ptree.h"
#include "target/proc.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

struct node {
	int pid, ppid;
	bool zombie, below;
};

static int by_pid(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Appends the children of parent (marked ones), each before its own. */
static int walk(const struct node *nodes, size_t nn, int parent, bool with_zombies,
		int **pids, size_t *n, size_t *cap, int depth)
{
	if (depth > 4096)
		return 0;	/* a loop in what /proc said: stop */
	for (size_t i = 0; i < nn; i++) {
		if (!nodes[i].below || nodes[i].ppid != parent)
			continue;
		if (with_zombies || !nodes[i].zombie) {
			if (grow_array(pids, cap, *n + 1, sizeof(**pids)) < 0)
				return -ENOMEM;
			(*pids)[(*n)++] = nodes[i].pid;
		}
		int rc = walk(nodes, nn, nodes[i].pid, with_zombies, pids, n, cap, depth + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ptree_list(int root, int except, bool with_zombies, int **pids, size_t *n)
{
	struct node *nodes = NULL;
	size_t nn = 0, cap = 0, pcap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int rc = 0;

	*pids = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct proc_stat st;
		if (*end || pid <= 0 || pid == root || pid == except ||
		    proc_read_stat((int)pid, 0, &st) < 0)
			continue;	/* not a process, or gone */
		if (grow_array(&nodes, &cap, nn + 1, sizeof(*nodes)) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		nodes[nn++] = (struct node){ (int)pid, st.ppid,
					     st.state == 'Z' || st.state == 'X', false };
	}
	if (nn)	/* else nodes is NULL, which qsort may not be given */
		qsort(nodes, nn, sizeof(*nodes), by_pid);
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < nn; i++) {
			if (nodes[i].below)
				continue;
			struct node key = { .pid = nodes[i].ppid };
			const struct node *parent = bsearch(&key, nodes, nn, sizeof(*nodes),
							    by_pid);
			if (nodes[i].ppid == root || (parent && parent->below))
				nodes[i].below = more = true;
		}
	}
	rc = walk(nodes, nn, root, with_zombies, pids, n, &pcap, 0);
	if (rc < 0) {
		free(*pids);
		*pids = NULL;
		*n = 0;
	}
out:
	closedir(d);
	free(nodes);
	return rc;
}
