// cgoleak: a Go program that calls a C library (through cgo) which starts
// a pthread and leaves it blocked: that thread is the program's own leak,
// and `threadleak check` must report it (c_worker), while it ignores the
// Go runtime's Ms.  Prints "done" and returns from main.
package main

/*
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

static sem_t started;

static void *c_worker(void *arg)
{
	(void)arg;
	sem_post(&started);
	for (;;)
		pause();
	return 0;
}

// Returns once c_worker runs: however loaded the machine, the thread left
// at the exit is in c_worker, not yet to start.
static int start_c_worker(void)
{
	pthread_t t;
	if (sem_init(&started, 0, 0) != 0 || pthread_create(&t, 0, c_worker, 0) != 0)
		return -1;
	while (sem_wait(&started) != 0)
		;
	return 0;
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
