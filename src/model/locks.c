/*
 * locks: follows "waits for a mutex held by" edges; see locks.h.  Each
 * thread waits for at most one lock, so the walk is a simple chain.
 */
#include "model/locks.h"

const struct thread *snapshot_find_thread(const struct snapshot *snap, int tid)
{
	for (size_t i = 0; i < snap->nthreads; i++)
		if (snap->threads[i].tid == tid)
			return &snap->threads[i];
	return NULL;
}

int lock_cycle(const struct snapshot *snap, const struct thread *t,
	       int *cycle, int max)
{
	const struct thread *cur = t;
	int n = 0;

	while (cur && cur->wait.kind == WAIT_MUTEX && cur->wait.owner > 0) {
		if (n == max)
			return 0;
		cycle[n++] = cur->tid;
		if (cur->wait.owner == t->tid)
			return n;
		for (int i = 1; i < n; i++)
			if (cycle[i] == cur->wait.owner)
				return 0;	/* a cycle that t only leads into */
		cur = snapshot_find_thread(snap, cur->wait.owner);
	}
	return 0;
}
