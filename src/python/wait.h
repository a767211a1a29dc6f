/*
 * python/wait: what a Python thread waits on in Python's words
 * ("queue.get", "Lock.acquire", "Event.wait", "time.sleep",
 * "socket.recv", "GIL", "running"), from its merged stack and its wait
 * (wait.c says the order of the rules).
 */
#ifndef THREADLEAK_PYTHON_WAIT_H
#define THREADLEAK_PYTHON_WAIT_H

#include "model/snapshot.h"

/* A static string, or NULL when t has no Python frame or nothing says. */
const char *py_wait_words(const struct thread *t);

#endif
