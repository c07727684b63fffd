/* SPDX-License-Identifier: Apache-2.0 */
/* sdn: the systemd notify protocol, without libsystemd. */
#ifndef ONESTOP_SDNOTIFY_H
#define ONESTOP_SDNOTIFY_H

#include <stdint.h>

/* Sends state ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET (abstract when it starts with
 * '@'). Returns 1 when sent, 0 when NOTIFY_SOCKET is unset, -1 on error. */
int sdn_notify(const char *state);
int sdn_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns 1 and the interval in microseconds when systemd's watchdog is on for this
 * process ($WATCHDOG_USEC, and $WATCHDOG_PID unset or ours), 0 otherwise. */
int sdn_watchdog_usec(uint64_t *usec);

/* CLOCK_MONOTONIC in microseconds, for RELOADING=1 MONOTONIC_USEC=. */
uint64_t sdn_monotonic_usec(void);

#endif
