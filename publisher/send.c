/* send.c — batches -> collector. A batch becomes safe when the collector
 * answered 2xx, when it is fsynced in the spool, or when it is in the
 * dead-letter file; only then may its ring space go (pub_release_safe). */
#include "daemon.h"
#include "jsonl.h"

#include "body.h"
#include "codec.h"
#include "errstream.h"
#include "eventgate.h"
#include "ringpub_event.h" /* rp_now_ms */
#include "filesink.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_BASE_MS 100u

static void free_out(pub_out *o)
{
    curl_slist_free_all(o->headers);
    pub_buf_free(&o->body);
    free(o);
}

static struct curl_slist *add(struct curl_slist *h, const char *fmt, const char *v)
{
    char line[512];
    snprintf(line, sizeof line, fmt, v);
    struct curl_slist *n = curl_slist_append(h, line);
    return n ? n : h;
}

/* What describes a signed batch, as name/value pairs in h (NULL-terminated,
 * at most BATCH_HEADERS pairs): Content-Encoding (when compressed),
 * X-Signature, X-Batch-Id, X-Ringpub-Queue, X-Ringpub-Route (a route's
 * batch), X-Signature-Timestamp (when signed). sig and ts hold the values
 * made here. Returns the entries used. */
#define BATCH_HEADERS 6
static int batch_headers(const pub_daemon *d, const pub_out *o, const char *h[2 * BATCH_HEADERS + 1],
                         char sig[400], char ts[32])
{
    const char *enc = pub_codec_encoding((pub_compression)o->codec);
    int n = 0;
    snprintf(sig, 400, "key=%s, mac=%s", d->cfg.key_name, o->mac);
    if (enc)
        h[n++] = "Content-Encoding", h[n++] = enc;
    h[n++] = "X-Signature", h[n++] = sig;
    h[n++] = "X-Batch-Id", h[n++] = o->id;
    h[n++] = "X-Ringpub-Queue", h[n++] = d->cfg.queue;
    if (o->lane->name[0])
        h[n++] = "X-Ringpub-Route", h[n++] = o->lane->name;
    if (o->ts) {
        snprintf(ts, 32, "%lld", (long long)o->ts);
        h[n++] = "X-Signature-Timestamp", h[n++] = ts;
    }
    h[n] = NULL;
    return n;
}

static void build_headers(pub_daemon *d, pub_out *o)
{
    char date[64], sig[400], ts[32], line[512];
    const char *pairs[2 * BATCH_HEADERS + 1];
    struct tm tm;
    time_t now = time(NULL);
    struct curl_slist *h = NULL;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    h = add(h, "Date: %s", date);
    h = add(h, "User-Agent: %s", "ringpub/0.1.0 (baseplate-event-publisher compatible)");
    h = add(h, "Content-Type: %s", "application/json");
    batch_headers(d, o, pairs, sig, ts);
    for (int i = 0; pairs[i]; i += 2) {
        snprintf(line, sizeof line, "%s: %s", pairs[i], pairs[i + 1]);
        h = add(h, "%s", line);
    }
    h = add(h, "Expect:%s", ""); /* no 100-continue round trip */
    curl_slist_free_all(o->headers);
    o->headers = h;
}

/* The same headers as a NATS message: the consumer decodes it like the
 * collector decodes a POST (X-Collector-Version says /v2 or /v2j). */
static void publish_batch(pub_daemon *d, pub_out *o)
{
    char sig[400], ts[32];
    const char *h[2 * BATCH_HEADERS + 5];
    int n = batch_headers(d, o, h, sig, ts);
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

struct pub_ready {
    uint64_t req;
    long status;
    char err[300];
};

/* A request finished inside post(): reported on the next loop turn, so
 * post()'s callers never see their batch freed under them. */
static void complete_later(pub_daemon *d, uint64_t req, long status, const char *err)
{
    if (d->nready == d->capready) {
        size_t cap = d->capready ? d->capready * 2 : 16;
        struct pub_ready *r = (struct pub_ready *)realloc(d->ready, cap * sizeof *r);
        if (!r)
            return; /* the batch stays SENDING: retried after a restart, never lost */
        d->ready = r;
        d->capready = cap;
    }
    struct pub_ready *r = &d->ready[d->nready++];
    r->req = req;
    r->status = status;
    snprintf(r->err, sizeof r->err, "%.299s", err ? err : "");
}

static void report_ready(pub_daemon *d)
{
    size_t n = d->nready;
    struct pub_ready *list = d->ready;
    d->ready = NULL;
    d->nready = d->capready = 0;
    for (size_t i = 0; i < n; i++) {
        void *o = pub_find_out(d, list[i].req);
        pub_http_result r = { list[i].status, CURLE_OK, list[i].err, "", 0, NULL, 0 };
        if (o)
            pub_http_finished(d, o, &r);
    }
    free(list);
}

void *pub_find_out(void *ctx, uint64_t req)
{
    pub_daemon *d = (pub_daemon *)ctx;
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].replay && d->lanes[i].replay->req == req)
            return d->lanes[i].replay;
    for (pub_out *o = d->outs; o; o = o->next)
        if (o->req == req && o->state == OUT_SENDING)
            return o;
    return NULL;
}

