/*
 * python/wait: what a Python thread waits on, in Python's words, from its
 * merged stack (python/merge.h) and its wait as the kernel showed it.
 *
 * In this order: waiting for the GIL (the interpreter's take_gil, or the
 * exported calls that lead to it, on top of the stack) beats everything,
 * as the wait that thread is in now is for the GIL whatever it did
 * before; then the standard library's own functions from the innermost
 * Python frame outward, the outermost of a run of them naming the wait
 * (Condition.wait inside Queue.get is "queue.get"); then the C function
 * called from Python (time.sleep, a lock's acquire, a socket's recv),
 * by its symbol; then, for a stripped interpreter whose static functions
 * have no names, the system call (a sleep, an accept, a socket read).
 * Releases before 3.11 name code by co_name alone ("wait", not
 * "Event.wait"): the table matches either, the first entry of a name
 * winning (Condition.wait), and a "wait" right outside another is
 * Event.wait's.
 */
#include "python/wait.h"

#include <string.h>

struct py_word {
	const char *file;	/* the source file's base name */
	const char *qualname;
	const char *words;
};

static const struct py_word py_words[] = {
	{ "queue.py", "Queue.get", "queue.get" },
	{ "queue.py", "Queue.put", "queue.put" },
	{ "queue.py", "Queue.join", "queue.join" },
	{ "queue.py", "_PySimpleQueue.get", "queue.get" },
	{ "threading.py", "Condition.wait", "Condition.wait" },
	{ "threading.py", "Event.wait", "Event.wait" },
	{ "threading.py", "Condition.wait_for", "Condition.wait_for" },
	{ "threading.py", "Semaphore.acquire", "Semaphore.acquire" },
	{ "threading.py", "Barrier.wait", "Barrier.wait" },
	{ "threading.py", "Thread._wait_for_tstate_lock", "Thread.join" },
	{ "threading.py", "Thread.join", "Thread.join" },
	{ "threading.py", "_shutdown", "Thread.join (at exit)" },
	{ "_base.py", "Future.result", "Future.result" },
	{ "_base.py", "wait", "futures.wait" },
	{ "_base.py", "as_completed", "futures.as_completed" },
	{ "selectors.py", "_PollLikeSelector.select", "selector.select" },
	{ "selectors.py", "SelectSelector.select", "selector.select" },
	{ "selectors.py", "KqueueSelector.select", "selector.select" },
	{ "socket.py", "socket.accept", "socket.accept" },
	{ "socket.py", "SocketIO.readinto", "socket.recv" },
	{ "socket.py", "create_connection", "socket.connect" },
	{ "subprocess.py", "Popen.wait", "Popen.wait" },
	{ "subprocess.py", "Popen.communicate", "Popen.communicate" },
	{ "base_events.py", "BaseEventLoop.run_forever", "asyncio loop" },
	{ "base_events.py", "BaseEventLoop.run_until_complete", "asyncio loop" },
};

/* The C functions of the interpreter and its modules called from Python. */
static const struct {
	const char *function, *words;
} c_words[] = {
	{ "time_sleep", "time.sleep" },
	{ "pysleep", "time.sleep" },
	{ "rlock_acquire", "RLock.acquire" },
	{ "lock_PyThread_acquire_lock", "Lock.acquire" },
	{ "PyThread_acquire_lock_timed", "Lock.acquire" },
	{ "_queue_SimpleQueue_get_impl", "queue.get" },
	{ "_queue_SimpleQueue_get", "queue.get" },
	{ "sock_accept", "socket.accept" },
	{ "sock_recv", "socket.recv" },
	{ "sock_recv_into", "socket.recv" },
	{ "sock_recvfrom", "socket.recv" },
	{ "sock_connect", "socket.connect" },
	{ "sock_send", "socket.send" },
	{ "sock_sendall", "socket.send" },
	{ "select_select", "select" },
	{ "select_select_impl", "select" },
	{ "select_poll_poll", "select" },
	{ "select_epoll_poll", "select" },
	{ "select_epoll_poll_impl", "select" },
	{ "os_waitpid", "os.waitpid" },
	{ "os_waitpid_impl", "os.waitpid" },
	{ "os_read", "os.read" },
	{ "os_read_impl", "os.read" },
	{ "_io_FileIO_read", "file read" },
	{ "_io_FileIO_readinto", "file read" },
};

