/*
 * sinks/sink.h — where a lane's batches go, behind one interface. A sink
 * describes its lanes (body format, compression, where, for the logs), sends
 * a sealed batch, and may read its own answers. Every outcome comes back to
 * send.c as a status on the usual path (pub_http_finished, or
 * pub_send_complete_later for a sink that finishes at once), which owns
 * retries, the spool, the dead-letter file and releasing ring space.
 * Adding a sink: its file here, and one line in registry.c.
 */
#ifndef RINGPUB_SINK_H
#define RINGPUB_SINK_H

#include "daemon.h"

typedef struct pub_sink_ops {
    const char *name;
    /* Fill l->version, compression, level, url and where; l->sink,
     * file_path and js_subject are set. host: the lane's collector. */
    void (*describe)(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url);
    /* Start sending o (o->req is set, o->state SENDING). */
    void (*send)(pub_daemon *d, pub_out *o);
    /* NULL, or: the status send.c acts on for answer r (EventGate: 207 and
     * 400 name the refused events, which go to the error stream: 200). */
    long (*answer)(pub_daemon *d, pub_out *o, const pub_http_result *r);
} pub_sink_ops;

extern const pub_sink_ops pub_sink_http, pub_sink_eventgate, pub_sink_file, pub_sink_jetstream;

/* pub_sink_ops_of — the sink of kind s (config.h, pub_sink). */
const pub_sink_ops *pub_sink_ops_of(pub_sink s);

/* What describes a signed batch, as name/value pairs in h (NULL-terminated,
 * at most PUB_BATCH_HEADERS pairs): Content-Encoding (when compressed),
 * X-Signature, X-Batch-Id, X-Ringpub-Queue, X-Ringpub-Route (a route's
 * batch), X-Signature-Timestamp (when signed). sig and ts hold the values
 * made here. Returns the entries used. (sinks/http.c; JetStream sends the
 * same headers.) */
#define PUB_BATCH_HEADERS 6
int pub_batch_headers(const pub_daemon *d, const pub_out *o, const char *h[2 * PUB_BATCH_HEADERS + 1], char sig[400],
                      char ts[32]);

/* pub_send_complete_later — a sink that finished o's request inside send()
 * reports it here: delivered on the next loop turn, so send()'s callers
 * never see their batch freed under them (send.c). */
void pub_send_complete_later(pub_daemon *d, uint64_t req, long status, const char *err);

#endif
