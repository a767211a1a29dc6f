/*
 * tlplugin: the shared library testdata/dlopener loads after it started,
 * as a server loads a plugin.  plugin_start() starts one thread that
 * blocks for good in plugin_wait(), a function only this library has.
 * Build: gcc -g -O2 -shared -fPIC -pthread -o testdata/libtlplugin.so.
 */
#include <pthread.h>
#include <unistd.h>

#include "../testdata.h"

NOINLINE void plugin_wait(void)
{
	for (;;) {
		pause();
		BARRIER();
	}
}

static void *plugin_main(void *arg)
{
	(void)arg;
	plugin_wait();
	return NULL;
}

int plugin_start(void)
{
	pthread_t t;

	return pthread_create(&t, NULL, plugin_main, NULL);
}
