/*
 * debuginfod: a budget on libdwfl's debuginfod downloads; see debuginfod.h.
 *
 * The client libdwfl made for the Dwfl carries our progress callback,
 * which libdebuginfod calls about once a second while a transfer runs,
 * data or not; returning nonzero ends that transfer.  Fetching is
 * dwfl_module_getdwarf() on each module: the ordinary search (build id,
 * .gnu_debuglink, the local cache) comes first, debuginfod only after it.
 *
 * threadleak does not link libdebuginfod: libdw loads it (dlopen) when it
 * makes the client, and the three functions used here are looked up in
 * that loaded copy.  Without them no download can be bounded, so none
 * is made.
 *
 * libdwfl (0.188) makes that client, loading libdebuginfod and with it
 * libcurl and some twenty libraries more, the first time a module's debug
 * file is not on disk, DEBUGINFOD_URLS set or not; without URLs the client
 * can fetch nothing, and the load was most of the time of a snapshot of a
 * small program (BENCHMARKS.md).  So threadleak has a dlopen of its own,
 * which the executable exports (the Makefile) so that libdw's call binds
 * to it: libdebuginfod is refused while DEBUGINFOD_URLS is unset or empty,
 * and every other load goes on to the C library's dlopen.
 */
#include "stacks/debuginfod.h"

#include "base/util.h"

#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET_S 30		/* for every download of one run */
#define STALL_S "5"		/* DEBUGINFOD_TIMEOUT unless the user set it */

/* libdebuginfod's functions, from the copy libdw loaded */
static struct {
	void *(*get_user_data)(debuginfod_client *);
	void (*set_user_data)(debuginfod_client *, void *);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
} lib;

static bool is_debuginfod(const char *file)
{
	const char *base = file ? strrchr(file, '/') : NULL;

	base = base ? base + 1 : file;
	return base && strncmp(base, "libdebuginfod", 13) == 0;
}

void *dlopen(const char *file, int flags)
{
	static void *(*next)(const char *, int);
	void *(*fn)(const char *, int) = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
	const char *urls = getenv("DEBUGINFOD_URLS");

	if ((!urls || !*urls) && !(flags & RTLD_NOLOAD) && is_debuginfod(file))
		return NULL;	/* a client that could fetch nothing */
	if (!fn) {
		*(void **)&fn = dlsym(RTLD_NEXT, "dlopen");
		if (!fn)
			return NULL;
		__atomic_store_n(&next, fn, __ATOMIC_RELEASE);
	}
	return fn(file, flags);
}

static bool find_lib(void)
{
	void *h = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD);

	if (!h)
		return false;
	*(void **)&lib.get_user_data = dlsym(h, "debuginfod_get_user_data");
	*(void **)&lib.set_user_data = dlsym(h, "debuginfod_set_user_data");
	*(void **)&lib.set_progressfn = dlsym(h, "debuginfod_set_progressfn");
	/* libdw holds it loaded as long as its client lives */
	dlclose(h);
	return lib.get_user_data && lib.set_user_data && lib.set_progressfn;
}

struct debuginfod_budget {
	debuginfod_client *client;
	double deadline;	/* CLOCK_MONOTONIC seconds */
	double budget;
	bool closed;		/* after the fetch: no more downloads */
	bool gave_up;
};

static int progress(debuginfod_client *c, long done, long total)
{
	struct debuginfod_budget *b = lib.get_user_data(c);

	(void)done;
	(void)total;
	if (!b || b->closed)
		return 1;
	if (now_sec() < b->deadline)
		return 0;
	b->gave_up = true;
	return 1;
}

static int fetch_one(Dwfl_Module *mod, void **userdata, const char *name,
		     Dwarf_Addr start, void *arg)
{
	Dwarf_Addr bias;

	(void)userdata;
	(void)name;
	(void)start;
	(void)arg;
	dwfl_module_getdwarf(mod, &bias);
	return DWARF_CB_OK;
}

/* THREADLEAK_DEBUGINFOD_TIMEOUT as seconds, or the default. */
static double budget_s(void)
{
	const char *v = getenv("THREADLEAK_DEBUGINFOD_TIMEOUT");
	char *end;
	double s = v && *v ? strtod(v, &end) : BUDGET_S;

	if (v && *v && (*end || s < 0 || s > 86400)) {
		fprintf(stderr, "threadleak: THREADLEAK_DEBUGINFOD_TIMEOUT='%.40s' is not a number of seconds; using %d\n",
			v, BUDGET_S);
		s = BUDGET_S;
	}
	return s;
}

struct debuginfod_budget *debuginfod_fetch(Dwfl *dwfl)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (!urls || !*urls)
		return NULL;
	struct debuginfod_budget *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->client = dwfl_get_debuginfod_client(dwfl);
	if (!b->client) {
		free(b);
		return NULL;	/* libdebuginfod not there: nothing to bound */
	}
	if (!find_lib()) {
		/* a client we cannot bound: it makes no download at all */
		fprintf(stderr, "threadleak: debuginfod: libdebuginfod.so.1 lacks the functions to bound its downloads; not downloading\n");
		unsetenv("DEBUGINFOD_URLS");
		free(b);
		return NULL;
	}
	setenv("DEBUGINFOD_TIMEOUT", STALL_S, 0);
	b->budget = budget_s();
	b->deadline = now_sec() + b->budget;
	lib.set_user_data(b->client, b);
	lib.set_progressfn(b->client, progress);
	dwfl_getmodules(dwfl, fetch_one, NULL, 0);
	b->closed = true;
	if (b->gave_up)
		fprintf(stderr, "threadleak: debuginfod: stopped downloading after %.0f s; modules without debug files are named from their symbols (THREADLEAK_DEBUGINFOD_TIMEOUT sets the limit)\n",
			b->budget);
	return b;
}

void debuginfod_close(struct debuginfod_budget *b)
{
	if (!b)
		return;
	/* The client outlives this in the Dwfl: without its budget, the
	 * progress callback refuses every download. */
	lib.set_user_data(b->client, NULL);
	free(b);
}
