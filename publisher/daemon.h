/*
 * daemon.h — the ringpub daemon's state, shared by its files:
 *   daemon.c  set-up, the loop, signals, shutdown;
 *   drain.c   ring -> batches (poll, copy, seal: compress + sign);
 *   send.c    batches -> their sink (retry, spool, dead-letter) and
 *             in-order release of ring space once batches are safe;
 *   sinks/    one file per sink behind one interface (sinks/sink.h): http,
 *             eventgate, file, jetstream; registry.c picks one by kind;
 *   lane.c    the lanes: the queue's own and one per route (lane.h);
 *   metrics.c counters and statsd.
 *
 * Ring space is released only in ring order, and only up to the last event
 * of the oldest batch that is not yet safe (delivered 2xx, fsynced to the
 * spool, or written to the dead-letter file): a crash at any moment leaves
 * every accepted event either in the ring, in the spool, or delivered.
 * With routes, one poll's events may sit in the building batches of several
 * lanes: its chunk is released only once each of those lanes has sealed
 * (then the chunk knows the newest batch holding its events) and every
 * batch up to that one is safe.
 */
#ifndef RINGPUB_DAEMON_H
#define RINGPUB_DAEMON_H

#include "batch.h"
#include "config.h"
#include "contain.h"
#include "http.h"
#include "jetstream.h"
#include "lane.h"
#include "loop.h"
#include "metrics.h"
#include "mserve.h"
#include "process.h"
#include "ringpub_consumer.h"
#include "seals.h"
#include "spool.h"

#include <stdint.h>

typedef enum { OUT_SENDING, OUT_WAITING, OUT_SPOOLING, OUT_SAFE } out_state;

/* A sealed batch on its way out. */
typedef struct pub_out {
    struct pub_out *next;
    uint64_t seq;            /* creation order; ring chunks refer to it */
    char id[SPOOL_ID_MAX];   /* X-Batch-Id: stable across retries and spooling */
    pub_buf body;            /* compressed */
    int codec;               /* pub_compression of body */
    uint64_t plain_len;
    uint32_t count;
    pub_lane *lane;          /* where it goes */
    char mac[65];            /* baseplate's mac of the uncompressed body */
    int stamped;             /* signed in ringpub's form, afresh at each send (sign.h) */
    struct curl_slist *headers;
    out_state state;
    uint64_t next_ms;
    int from_spool;          /* replayed from the spool: remove the file when sent */
    int split_part;          /* a part of lane->split_name (a replayed batch split after a 413) */
    int probe;               /* sent while its sink was failing (send.c) */
    uint64_t req;            /* names the current attempt (JetStream acks find it) */
    char spool_name[64];
    spool_write sw;
    int seal_slot;           /* its record in the seal log (seals.h); -1: none */
} pub_out;

/* A polled range of the ring, released once the lanes holding its events
 * have sealed those batches (lanes == 0) and batch last_seq is safe (or,
 * when none of its events went into a batch — quarantined, filtered or in
 * the error stream — as soon as the chunks before it are released). */
typedef struct ring_chunk {
    rp_batch b;
    uint64_t last_seq;  /* the newest sealed batch holding its events */
    uint32_t lanes;     /* bit i: lane i's building batch holds some of them */
    int no_batch;
} ring_chunk;