static const char *const gil_functions[] = {
	"take_gil", "PyEval_RestoreThread", "PyEval_AcquireThread",
	"PyEval_AcquireLock", "_PyEval_AcquireLock", "drop_gil",
};

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

/* fn is qualname, or its last part (co_name, before 3.11). */
static bool names(const char *fn, const char *qualname)
{
	const char *dot = strrchr(qualname, '.');

	return strcmp(fn, qualname) == 0 || (dot && !strchr(fn, '.') && strcmp(fn, dot + 1) == 0);
}

static bool is_wait(const struct frame *f)
{
	return f->function && strcmp(f->function, "wait") == 0 &&
	       strcmp(base(f->file), "threading.py") == 0;
}

static const char *known(const struct frame *f)
{
	const char *b = base(f->file);

	for (size_t i = 0; f->function && i < sizeof(py_words) / sizeof(py_words[0]); i++)
		if (strcmp(b, py_words[i].file) == 0 && names(f->function, py_words[i].qualname))
			return py_words[i].words;
	return NULL;
}

/* The outermost of the run of known frames from frames[i] outward. */
static const char *python_words(const struct frame *frames, size_t n, size_t i)
{
	const char *w = NULL;

	for (; i < n && frames[i].python; i++) {
		const char *k = known(&frames[i]);
		if (!k)
			break;
		/* before 3.11 (co_name): "wait" right outside "wait" is
		 * Event.wait around Condition.wait */
		if (w && is_wait(&frames[i]) && is_wait(&frames[i - 1]))
			k = "Event.wait";
		w = k;
	}
	return w;
}

static const char *native_words(const struct frame *f)
{
	for (size_t i = 0; f->function && i < sizeof(c_words) / sizeof(c_words[0]); i++)
		if (strcmp(f->function, c_words[i].function) == 0)
			return c_words[i].words;
	return NULL;
}

static bool is_socket(const char *object)
{
	return object && (strncmp(object, "tcp", 3) == 0 || strncmp(object, "udp", 3) == 0 ||
			  strncmp(object, "unix", 4) == 0 || strncmp(object, "socket:", 7) == 0);
}

static const char *syscall_words(const struct wait_info *w)
{
	switch (w->kind) {
	case WAIT_SLEEP:
		return "time.sleep";
	case WAIT_ACCEPT:
		return "socket.accept";
	case WAIT_CONNECT:
		return "socket.connect";
	case WAIT_READ:
		return is_socket(w->object) ? "socket.recv" : NULL;
	case WAIT_WRITE:
		return is_socket(w->object) ? "socket.send" : NULL;
	case WAIT_POLL:
	case WAIT_EPOLL:
		return "select";
	default:
		return NULL;
	}
}

const char *py_wait_words(const struct thread *t)
{
	size_t top = 0;	/* the innermost Python frame */

	while (top < t->nframes && !t->frames[top].python)
		top++;
	if (top == t->nframes)
		return NULL;
	for (size_t i = 0; i < top; i++)
		for (size_t g = 0; g < sizeof(gil_functions) / sizeof(gil_functions[0]); g++)
			if (t->frames[i].function && strcmp(t->frames[i].function, gil_functions[g]) == 0)
				return "GIL";
	if (t->wait.kind == WAIT_RUNNING)
		return "running";
	const char *w = python_words(t->frames, t->nframes, top);
	for (size_t i = top; !w && i-- > 0;)
		w = native_words(&t->frames[i]);
	return w ? w : syscall_words(&t->wait);
}
