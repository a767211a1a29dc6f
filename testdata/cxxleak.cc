/*
 * cxxleak: C++ threads, for the names threadleak gives C++ code: qualified
 * and demangled, as gdb shows them.  app::start_workers(int) starts N
 * std::threads running app::Worker::run(app::Queue<int>&), each blocked
 * for good in app::Queue<int>::pop() (a condition variable).
 *
 *	cxxleak wait	prints "ready" once they wait, then waits itself
 *	cxxleak leak	detaches them and returns from main while they wait
 *			(a leak for threadleak check)
 *
 * Build: g++ -g -O2 -Wall -Wextra -pthread.
 */
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>
#include <unistd.h>

#include "testdata.h"

namespace app {

template <typename T> class Queue {
public:
	NOINLINE T pop()
	{
		std::unique_lock<std::mutex> lock(mutex_);
		waiting_++;
		changed_.notify_all();
		while (!closed_)
			cv_.wait(lock);
		BARRIER();
		return T();
	}

	void wait_for(int n)
	{
		std::unique_lock<std::mutex> lock(mutex_);
		while (waiting_ < n)
			changed_.wait(lock);
	}

private:
	std::mutex mutex_;
	std::condition_variable cv_, changed_;
	int waiting_ = 0;
	bool closed_ = false;
};

class Worker {
public:
	NOINLINE void run(Queue<int> &q)
	{
		q.pop();
		BARRIER();
	}
};

/* Never destroyed: a condition variable destroyed at exit (a static's
 * destructor) waits for the threads still waiting on it. */
Queue<int> &queue = *new Queue<int>;
Worker worker;

NOINLINE std::vector<std::thread> start_workers(int n)
{
	std::vector<std::thread> v;
	for (int i = 0; i < n; i++)
		v.emplace_back([] { worker.run(queue); });
	BARRIER();
	return v;
}

} // namespace app

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "wait") != 0 && strcmp(argv[1], "leak") != 0)) {
		fprintf(stderr, "usage: cxxleak wait|leak\n");
		return 2;
	}
	std::vector<std::thread> v = app::start_workers(2);
	app::queue.wait_for(2);
	if (strcmp(argv[1], "leak") == 0) {
		for (auto &t : v)
			t.detach();
		return 0;
	}
	alarm(600);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
