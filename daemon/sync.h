/* SPDX-License-Identifier: Apache-2.0 */
/* sync: drives one source: fetch a page, parse it, store it, move on. */
#ifndef ONESTOP_SYNC_H
#define ONESTOP_SYNC_H

#include <stddef.h>

#include "adapter.h"
#include "fetch.h"
#include "model.h"
#include "store.h"

/*
 * Runs every feed of the source once, to the end of what the server has. Keyset feeds
 * commit page by page (the cursor moves with each page), so an interrupted sync
 * resumes where it stopped; a whole feed is replaced in one transaction. Updates the
 * counters in st. stop (may be NULL) interrupts between pages and during backoff.
 * tick (may be NULL) is called after every stored page, and every second while a page
 * is awaited, so the caller can keep the watchdog and the heartbeat going during a long
 * sync; it always runs on the calling thread.
 * A keyset feed is fetched and decoded on a thread of its own, one or two pages ahead of
 * the pages being stored: meanwhile that thread owns f and ad, and f's stop flag and
 * tick are replaced, then set back to stop and (tick, tick_ctx), which must therefore
 * be what f had.
 * Returns 0, or -1 with err (st->last_error holds it too) when the feed failed, or
 * SYNC_DB_ERROR with err when the database did: that leaves st's health as it was, since
 * onestop_source_up speaks of the feed.
 */
#define SYNC_DB_ERROR (-2)
typedef void (*sync_tick_fn)(void *ctx);

int sync_source(struct store *store, struct fetcher *f, struct adapter *ad,
                struct source_status *st, volatile int *stop, sync_tick_fn tick, void *tick_ctx,
                char *err, size_t errlen);

/* Fetch options of a source's config. */
void sync_fetch_opts(const struct source_cfg *cfg, struct fetch_opts *o);

#endif
