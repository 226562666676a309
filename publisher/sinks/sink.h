/*
 * sinks/sink.h — where a lane's batches go, behind one interface. A sink
 * describes its lanes (body format, compression, where, for the logs), sends
 * a sealed batch, and reads its own answers into a sink-neutral verdict
 * (delivered, retry, too large, refused). send.c acts on the verdict only:
 * it owns retries, the spool and the dead-letter file; the ledger releases
 * ring space.
 * Adding a sink: its file here, one line in registry.c, and its word in
 * config's `sink =` list and pub_sink (config/every_sink_is_registered
 * checks the three agree).
 */
#ifndef RINGPUB_SINK_H
#define RINGPUB_SINK_H

#include "daemon.h"

/* What an attempt came to, whatever the sink. */
typedef enum {
    PUB_DELIVERED, /* every event is taken (EventGate: the refused ones are in the error stream) */
    PUB_RETRY,     /* not now: no answer, or the sink is failing or busy (HTTP 408, 429, 5xx) */
    PUB_TOO_LARGE, /* the sink takes smaller batches (HTTP 413): split it */
    PUB_REFUSED,   /* never (any other answer): dead-letter it */
} pub_verdict_kind;

typedef struct pub_verdict {
    pub_verdict_kind kind;
    long code;               /* the sink's own answer, for logs and metrics (HTTP status); 0: none */
    const char *why;         /* in words a user can act on ("" if nothing to say) */
    uint64_t retry_after_ms; /* the sink asked to wait at least this long (0: it did not say) */
} pub_verdict;

typedef struct pub_sink_ops {
    const char *name;
    /* NULL, or: set up what every lane of this sink shares (JetStream: the
     * connection), once, when some lane uses it. 0, or -1 with one line in
     * why (the daemon does not start). */
    int (*open)(pub_daemon *d, char *why, size_t whylen);
    /* NULL, or: undo open at shutdown; requests still in flight are dropped
     * (their batches are spooled next: not safe until answered). */
    void (*close)(pub_daemon *d);
    /* Fill l->version, compression, level, url and where; l->sink,
     * file_path and js_subject are set. host: the lane's collector. */
    void (*describe)(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url);
    /* Start sending o (o->req is set, o->state SENDING): 0, or -1 if the
     * request could not even start (o then waits and is tried again). */
    int (*send)(pub_daemon *d, pub_out *o);
    /* The verdict on o's finished attempt r (a status and message from
     * http.c, jetstream.c or pub_send_complete_later). */
    void (*verdict)(pub_daemon *d, pub_out *o, const pub_http_result *r, pub_verdict *v);
} pub_sink_ops;

extern const pub_sink_ops pub_sink_http, pub_sink_eventgate, pub_sink_file, pub_sink_jetstream;

/* pub_sink_ops_of — the sink of kind s (config.h, pub_sink). */
const pub_sink_ops *pub_sink_ops_of(pub_sink s);

/* pub_sinks_open — open each sink some lane of d uses (once per sink). 0,
 * or -1 with one line in why. pub_sinks_close — close them. (registry.c) */
int pub_sinks_open(pub_daemon *d, char *why, size_t whylen);
void pub_sinks_close(pub_daemon *d);

/* What describes a signed batch, as name/value pairs in h (NULL-terminated,
 * at most PUB_BATCH_HEADERS pairs): Content-Encoding (when compressed),
 * X-Signature, X-Batch-Id, X-Ringpub-Queue, X-Ringpub-Route (a route's
 * batch), X-Signature-Timestamp (when signed). sig and ts hold the values
 * made here. Returns the entries used. (sinks/http.c; JetStream sends the
 * same headers.) */
#define PUB_BATCH_HEADERS 6
int pub_batch_headers(const pub_daemon *d, const pub_out *o, const char *h[2 * PUB_BATCH_HEADERS + 1], char sig[400],
                      char ts[32]);

/* pub_verdict_http — an HTTP answer's verdict: 2xx delivered; no answer,
 * 408, 429, 5xx retry (with its Retry-After, at most an hour); 413 too
 * large; anything else refused, with the reason (a 401/403 names the key).
 * (sinks/http.c; EventGate's and JetStream's verdicts build on it.) */
void pub_verdict_http(const pub_daemon *d, const pub_http_result *r, pub_verdict *v);

/* pub_send_complete_later — a sink that finished o's request inside send()
 * reports it here: 200 and no error when done, or 0 and why; acted on at
 * the next loop turn, so send()'s callers never see their batch freed
 * under them (sinks/later.c). */
void pub_send_complete_later(pub_daemon *d, uint64_t req, long status, const char *err);

/* pub_verdict_done — the verdict of a sink that says only done (status
 * 200: delivered) or not (0, errmsg: retry later): file, JetStream. */
void pub_verdict_done(pub_daemon *d, pub_out *o, const pub_http_result *r, pub_verdict *v);

/* One such report, kept in d->ready until send.c acts on it. */
struct pub_ready {
    uint64_t req;
    long status;
    char err[300];
};

#endif