static void post(pub_daemon *d, pub_out *o)
{
    o->state = OUT_SENDING;
    o->attempts++;
    o->req = ++d->next_req;
    if (o->lane->sink == PUB_SINK_FILE) {
        char why[400];
        int rc = pub_file_sink_write(o->lane->file_path, (pub_compression)o->codec, o->lane->version,
                                     o->body.data, o->body.len, o->plain_len, why, sizeof why);
        complete_later(d, o->req, rc == 0 ? 200 : 0, rc == 0 ? NULL : why);
        return;
    }
    if (o->lane->sink == PUB_SINK_JETSTREAM) {
        if (d->cfg.js_per_event)
            publish_events(d, o);
        else
            publish_batch(d, o);
        return;
    }
    build_headers(d, o);
    if (pub_http_post(&d->http, o, o->lane->url, o->headers, o->body.data, o->body.len,
                      (long)d->cfg.post_timeout_ms) != 0) {
        pub_log(d, "batch %s: cannot start a request; will retry", o->id);
        o->state = OUT_WAITING;
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
    }
}

static uint64_t backoff_ms(const pub_daemon *d, int attempts)
{
    uint64_t b = BACKOFF_BASE_MS << (attempts < 20 ? attempts : 20);
    if (b > d->cfg.backoff_cap_ms)
        b = d->cfg.backoff_cap_ms;
    return randombytes_uniform((uint32_t)b + 1); /* full jitter */
}

