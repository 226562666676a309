/* sinks/jetstream.c — NATS JetStream (sink = jetstream): a batch as one
 * message with the collector's headers, or one message per event
 * (jetstream.unit = event); the connection and acks are jetstream.c's. */
#include "sink.h"

#include "body.h"
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same headers as a NATS message: the consumer decodes it like the
 * collector decodes a POST (X-Collector-Version says /v2 or /v2j). */
static void publish_batch(pub_daemon *d, pub_out *o)
{
    char sig[400], ts[32];
    const char *h[2 * PUB_BATCH_HEADERS + 5];
    int n = pub_batch_headers(d, o, h, sig, ts);
    if (!pub_codec_encoding((pub_compression)o->codec)) /* said outright on the stream */
        h[n++] = "Content-Encoding", h[n++] = "identity";
    h[n++] = "X-Collector-Version", h[n++] = o->lane->version;
    h[n] = NULL;
    pub_js_msg m = { o->id, NULL, h, o->body.data, o->body.len };
    pub_js_publish(&d->js, o->req, o->lane->js_subject, &m, 1, (long)d->cfg.post_timeout_ms);
}

/* SUBJECT.STREAM for an event with a string meta.stream (jetstream.by_stream):
 * each character that is not [A-Za-z0-9_.-] becomes '_', empty tokens too. */
static void stream_subject(const char *base, json_t *ev, char *out, size_t outlen)
{
    const char *st = json_string_value(json_object_get(json_object_get(ev, "meta"), "stream"));
    size_t n = (size_t)snprintf(out, outlen, "%s", base);
    if (!st || !*st || n + 2 >= outlen)
        return;
    out[n++] = '.';
    for (const char *p = st; *p && n + 1 < outlen; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || (c == '.' && out[n - 1] != '.' && p[1]);
        out[n] = ok ? c : '_';
    }
    out[n] = '\0';
}

/* jetstream.unit = event: one message per event, id BATCH_ID.N (the batch's
 * MAC covers the whole body, so single events carry none), on the subject
 * of its meta.stream with jetstream.by_stream. The batch is safe when every
 * event is acked. */
static void publish_events(pub_daemon *d, pub_out *o)
{
    char why[200];
    json_t *events = body_unpack((pub_compression)o->codec, o->body.data, o->body.len, o->plain_len + 1,
                                 o->lane->version, why, sizeof why);
    pub_js_msg *m = NULL;
    char **text = NULL, (*ids)[SPOOL_ID_MAX + 24] = NULL, (*subj)[PUB_STR * 2] = NULL;
    size_t n = 0;
    const char *h[] = { "X-Batch-Id", o->id, "X-Ringpub-Queue", d->cfg.queue, NULL };
    n = json_array_size(events);
    m = (pub_js_msg *)calloc(n ? n : 1, sizeof *m);
    text = (char **)calloc(n ? n : 1, sizeof *text);
    ids = calloc(n ? n : 1, sizeof *ids);
    subj = calloc(n ? n : 1, sizeof *subj);
    if (!events || !m || !text || !ids || !subj) { /* our own body: only memory can fail here */
        pub_js_publish(&d->js, o->req, o->lane->js_subject, NULL, 0, 0);
    } else {
        for (size_t i = 0; i < n; i++) {
            text[i] = json_dumps(json_array_get(events, i), JSON_COMPACT);
            snprintf(ids[i], sizeof ids[i], "%s.%zu", o->id, i);
            if (d->cfg.js_by_stream)
                stream_subject(o->lane->js_subject, json_array_get(events, i), subj[i], sizeof subj[i]);
            m[i] = (pub_js_msg){ ids[i], d->cfg.js_by_stream ? subj[i] : NULL, h, text[i] ? text[i] : "",
                                 text[i] ? strlen(text[i]) : 0 };
        }
        pub_js_publish(&d->js, o->req, o->lane->js_subject, m, n, (long)d->cfg.post_timeout_ms);
    }
    for (size_t i = 0; text && i < n; i++)
        free(text[i]);
    free(text);
    free(ids);
    free(subj);
    free(m);
    json_decref(events);
}

static void describe(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    (void)host, (void)eventgate_url;
    snprintf(l->where, sizeof l->where, "JetStream %.300s subject %.200s", c->js_url, l->js_subject);
}

static int send_msgs(pub_daemon *d, pub_out *o)
{
    if (d->cfg.js_per_event)
        publish_events(d, o);
    else
        publish_batch(d, o);
    return 0; /* a publish that cannot start is reported as failed (jetstream.c) */
}

/* One connection for every JetStream lane; acks come back through the
 * daemon's completion (d->finished), found by their request (d->find_req). */
static int js_open(pub_daemon *d, char *why, size_t whylen)
{
    return pub_js_init(&d->js, &d->loop, d->cfg.js_url, d->finished, d->find_req, d, why, whylen);
}

static void js_close(pub_daemon *d)
{
    pub_js_free(&d->js);
}

const pub_sink_ops pub_sink_jetstream = { "jetstream", js_open, js_close, describe, send_msgs, pub_verdict_done };
