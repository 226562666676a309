/*
 * jetstream.h — the NATS JetStream sink: batches published with
 * Nats-Msg-Id = batch id (JetStream drops the duplicates that retries and
 * restarts create), each reported done only on the stream's publish ack.
 *
 * libnats (the NATS C client) runs its own threads; acks arrive there and
 * are handed to the io_uring loop through an eventfd, so every decision is
 * made on the loop's thread, exactly as for HTTP (same done callback, same
 * result: status 200 on an ack, 0 when no ack came — the sink is "down").
 */
#ifndef RINGPUB_JETSTREAM_H
#define RINGPUB_JETSTREAM_H

#include "http.h"
#include "loop.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdint.h>

typedef struct pub_js_group pub_js_group;
typedef struct pub_js_done pub_js_done;

/* Maps a request id back to its owner (NULL if it is gone). */
typedef void *(*pub_js_find)(void *ctx, uint64_t req);

typedef struct pub_js {
    pub_loop *loop;
    pub_op op;
    int efd;                    /* eventfd: acks are waiting */
    natsConnection *nc;
    jsCtx *js;
    pthread_mutex_t lock;       /* groups and done lists, from libnats threads */
    pub_js_group *groups;       /* requests waiting for acks (a few: inflight.max) */
    pub_js_done *done_head, *done_tail;
    pub_http_done done;
    pub_js_find find;
    void *ctx;
    int active;                 /* publishes in flight */
} pub_js;

/*
 * pub_js_init — connect to the NATS servers in `urls` (comma-separated
 * nats://host:port; keeps retrying in the background if none answers yet)
 * and register the ack eventfd with the loop. 0, or -1 with why.
 */
int pub_js_init(pub_js *j, pub_loop *loop, const char *urls, pub_http_done done, pub_js_find find, void *ctx,
                char *why, size_t whylen);

/* One message: Nats-Msg-Id, headers (name, value pairs, NULL-terminated),
 * payload (copied), and its own subject (NULL: the request's). */
typedef struct pub_js_msg {
    const char *id;
    const char *subject;
    const char *const *hdrs;
    const void *data;
    size_t len;
} pub_js_msg;

/*
 * pub_js_publish — publish n messages to subject as one request.
 * done(ctx, find(ctx, req), result) follows on the loop once every message
 * has an answer: status 200 when the stream acked all of them, else 0 with
 * the first error in errmsg (no ack within timeout_ms, no stream for the
 * subject, not connected) — the caller sends all again; the stream drops
 * the ones it already has by their ids.
 */
void pub_js_publish(pub_js *j, uint64_t req, const char *subject, const pub_js_msg *msgs, size_t n,
                    long timeout_ms);

/* pub_js_free — close the connection; pending publishes are dropped
 * (their batches are not safe and stay in the ring or the spool). */
void pub_js_free(pub_js *j);

#endif
