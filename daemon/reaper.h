/* SPDX-License-Identifier: Apache-2.0 */
/* rp: deadlines on sockets. A thread shuts down (shutdown(2), both ways) each registered
 * socket whose deadline has passed; its owner's event loop then reads EOF and closes it as
 * if the peer had hung up. The HTTP server uses it for the time a client may take to send
 * a request's headers: libmicrohttpd's own timeout counts idle time only, which a client
 * that trickles a byte now and then (slowloris) resets forever. */
#ifndef ONESTOP_REAPER_H
#define ONESTOP_REAPER_H

#include <stdint.h>

struct rp;
struct rp_entry;

/* Starts the thread, which looks every period_ms. It inherits the caller's signal mask.
 * NULL when out of memory or no thread could be started. */
struct rp *rp_new(int64_t period_ms);
/* Stops the thread and frees every entry left. NULL-safe. */
void rp_free(struct rp *r);

/* Registers fd with a deadline (util_now_ms() time; 0: none). NULL when out of memory. */
struct rp_entry *rp_add(struct rp *r, int fd, int64_t deadline_ms);
/* Moves the deadline (0: none). A passed deadline is acted on once, then cleared. */
void rp_set(struct rp *r, struct rp_entry *e, int64_t deadline_ms);
/* Unregisters and frees e. Must come before fd is closed: once it returns, the thread
 * never touches fd again (so a reused descriptor number is safe). NULL-safe for e. */
void rp_remove(struct rp *r, struct rp_entry *e);

/* Sockets shut down so far. */
unsigned long long rp_reaped(struct rp *r);

#endif
