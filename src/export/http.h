/*
 * http: the HTTP/1.x server a Prometheus scrape needs (libmicrohttpd).
 * Every connection is served at once, up to HTTP_CONNECTIONS and
 * HTTP_CONNECTIONS_PER_ADDRESS from one client address: GET (or HEAD)
 * /metrics gets the text last published, / a line that points there,
 * anything else 404 or 405.  A scrape never waits for a capture and never
 * starts one: it gets what http_publish() was last given.  A client has
 * request_sec (http_start; HTTP_REQUEST_SEC by default) from its
 * connection to send its whole request (of at most HTTP_REQUEST_BYTES),
 * however it trickles it, and the connection is closed HTTP_EXCHANGE_SEC
 * (or request_sec, if longer) after it came, answer taken or not.
 */
#ifndef THREADLEAK_HTTP_H
#define THREADLEAK_HTTP_H

#include <stddef.h>

#define HTTP_REQUEST_SEC 10
#define HTTP_REQUEST_SEC_MAX 3600
#define HTTP_EXCHANGE_SEC 60
#define HTTP_REQUEST_BYTES (32 * 1024)
#define HTTP_CONNECTIONS 128
#define HTTP_CONNECTIONS_PER_ADDRESS 16

struct http_server;

/*
 * Listens on addr ("HOST:PORT", "[V6]:PORT", ":PORT" for every address;
 * PORT 0 picks a free one) and starts serving, each request due whole
 * request_sec (1 to HTTP_REQUEST_SEC_MAX) after its connection.  NULL and a one-line
 * reason in err when the address is bad or cannot be bound (errno set:
 * EINVAL for what is not an address, ENOENT for a host that does not
 * resolve, else bind's).
 */
struct http_server *http_start(const char *addr, unsigned request_sec, char *err,
				size_t errlen);
/* The address bound, "HOST:PORT" (the port picked for 0). */
const char *http_address(const struct http_server *s);
/* Serves text (malloc'd: the server takes it) from now on. */
void http_publish(struct http_server *s, char *text, size_t len);
/* Stops serving, closes every socket, frees everything. */
void http_stop(struct http_server *s);

#endif
