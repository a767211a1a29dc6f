/*
 * unwind: backend table and selection; the backends live in their files.
 */
#include "stacks/unwind.h"

#include <string.h>

static const struct unwind_ops *const backends[] = {
	&unwind_libdw_ops,
	&unwind_libunwind_ops,
};

const struct unwind_ops *unwind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const struct unwind_ops *unwind_default(void)
{
	return &unwind_libdw_ops;
}
