/*
 * http: the smallest HTTP/1.x server a Prometheus scrape needs.  One
 * thread accepts and answers one connection at a time: GET (or HEAD)
 * /metrics gets the text last published, / a line that points there,
 * anything else 404 or 405.  A scrape never waits for a capture and never
 * starts one: it copies what http_publish() was last given.  A client
 * gets 5 seconds to send its request and to take the answer.
 */
#ifndef THREADLEAK_HTTP_H
#define THREADLEAK_HTTP_H

#include <stddef.h>

struct http_server;

/*
 * Listens on addr ("HOST:PORT", "[V6]:PORT", ":PORT" for every address;
 * PORT 0 picks a free one) and starts the thread.  NULL and a one-line
 * reason in err when the address is bad or cannot be bound (errno set:
 * EINVAL for what is not an address, ENOENT for a host that does not
 * resolve, else bind's).
 */
struct http_server *http_start(const char *addr, char *err, size_t errlen);
/* The address bound, "HOST:PORT" (the port picked for 0). */
const char *http_address(const struct http_server *s);
/* Serves text (malloc'd: the server takes it) from now on. */
void http_publish(struct http_server *s, char *text, size_t len);
/* Stops the thread, closes the socket, frees everything. */
void http_stop(struct http_server *s);

#endif
