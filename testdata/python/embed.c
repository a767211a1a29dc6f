/*
 * embed: a C program embedding CPython: it loads the libpython named by
 * its first argument (dlopen, so that no Python headers are needed to
 * build it and the library may have any name) and runs the script named
 * by its second in it.  threadleak must find such an interpreter by the
 * _PyRuntime the library exports, never by the program's name, and tell
 * its version without the library's name (tests/unit/test_python.c runs
 * waits.py in it, PYTHONHOME set to the library's installation).
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void (*init)(void);
	int (*run)(FILE *, const char *, int, void *);
	void *lib;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: embed LIBPYTHON SCRIPT\n");
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	*(void **)&init = dlsym(lib, "Py_Initialize");
	*(void **)&run = dlsym(lib, "PyRun_SimpleFileExFlags");
	f = fopen(argv[2], "r");
	if (!init || !run || !f) {
		fprintf(stderr, "embed: %s\n", f ? "not a libpython" : argv[2]);
		return 1;
	}
	init();
	return run(f, argv[2], 1, NULL) ? 1 : 0;
}