typedef struct pub_daemon {
    pub_config cfg;
    int debug;
    rp_consumer *ring;
    pub_loop loop;
    pub_http http;
    pub_js js;                /* sink = jetstream */
    struct pub_ready *ready;  /* requests finished synchronously (sink = file), */
    size_t nready, capready;  /* reported from the loop, not from inside post() */
    uint64_t next_req;
    pub_metrics metrics;
    pub_mserve mserve;        /* metrics.listen: /metrics and /healthz */
    pub_procs procs;          /* processors, run before batching */
    pub_contain contain;      /* an event that crashes a processor (contain.h) */
    pub_buf errors;           /* error events not yet written to errors.file */
    int errors_broken;        /* an error event could not even be built */
    int errors_fallback;      /* errors.file failed: writing to SPOOL_DIR/QUEUE.errors.jsonl */

    /* the sinks: lane 0 is the queue's own, 1 + R route R's (lane.h) */
    pub_lane lanes[1 + PUB_MAX_ROUTES];
    int nlanes;
    uint64_t ring_created_ns;   /* with a batch's positions, names it (its id) */
    uint64_t start_tail;        /* the ring position released when this run began */
    uint64_t polled_to;         /* the ring position after the last event polled */
    pub_seals seals;            /* the ranges of sealed batches not yet released */
    int redo_active;            /* lanes still rebuilding the last run's batches */
    uint64_t redo_skipped;      /* rebuilt batches that were safe already */
    uint64_t next_seq;

    /* batches out (every lane's), oldest first; spool replays are per lane */
    pub_out *outs, *outs_tail;
    int n_outs;

    /* polled ring ranges not yet released, oldest first (a FIFO) */
    ring_chunk *chunks;
    size_t chunk_head, chunk_n, chunk_cap;
    uint64_t chunk_base;        /* absolute number of chunks[chunk_head] */
    /* the poll being added: events [poll_from, n) are not in a chunk yet */
    const rp_batch *poll;
    size_t poll_i, poll_from;   /* the event being added; the first not in a chunk */
    uint64_t poll_start;        /* ring position of events[poll_from] */
    rp_event *events;
    size_t max_events;

    /* the ring file itself: truncated (lost) or removed under us */
    volatile sig_atomic_t ring_fault; /* set by the SIGBUS guard */
    int ring_lost, ring_removed_logged;

    /* waiting for the ring */
    pub_op futex_op;
    int armed;

    /* signals */
    pub_op sig_op;
    int sigfd;
    uint8_t siginfo[128];
    int stopping;
    uint64_t stop_deadline_ms;
    int exit_code;
} pub_daemon;

/* daemon.c */
int pub_daemon_run(pub_daemon *d);
void pub_log(pub_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pub_stop — stop draining; deliver or spool what is in flight within
 * post.timeout + 2 s, then exit with exit_code (when > 0: set it too). */
void pub_stop(pub_daemon *d, int exit_code);
void pub_debug(pub_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* drain.c: poll what the ring has (if allowed), seal full or old batches.
 * Returns the ms until the building batch is due (-1: none). */
int pub_drain(pub_daemon *d, uint64_t now);
/* seal the building batch now (shutdown). */
void pub_seal(pub_daemon *d, uint64_t now);
/* may we take more from the ring? (back-pressure) */
int pub_may_drain(const pub_daemon *d);

/* pub_id_of — a batch id: 32 hex digits of a 16-byte BLAKE2b of in[len]. */
void pub_id_of(const void *in, size_t len, char id[SPOOL_ID_MAX]);
/* pub_out_new — a batch for lane l named id (its body empty), or NULL. */
pub_out *pub_out_new(pub_lane *l, const char id[SPOOL_ID_MAX]);
/* pub_out_free — o's headers, body and o itself. */
void pub_out_free(pub_out *o);
/* pub_out_fill — o's body: body[len] (count events, framed for o's lane)
 * signed with the configured key and compressed with the lane's codec. */
void pub_out_fill(pub_daemon *d, pub_out *o, const uint8_t *body, size_t len, uint32_t count);

/* pub_errors_flush — write the pending error events durably: to
 * errors.file, or, while that cannot be written, to the spool directory's
 * SPOOL_DIR/QUEUE.errors.jsonl (each switch logged once). Returns 0, or -1
 * with errno when neither takes them (then they stay pending). */
int pub_errors_flush(pub_daemon *d);

/* sinks/http.c: pub_out_headers — the HTTP headers of o's POST (Date, User-Agent,
 * Content-Type, Content-Encoding, X-Signature, X-Batch-Id, ...), or NULL. */
struct curl_slist *pub_out_headers(const pub_daemon *d, const pub_out *o);
/* send.c */
void pub_send_new(pub_daemon *d, pub_out *o);
/* run due retries and spool replays; returns ms until the next one (-1). */
int pub_send_timers(pub_daemon *d, uint64_t now);
/* a request (HTTP or JetStream) finished */
void pub_http_finished(void *ctx, void *req_ctx, const pub_http_result *r);
/* the batch whose current attempt is `req` (JetStream acks), or NULL */
void *pub_find_out(void *ctx, uint64_t req);
/* free safe batches at the front, release their ring space. */
void pub_release_safe(pub_daemon *d);
/* at shutdown: spool everything not yet safe. */
void pub_spool_all(pub_daemon *d);
/* the failing sink's state into d->metrics (sink.*). */
void pub_send_sink_metrics(pub_daemon *d);

#endif
