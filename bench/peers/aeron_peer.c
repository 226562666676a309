/*
 * aeron_peer.c — Aeron IPC under the paired harness, built against a fetched
 * Aeron (tools/bench-peers; never committed). The media driver runs apart
 * (AERON_THREADING_MODE=SHARED, started by the script). Producers offer full
 * copies (aeron_publication_offer, or aeron_exclusive_publication_offer with
 * --exclusive: one exclusive publication per producer); the subscriber polls
 * with Aeron's back-off idle strategy, as Aeron's samples do.
 */
#include "pair.h"

#include <aeronc.h>
#include <aeron_agent.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL "aeron:ipc"
#define ONE_FRAGMENT 1376 /* the IPC MTU (1408) less the 32-byte frame header */

typedef struct peer {
    aeron_context_t *ctx;
    aeron_t *client;
    aeron_publication_t *pub;
    aeron_exclusive_publication_t *xpub;
    aeron_subscription_t *sub;
    void *idle;
} peer;

static peer P;
static int32_t stream; /* one per run (the parent's PID): a dead run's publication, still
                          * held by the driver until its clients time out, is never joined */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int client(const pair_opts *o, char *why, size_t whylen)
{
    if (aeron_context_init(&P.ctx) < 0 || aeron_context_set_dir(P.ctx, o->dir) < 0 ||
        aeron_init(&P.client, P.ctx) < 0 || aeron_start(P.client) < 0) {
        snprintf(why, whylen, "cannot reach the media driver in %s: %s", o->dir, aeron_errmsg());
        return -1;
    }
    return 0;
}

static int setup(const pair_opts *o, char *why, size_t whylen)
{
    if (o->size > ONE_FRAGMENT) {
        snprintf(why, whylen, "--size above %d B would be fragmented; this harness sends one fragment",
                 ONE_FRAGMENT);
        return -1;
    }
    stream = (int32_t)(getpid() & 0x3fffffff);
    return 0;
}

static void *consumer(const pair_opts *o, char *why, size_t whylen)
{
    aeron_async_add_subscription_t *async;
    int rc = 0;
    if (client(o, why, whylen) < 0 ||
        aeron_async_add_subscription(&async, P.client, CHANNEL, stream, NULL, NULL, NULL, NULL) < 0)
        return NULL;
    for (double end = now_s() + 10; rc == 0 && now_s() < end;)
        if ((rc = aeron_async_add_subscription_poll(&P.sub, async)) == 0)
            usleep(100);
    if (rc != 1 || aeron_idle_strategy_backoff_state_init(&P.idle, 10, 5, 1000, 1000000) < 0) {
        snprintf(why, whylen, "cannot add the subscription: %s", aeron_errmsg());
        return NULL;
    }
    return &P;
}

static void on_fragment(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    (void)clientd, (void)header;
    pair_seen(buffer, length);
}

static int poll_sub(void *h)
{
    peer *p = (peer *)h;
    int n = aeron_subscription_poll(p->sub, on_fragment, NULL, 4096);
    if (n >= 0)
        aeron_idle_strategy_backoff_idle(p->idle, n);
    return n;
}

static void *producer(const pair_opts *o, int id, char *why, size_t whylen)
{
    int rc = 0, connected = 0;
    (void)id;
    if (client(o, why, whylen) < 0)
        return NULL;
    if (o->exclusive) {
        aeron_async_add_exclusive_publication_t *async;
        if (aeron_async_add_exclusive_publication(&async, P.client, CHANNEL, stream) < 0)
            return NULL;
        for (double end = now_s() + 10; rc == 0 && now_s() < end;)
            if ((rc = aeron_async_add_exclusive_publication_poll(&P.xpub, async)) == 0)
                usleep(100);
    } else {
        aeron_async_add_publication_t *async;
        if (aeron_async_add_publication(&async, P.client, CHANNEL, stream) < 0)
            return NULL;
        for (double end = now_s() + 10; rc == 0 && now_s() < end;)
            if ((rc = aeron_async_add_publication_poll(&P.pub, async)) == 0)
                usleep(100);
    }
    for (double end = now_s() + 10; rc == 1 && !connected && now_s() < end; usleep(100))
        connected = o->exclusive ? aeron_exclusive_publication_is_connected(P.xpub)
                                 : aeron_publication_is_connected(P.pub);
    if (!connected) {
        snprintf(why, whylen, "the publication did not connect: %s", aeron_errmsg());
        return NULL;
    }
    return &P;
}

static int offer(void *h, const void *msg, size_t len)
{
    peer *p = (peer *)h;
    int64_t r = p->xpub ? aeron_exclusive_publication_offer(p->xpub, (const uint8_t *)msg, len, NULL, NULL)
                        : aeron_publication_offer(p->pub, (const uint8_t *)msg, len, NULL, NULL);
    if (r > 0)
        return 0;
    return r == AERON_PUBLICATION_BACK_PRESSURED || r == AERON_PUBLICATION_ADMIN_ACTION ||
                   r == AERON_PUBLICATION_NOT_CONNECTED
               ? 1
               : -1;
}

static void teardown(const pair_opts *o) { (void)o; }

const pair_transport pair_this = { "aeron", setup, consumer, poll_sub, producer, offer, teardown };
