/*
 * daemon.h — the ringpub daemon's state, shared by its files. Who calls
 * whom (no file calls back into one that calls it):
 *
 *   daemon.c  set-up, the loop, signals, shutdown: wires the others
 *     -> drain.c   ring -> batches (poll, copy, seal: compress + sign)
 *     -> send.c    batches -> their sink: retries, spool, dead-letter
 *          -> sinks/   one file per sink behind sinks/sink.h (open, describe,
 *                      send, verdict, close): http, eventgate, file,
 *                      jetstream; registry.c lists them, one line each
 *   drain.c, send.c -> ledger.c  the release rule's one owner: chunks,
 *                      the batches' FIFO and states, releasing ring space
 *   everyone -> log.c, lane.c, metrics.c, seals.c, spool.c
 *
 * The rule itself, and the batches' state diagram, are in ledger.h: a crash
 * at any moment leaves every accepted event in the ring, in the spool, or
 * delivered.
 */
#ifndef RINGPUB_DAEMON_H
#define RINGPUB_DAEMON_H

#include "batch.h"
#include "config.h"
#include "contain.h"
#include "http.h"
#include "jetstream.h"
#include "lane.h"
#include "ledger.h"
#include "loop.h"
#include "metrics.h"
#include "mserve.h"
#include "process.h"
#include "ringpub_consumer.h"
#include "seals.h"
#include "spool.h"

#include <stdint.h>

typedef struct pub_daemon {
    pub_config cfg;
    int debug;
    rp_consumer *ring;
    pub_loop loop;
    pub_http http;
    pub_js js;                /* sink = jetstream */
    /* where sinks report finished requests (send.c's pub_http_finished and
     * pub_find_out, wired by daemon.c: a sink never calls send.c itself) */
    pub_http_done finished;
    pub_js_find find_req;
    struct pub_ready *ready;  /* requests finished synchronously (sink = file), */
    size_t nready, capready;  /* reported from the loop, not from inside post() */
    uint64_t next_req;
    pub_metrics metrics;
    pub_mserve mserve;        /* metrics.listen: /metrics and /healthz */
    uint64_t mfile_digest;    /* the figures last written for ringctl stat (mfile.h) */
    int mfile_written;        /* ... once at least */
    int mfile_failed;         /* its last write failed (logged once) */
    pub_procs procs;          /* processors, run before batching */
    pub_contain contain;      /* an event that crashes a processor (contain.h) */
    pub_buf errors;           /* error events not yet written to errors.file */
    int errors_broken;        /* an error event could not even be built */
    int seal_failed;          /* a full batch could not be sealed (out of memory): stop */
    int errors_fallback;      /* errors.file failed: writing to SPOOL_DIR/QUEUE.errors.jsonl */

    /* the sinks: lane 0 is the queue's own, 1 + R route R's (lane.h) */
    pub_lane lanes[1 + PUB_MAX_ROUTES];
    int nlanes;
    uint64_t ring_created_ns;   /* with a batch's positions, names it (its id) */
    uint64_t start_tail;        /* the ring position released when this run began */
    uint64_t polled_to;         /* the ring position after the last event polled */
    uint64_t walked_to;         /* the furthest such position (a hole's late event is behind it,
                                   and so is polled_to right after one) */
    pub_seals seals;            /* the ranges of sealed batches not yet released */
    int redo_active;            /* lanes still rebuilding the last run's batches */
    uint64_t redo_skipped;      /* rebuilt batches that were safe already */

    /* polled ring ranges and batches out (every lane's): the release rule
     * (ledger.h); spool replays are per lane */
    pub_ledger ledger;
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

/* daemon.c: set up, run the loop that wires drain, send and the sinks,
 * shut down; the exit code. */
int pub_daemon_run(pub_daemon *d);

/* log.c: one line to stderr (journald adds the time); pub_debug only with
 * --debug. */
void pub_log(pub_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pub_debug(pub_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pub_stop — stop draining; deliver or spool what is in flight within
 * post.timeout + PUB_SHUTDOWN_GRACE_MS, then exit with exit_code (when > 0:
 * set it too). */
#define PUB_SHUTDOWN_GRACE_MS 2000
static inline void pub_stop(pub_daemon *d, int exit_code)
{
    if (exit_code)
        d->exit_code = exit_code;
    if (!d->stopping) {
        d->stopping = 1;
        d->stop_deadline_ms = pub_now_ms() + d->cfg.post_timeout_ms + PUB_SHUTDOWN_GRACE_MS;
    }
}

/* drain.c: poll what the ring has (if allowed), seal full or old batches.
 * Returns the ms until the building batch is due (-1: none). */
int pub_drain(pub_daemon *d, uint64_t now);
/* seal the building batch now (shutdown). */
void pub_seal(pub_daemon *d, uint64_t now);
/* may we take more from the ring? (back-pressure) */
int pub_may_drain(const pub_daemon *d);

/* pub_id_of — a batch id: 32 hex digits of a 16-byte BLAKE2b of in[len]. */
void pub_id_of(const void *in, size_t len, char id[SPOOL_ID_MAX]);
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
/* send.c: pub_send_fresh — dispatch the batches sealed since the last
 * call (pub_ledger_fresh): sent, spooled or (hasty) dropped. */
void pub_send_fresh(pub_daemon *d);
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
