/* sinks/http.c — the collector over HTTP(S) (sink = http): baseplate's
 * /v2 or ringpub's /v2j, signed; libcurl's multi interface in the daemon's
 * loop (http.c). */
#include "sink.h"

#include "codec.h"
#include "sign.h"
#include "cli.h" /* RINGPUB_VERSION */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct curl_slist *add(struct curl_slist *h, const char *fmt, const char *v)
{
    char line[512];
    snprintf(line, sizeof line, fmt, v);
    struct curl_slist *n = curl_slist_append(h, line);
    return n ? n : h;
}

/* sink.h */
int pub_batch_headers(const pub_daemon *d, const pub_out *o, const char *h[2 * PUB_BATCH_HEADERS + 1],
                         char sig[400], char ts[32])
{
    const char *enc = pub_codec_encoding((pub_compression)o->codec);
    char mac[PUB_MAC_HEX];
    int n = 0;
    long long now = (long long)time(NULL);
    if (o->stamped) /* afresh at each attempt: a retry hours later is still in the window */
        pub_sign_stamped(d->cfg.key_secret, d->cfg.key_secret_len, now, o->id, d->cfg.queue, o->mac, mac);
    if (pub_sign_header(sig, 400, d->cfg.key_name, o->stamped ? mac : o->mac) != 0)
        sig[0] = '\0'; /* cannot happen: key names are shorter (config.h) */
    if (enc)
        h[n++] = "Content-Encoding", h[n++] = enc;
    if (d->cfg.key_name[0]) /* a JetStream or file sink may run without a key */
        h[n++] = "X-Signature", h[n++] = sig;
    h[n++] = "X-Batch-Id", h[n++] = o->id;
    h[n++] = "X-Ringpub-Queue", h[n++] = d->cfg.queue;
    if (o->lane->name[0])
        h[n++] = "X-Ringpub-Route", h[n++] = o->lane->name;
    if (o->stamped) {
        snprintf(ts, 32, "%lld", now);
        h[n++] = "X-Signature-Timestamp", h[n++] = ts;
    }
    h[n] = NULL;
    return n;
}

struct curl_slist *pub_out_headers(const pub_daemon *d, const pub_out *o)
{
    char date[64], sig[400], ts[32], line[512];
    const char *pairs[2 * PUB_BATCH_HEADERS + 1];
    struct tm tm;
    time_t now = time(NULL);
    struct curl_slist *h = NULL;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    h = add(h, "Date: %s", date);
    h = add(h, "User-Agent: %s", "ringpub/" RINGPUB_VERSION " (baseplate-event-publisher compatible)");
    h = add(h, "Content-Type: %s", "application/json");
    pub_batch_headers(d, o, pairs, sig, ts);
    for (int i = 0; pairs[i]; i += 2) {
        snprintf(line, sizeof line, "%s: %s", pairs[i], pairs[i + 1]);
        h = add(h, "%s", line);
    }
    return add(h, "Expect:%s", ""); /* no 100-continue round trip */
}

static void build_headers(pub_daemon *d, pub_out *o)
{
    curl_slist_free_all(o->headers);
    o->headers = pub_out_headers(d, o);
}

static void describe(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    (void)eventgate_url;
    snprintf(l->url, sizeof l->url, "%s://%.300s/v%s", c->scheme, host, l->version);
    snprintf(l->where, sizeof l->where, "%.600s", l->url);
}

#define RETRY_AFTER_MAX_S 3600

/* A Retry-After value in ms (delta-seconds or HTTP-date), 0 if none. */
static uint64_t retry_after_ms(const char *v)
{
    char *end;
    long s;
    time_t t, now = time(NULL);
    if (!v || !*v)
        return 0;
    s = strtol(v, &end, 10);
    if (end != v && *end == '\0')
        return s <= 0 ? 0 : (uint64_t)(s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000u;
    t = curl_getdate(v, NULL);
    if (t == (time_t)-1 || t <= now)
        return 0;
    return (uint64_t)(t - now > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : t - now) * 1000u;
}

static int retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* Why a final refusal happened, in words a user can act on. */
static const char *refusal(const pub_daemon *d, long status)
{
    static char why[300];
    if (status == 401 || status == 403)
        snprintf(why, sizeof why, "the collector refused the signature: key.name \"%.100s\" or key.secret is "
                 "wrong (fix them, restart, then: ringpub redeliver)", d->cfg.key_name);
    else if (status == 413)
        snprintf(why, sizeof why, "one event is larger than the collector takes");
    else
        snprintf(why, sizeof why, "refused by the collector");
    return why;
}

void pub_verdict_http(const pub_daemon *d, const pub_http_result *r, pub_verdict *v)
{
    v->code = r->status;
    v->why = "";
    v->retry_after_ms = 0;
    if (r->status >= 200 && r->status < 300) {
        v->kind = PUB_DELIVERED;
    } else if (r->status == 0 || retryable(r->status)) {
        v->kind = PUB_RETRY;
        v->why = r->status ? "" : r->errmsg;
        v->retry_after_ms = retry_after_ms(r->retry_after);
    } else {
        v->kind = r->status == 413 ? PUB_TOO_LARGE : PUB_REFUSED;
        v->why = refusal(d, r->status);
    }
}

static void verdict(pub_daemon *d, pub_out *o, const pub_http_result *r, pub_verdict *v)
{
    (void)o;
    pub_verdict_http(d, r, v);
}

static int send_post(pub_daemon *d, pub_out *o)
{
    build_headers(d, o);
    return pub_http_post(&d->http, o, o->lane->url, o->headers, o->body.data, o->body.len,
                         (long)d->cfg.post_timeout_ms) != 0 ? -1 : 0;
}

const pub_sink_ops pub_sink_http = { "http", NULL, NULL, describe, send_post, verdict };
