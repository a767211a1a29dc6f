/*
 * python/names: threads' `threading` names; see names.h.
 *
 * One pass over threading._active: each key (an int, the ident) is
 * looked up among the threads read, sorted by ident, and only a thread
 * found has its Thread's `_name` read.  Instances of one class share
 * their attribute layout (split keys, 3.11+ values), which
 * py_attr_cache remembers: at 1,001 threads the names cost a few reads
 * each.  Reads go through memory.h's page cache, like code objects:
 * what changes as the program runs (a thread started, renamed) is seen
 * at the next reading, after memory_reset().
 */
#include "python/names.h"
#include "python/objects.h"

#include <errno.h>
#include <stdlib.h>

struct by_ident {
	unsigned long ident;
	int i;
};

static int by_ident_cmp(const void *a, const void *b)
{
	const struct by_ident *x = a, *y = b;

	return x->ident < y->ident ? -1 : x->ident > y->ident;
}

/* threading._active of the interpreter at interp, opened into d. */
static int active_threads(const struct py_runtime *rt, struct memory *mem, uint64_t interp,
			  struct py_dict *d)
{
	const struct py_obj_layout *o = &rt->o;
	uint64_t modules, threading, mdict, active;
	int ret;

	if (!interp || o->is_modules < 0 || o->md_dict < 0 ||
	    memory_read(mem, interp + o->is_modules, &modules, 8) != 0)
		return -EFAULT;
	ret = py_dict_get(rt, mem, modules, "threading", &threading);
	if (ret)
		return ret;
	if (memory_read(mem, threading + o->md_dict, &mdict, 8) != 0)
		return -EFAULT;
	ret = py_dict_get(rt, mem, mdict, "_active", &active);
	return ret ? ret : py_dict_open(rt, mem, active, d);
}

int py_names_read(const struct py_runtime *rt, struct memory *mem, uint64_t interp,
		  struct py_thread *t, int n)
{
	struct py_attr_cache cache = { 0 };
	struct by_ident *by;
	struct py_dict d;
	int nb = 0;

	if (n <= 0 || active_threads(rt, mem, interp, &d) != 0)
		return 0;
	by = malloc(n * sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (t[i].ident)
			by[nb++] = (struct by_ident){ t[i].ident, i };
	qsort(by, nb, sizeof(*by), by_ident_cmp);
	for (int64_t i = 0; i < d.n; i++) {
		uint64_t key, thread, ident, name;
		if (py_dict_entry(rt, mem, &d, i, &key, &thread) != 0 || !key || !thread ||
		    py_long_read(rt, mem, key, &ident) != 0)
			continue;
		struct by_ident k = { ident, 0 }, *hit = bsearch(&k, by, nb, sizeof(*by), by_ident_cmp);
		if (hit && py_attr_get(rt, mem, &cache, thread, "_name", &name) == 0)
			py_str_read(rt, mem, name, t[hit->i].name, sizeof(t[hit->i].name));
	}
	free(by);
	return 0;
}
