// cgoleak: a Go program that calls a C library (through cgo) which starts
// a pthread and leaves it blocked: that thread is the program's own leak,
// and `threadleak check` must report it (c_worker), while it ignores the
// Go runtime's Ms.  Prints "done" and returns from main.
package main

/*
#include <pthread.h>
#include <unistd.h>

static void *c_worker(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

static int start_c_worker(void)
{
	pthread_t t;
	return pthread_create(&t, 0, c_worker, 0);
}
*/
import "C"

import "fmt"

func main() {
	if C.start_c_worker() != 0 {
		panic("pthread_create")
	}
	fmt.Println("done")
}
