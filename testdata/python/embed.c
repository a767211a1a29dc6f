/*
 * embed: a C program embedding CPython (linked to libpython3.X.so) that
 * runs the script named by its argument: threadleak finds such an
 * interpreter by the _PyRuntime the library exports, never by the
 * program's name (tests/unit/test_python.c runs waits.py in it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char **argv)
{
	FILE *f;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: embed SCRIPT\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	Py_Initialize();
	ret = PyRun_SimpleFileEx(f, argv[1], 1);
	Py_Finalize();
	return ret ? 1 : 0;
}