static void on_spooled(void *ctx, spool_write *w, int res)
{
    pub_daemon *d = (pub_daemon *)ctx;
    pub_out *o = (pub_out *)((char *)w - offsetof(pub_out, sw));
    if (res != 0) {
        pub_log(d, "batch %s: spool write failed: %s; keeping it in memory", o->id, strerror(-res));
        d->metrics.total.error_io++;
        o->state = OUT_WAITING;
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    pub_debug(d, "batch %s spooled as %s", o->id, w->name);
    d->metrics.total.spooled++;
    o->state = OUT_SAFE;
    pub_release_safe(d);
}

/* Spool o, or keep it waiting in memory when the spool is full (which stops
 * the drain: back-pressure reaches the producers as RP_EFULL). */
static void spool_out(pub_daemon *d, pub_out *o)
{
    spool_meta m;
    memset(&m, 0, sizeof m);
    pub_spool *sp = &o->lane->spool;
    if (!spool_has_room(sp, o->body.len)) {
        if (o->state != OUT_WAITING)
            pub_log(d, "spool full (%llu of %llu bytes): holding batch %s, producers will see "
                       "the queue fill", (unsigned long long)sp->used,
                    (unsigned long long)sp->max_bytes, o->id);
        o->state = OUT_WAITING;
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    snprintf(m.batch_id, sizeof m.batch_id, "%s", o->id);
    memcpy(m.mac, o->mac, sizeof m.mac);
    m.ts = o->ts;
    m.codec = (uint32_t)o->codec;
    m.count = o->count;
    m.plain_len = o->plain_len;
    m.body_len = o->body.len;
    o->sw.done = on_spooled;
    o->sw.ctx = d;
    if (spool_write_start(sp, &d->loop, &o->sw, &m, o->body.data) != 0) {
        pub_log(d, "batch %s: cannot create a spool file in %s: %s", o->id, sp->path, strerror(errno));
        o->state = OUT_WAITING;
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    o->state = OUT_SPOOLING;
}

static int deadletter(pub_daemon *d, pub_out *o, long status, const char *reason)
{
    const char *enc = pub_codec_encoding((pub_compression)o->codec);
    char head[700];
    snprintf(head, sizeof head,
             "{\"time\":%lld,\"queue\":\"%s\",\"batch_id\":\"%s\",\"status\":%ld,"
             "\"reason\":\"%.200s\",\"events\":%u,\"encoding\":\"%s\",\"body_base64\":\"",
             (long long)time(NULL), d->cfg.queue, o->id, status, reason, o->count, enc ? enc : "identity");
    if (pub_jsonl_append_b64(d->cfg.deadletter_file, head, o->body.data, o->body.len) != 0) {
        pub_log(d, "batch %s: cannot write dead-letter file %s: %s", o->id, d->cfg.deadletter_file,
                strerror(errno));
        return -1;
    }
    pub_log(d, "batch %s (%u events) refused with %ld (%s): written to %s", o->id, o->count, status, reason,
            d->cfg.deadletter_file);
    d->metrics.total.deadlettered++;
    return 0;
}

static int retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* Later, unless the retry budget is spent. */
static void retry_later(pub_daemon *d, pub_out *o, const char *retry_after)
{
    uint64_t now = pub_now_ms(), wait = backoff_ms(d, o->attempts);
    char *end;
    long ra = retry_after && *retry_after ? strtol(retry_after, &end, 10) : -1;
    if (ra >= 0 && *end == '\0' && (uint64_t)ra * 1000u > wait)
        wait = (uint64_t)(ra > 3600 ? 3600 : ra) * 1000u;
    if (now - o->first_ms >= d->cfg.retry_budget_ms) {
        pub_log(d, "batch %s: retry budget spent after %d attempts; spooling", o->id, o->attempts);
        spool_out(d, o);
        return;
    }
    d->metrics.total.retries++;
    o->state = OUT_WAITING;
    o->next_ms = now + wait;
}

/* Decide what a failed live batch does next. */
static void failed(pub_daemon *d, pub_out *o, const pub_http_result *r)
{
    if (d->cfg.delivery == PUB_HASTY) {
        d->metrics.total.dropped += o->count;
        o->state = OUT_SAFE;
        return;
    }
    if (r->status == 0) { /* no answer: the collector is down or unreachable */
        if (!o->lane->down)
            pub_log(d, "%s %s unreachable (%s): spooling until it is back",
                    o->lane->sink == PUB_SINK_HTTP ? "collector" : "sink", o->lane->where, r->errmsg);
        o->lane->down = 1;
        spool_out(d, o);
    } else if (retryable(r->status)) {
        retry_later(d, o, r->retry_after);
        /* keep draining: a batch that waits while the drain is blocked goes to the spool */
        if (o->state == OUT_WAITING && !pub_may_drain(d) && !d->stopping)
            spool_out(d, o);
    } else if (deadletter(d, o, r->status, "refused by the collector") == 0) {
        o->state = OUT_SAFE;
    } else {
        spool_out(d, o);
    }
}

static void replay_finished(pub_daemon *d, pub_out *o, const pub_http_result *r)
{
    pub_lane *l = o->lane;
    uint64_t now = pub_now_ms();
    int ok = r->status >= 200 && r->status < 300;
    if (ok || (r->status >= 400 && !retryable(r->status) && deadletter(d, o, r->status, "refused on replay") == 0)) {
        if (ok) {
            d->metrics.total.sent += o->count;
            d->metrics.total.replayed++;
            l->sent += o->count;
        }
        spool_remove(&l->spool, o->spool_name);
        l->down = 0;
        l->next_replay_ms = now;
    } else {
        o->attempts++;
        l->next_replay_ms = now + backoff_ms(d, o->attempts) + BACKOFF_BASE_MS;
    }
    l->replay = NULL;
    free_out(o);
}

/* EventGate's 207 (some refused) and 400 (all refused) list the refused
 * events: they go to the error stream, and the batch counts as delivered.
 * Returns 1 if handled that way. */
static int eventgate_refusals(pub_daemon *d, pub_out *o, const pub_http_result *r)
{
    long n = r->body ? pub_eventgate_refused(r->body, r->body_len, &d->errors, d->cfg.queue, rp_now_ms()) : -1;
    if (n < 0) {
        pub_log(d, "batch %s: EventGate answered %ld without a list of refused events", o->id, r->status);
        return 0;
    }
    if (pub_err_flush(&d->errors, d->cfg.errors_file) != 0) {
        pub_log(d, "batch %s: cannot write the error stream %s: %s", o->id, d->cfg.errors_file, strerror(errno));
        d->errors.len = 0;
        return 0;
    }
    pub_log(d, "batch %s: EventGate refused %ld of %u events: in %s", o->id, n, o->count, d->cfg.errors_file);
    d->metrics.total.invalid += (uint64_t)n;
    return 1;
}

void pub_http_finished(void *ctx, void *req_ctx, const pub_http_result *r)
{
    pub_daemon *d = (pub_daemon *)ctx;
    pub_out *o = (pub_out *)req_ctx;
    pub_http_result handled;
    if (o->lane->sink == PUB_SINK_EVENTGATE && (r->status == 207 || r->status == 400) &&
        eventgate_refusals(d, o, r)) {
        handled = *r;
        handled.status = 200;
        r = &handled;
    }
    pub_metrics_post_ms(&d->metrics, r->elapsed_ms);
    if (r->status == 0)
        d->metrics.total.error_io++;
    else if (r->status >= 300)
        d->metrics.total.error_http++;
    pub_debug(d, "batch %s: %ld %s (%llu ms)", o->id, r->status, r->status ? "" : r->errmsg,
              (unsigned long long)r->elapsed_ms);
    if (o->from_spool) {
        replay_finished(d, o, r);
        return;
    }
    if (r->status >= 200 && r->status < 300) {
        d->metrics.total.sent += o->count;
        o->lane->sent += o->count;
        o->lane->down = 0;
        o->state = OUT_SAFE;
    } else {
        failed(d, o, r);
    }
    pub_release_safe(d);
}

void pub_send_new(pub_daemon *d, pub_out *o)
{
    if (d->outs_tail)
        d->outs_tail->next = o;
    else
        d->outs = o;
    d->outs_tail = o;
    d->n_outs++;
    if (o->lane->down && d->cfg.delivery == PUB_GUARANTEED)
        spool_out(d, o);
    else
        post(d, o);
}

/* Start replaying lane l's oldest spooled batch. */
static void replay_next(pub_daemon *d, pub_lane *l)
{
    char name[64], why[300];
    spool_meta m;
    pub_out *o = (pub_out *)calloc(1, sizeof *o);
    if (!o)
        return;
    pub_buf_init(&o->body, (size_t)1 << 31);
    for (;;) {
        if (spool_oldest(&l->spool, name) != 0) {
            free_out(o);
            return;
        }
        int rc = spool_read(&l->spool, name, &m, &o->body, why, sizeof why);
        if (rc == 0)
            break;
        pub_log(d, "%s", why);
        if (rc == -1) {
            free_out(o);
            l->next_replay_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
            return;
        }
    }
    o->from_spool = 1;
    o->lane = l;
    snprintf(o->spool_name, sizeof o->spool_name, "%s", name);
    snprintf(o->id, sizeof o->id, "%s", m.batch_id);
    memcpy(o->mac, m.mac, sizeof o->mac);
    o->ts = m.ts;
    o->codec = (int)m.codec;
    o->count = m.count;
    o->plain_len = m.plain_len;
    l->replay = o;
    post(d, o);
    if (o->state == OUT_WAITING) { /* could not even start */
        l->replay = NULL;
        free_out(o);
    }
}

/* Replay lane l's spool, one batch at a time; ms until the next, or -1. */
static int64_t replay_timer(pub_daemon *d, pub_lane *l, uint64_t now)
{
    if (l->replay || d->stopping || l->spool.files == 0)
        return -1;
    if (l->next_replay_ms <= now) {
        replay_next(d, l);
        return -1;
    }
    return (int64_t)(l->next_replay_ms - now);
}

int pub_send_timers(pub_daemon *d, uint64_t now)
{
    int64_t next = -1;
    if (d->nready)
        report_ready(d);
    for (pub_out *o = d->outs; o; o = o->next) {
        if (o->state != OUT_WAITING)
            continue;
        if (o->next_ms <= now) {
            /* with the spool full, keep probing the collector instead */
            if ((o->lane->down || d->stopping) && spool_has_room(&o->lane->spool, o->body.len))
                spool_out(d, o);
            else
                post(d, o);
        }
        if (o->state == OUT_WAITING && (next < 0 || (int64_t)(o->next_ms - now) < next))
            next = (int64_t)(o->next_ms > now ? o->next_ms - now : 0);
    }
    for (int i = 0; i < d->nlanes; i++) {
        int64_t t = replay_timer(d, &d->lanes[i], now);
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    if (d->nready) /* finished meanwhile: report them on the next turn, at once */
        next = 0;
    return (int)next;
}

void pub_release_safe(pub_daemon *d)
{
    while (d->outs && d->outs->state == OUT_SAFE) {
        pub_out *o = d->outs;
        d->outs = o->next;
        if (!d->outs)
            d->outs_tail = NULL;
        d->n_outs--;
        free_out(o);
    }
    uint64_t pending = d->outs ? d->outs->seq : d->next_seq;
    while (d->chunk_n > 0) {
        ring_chunk *c = &d->chunks[d->chunk_head];
        if (c->lanes || (!c->no_batch && c->last_seq >= pending))
            break;
        if (rp_consumer_release(d->ring, &c->b) != 0) {
            pub_log(d, "ring release out of order (a bug): stopping");
            d->exit_code = 1;
            d->stopping = 1;
            break;
        }
        d->chunk_head = (d->chunk_head + 1) % d->chunk_cap;
        d->chunk_n--;
        d->chunk_base++;
    }
}

void pub_spool_all(pub_daemon *d)
{
    for (pub_out *o = d->outs; o; o = o->next)
        if (o->state == OUT_WAITING || o->state == OUT_SENDING) {
            if (d->cfg.delivery == PUB_HASTY) {
                d->metrics.total.dropped += o->count;
                o->state = OUT_SAFE;
            } else {
                spool_out(d, o);
            }
        }
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].replay) { /* its file stays in the spool */
            free_out(d->lanes[i].replay);
            d->lanes[i].replay = NULL;
        }
}
