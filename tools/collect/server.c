/* server.c — see server.h. Request state lives in the connection; the
 * shared state (dedup set, files, counters, rng) behind one mutex. */
#include "server.h"

#include "body.h"
#include "buf.h"
#include "codec.h"
#include "dedup.h"
#include "v1events.h"
#include "forward.h"
#include "sign.h"
#include "jsonscan.h"
#include "store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct collect_server {
    collect_cfg cfg;
    struct MHD_Daemon *mhd;
    pthread_mutex_t lock;
    dedup *seen;
    store *out;
    forward *fwd;
    collect_stats st;
    uint64_t rng;
    size_t inflight;          /* body bytes held by requests in progress (max_inflight) */
};

typedef struct request {
    pub_buf body;
    int too_big;
    int busy;                 /* the bodies in flight were at max_inflight: 503 */
    size_t charged;           /* its share of s->inflight */
    time_t started;
} request;

/* Count n more body bytes of rq against the global cap. 0, or -1 (over). */
static int charge(collect_server *s, request *rq, size_t n)
{
    int ok;
    pthread_mutex_lock(&s->lock);
    ok = s->inflight + n <= s->cfg.max_inflight;
    if (ok) {
        s->inflight += n;
        rq->charged += n;
    }
    pthread_mutex_unlock(&s->lock);
    return ok ? 0 : -1;
}

static void uncharge(collect_server *s, request *rq)
{
    pthread_mutex_lock(&s->lock);
    s->inflight -= rq->charged;
    rq->charged = 0;
    pthread_mutex_unlock(&s->lock);
}

typedef struct verdict {
    int status;
    char msg[300];
    const char *retry_after;
    char *body;               /* a whole JSON answer (malloc'ed) instead of msg */
} verdict;

static int fail(verdict *v, int status, const char *fmt, const char *arg)
{
    v->status = status;
    snprintf(v->msg, sizeof v->msg, fmt, arg ? arg : "");
    return -1;
}

static double rand01(collect_server *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (double)(s->rng >> 11) / 9007199254740992.0;
}

static enum MHD_Result respond(struct MHD_Connection *c, const verdict *v)
{
    char text[2048];
    char *err = NULL;
    if (v->status < 300) {
        snprintf(text, sizeof text, "%s\n", v->msg);
    } else { /* the message may quote a request header: escaped as JSON */
        json_t *j = json_pack("{s:s}", "error", v->msg);
        err = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        snprintf(text, sizeof text, "%s\n", err ? err : "{\"error\":\"(unprintable)\"}");
        free(err);
    }
    const char *out = v->body ? v->body : text;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(out), (void *)out, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (v->retry_after)
        MHD_add_response_header(r, "Retry-After", v->retry_after);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)v->status, r);
    MHD_destroy_response(r);
    return ok;
}

static const char *mhd_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)conn, MHD_HEADER_KIND, name);
}

#define header(h, name) ((h)->get((h)->ctx, name))

static int valid_token(const char *s, size_t max, int name_rules)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || (name_rules && s[0] == '.'))
        return 0;
    for (const char *p = s; *p; p++)
        if (name_rules ? !(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')
                       : (*p < 0x21 || *p > 0x7e))
            return 0;
    return 1;
}

/* Misbehave on purpose, if told to. */
static int chaos(collect_server *s, verdict *v)
{
    static char retry[16];
    double r;
    pthread_mutex_lock(&s->lock);
    r = rand01(s);
    if (r < s->cfg.fail_rate)
        s->st.failed_on_purpose++;
    pthread_mutex_unlock(&s->lock);
    if (s->cfg.delay_ms > 0)
        usleep((useconds_t)s->cfg.delay_ms * 1000u);
    if (r >= s->cfg.fail_rate)
        return 0;
    if (s->cfg.retry_after_s > 0 && s->cfg.fail_status != 500) {
        snprintf(retry, sizeof retry, "%d", s->cfg.retry_after_s);
        v->retry_after = retry;
    }
    return fail(v, s->cfg.fail_status, "failing on purpose%s", NULL);
}

static int decode(collect_server *s, const collect_headers *c, const void *body, size_t len, pub_buf *plain,
                  verdict *v)
{
    pub_compression codec;
    if (pub_codec_from_encoding(header(c, "Content-Encoding"), &codec) != 0)
        return fail(v, 415, "unsupported Content-Encoding %s", header(c, "Content-Encoding"));
    pub_buf_init(plain, s->cfg.max_decompressed);
    int rc = pub_decompress(codec, body, len, plain);
    if (rc == -2)
        return fail(v, 413, "body over the decompressed size limit%s", NULL);
    if (rc != 0)
        return fail(v, 400, "body does not decompress%s", NULL);
    return 0;
}

/* X-Signature-Timestamp: decimal Unix seconds, at most 19 digits; -1 if not. */
static long long parse_ts(const char *ts)
{
    size_t n = strspn(ts, "0123456789");
    if (n == 0 || n > 18 || ts[n] != '\0')
        return -1;
    return strtoll(ts, NULL, 10);
}

/* ringpub's form (sign.h): time in the window, an id, the mac over
 * "TS\nID\nQUEUE\nBODY_MAC". Baseplate's form (no timestamp): only for keys
 * the operator allowed (--allow-untimestamped), the mac over the body. */
static int verify(collect_server *s, const collect_headers *c, const pub_buf *plain, verdict *v)
{
    const char *sig = header(c, "X-Signature"), *ts = header(c, "X-Signature-Timestamp");
    const char *id = header(c, "X-Batch-Id"), *queue = header(c, "X-Ringpub-Queue");
    char name[128], got[PUB_MAC_HEX], want[PUB_MAC_HEX], body_mac[PUB_MAC_HEX], why[200];
    const collect_key *k = NULL;
    if (!sig || pub_sign_parse(sig, name, sizeof name, got) != 0)
        return fail(v, 401, "missing or malformed X-Signature%s", NULL);
    for (int i = 0; i < s->cfg.nkeys; i++)
        if (strcmp(s->cfg.keys[i].name, name) == 0)
            k = &s->cfg.keys[i];
    if (!k)
        return fail(v, 401, "unknown key %s", valid_token(name, 64, 1) ? name : "?");
    if (!ts && !k->untimestamped) {
        snprintf(why, sizeof why, "--allow-untimestamped %s", name);
        return fail(v, 401, "X-Signature-Timestamp required: sign batch id and time (ringpub's "
                    "signature.timestamp), or start the collector with %s to accept baseplate's form", why);
    }
    long long t = ts ? parse_ts(ts) : 0, skew = t < 0 ? 0 : t - (long long)time(NULL);
    if (t < 0)
        return fail(v, 401, "malformed X-Signature-Timestamp%s", NULL);
    if (ts && llabs(skew) > s->cfg.replay_window_s) {
        snprintf(why, sizeof why, "%+lld s from the collector's clock", skew);
        return fail(v, 401, "X-Signature-Timestamp outside the replay window (%s)", why);
    }
    if (ts && !id)
        return fail(v, 401, "X-Batch-Id required with X-Signature-Timestamp%s", NULL);
    pub_sign(k->secret, k->len, NULL, plain->data, plain->len, body_mac); /* the costly part, after the cheap checks */
    if (ts)
        pub_sign_stamped(k->secret, k->len, t, id, queue ? queue : "", body_mac, want);
    else
        memcpy(want, body_mac, sizeof want);
    if (!pub_sign_equal(got, want))
        return fail(v, 401, "signature mismatch%s", NULL);
    return 0;
}

/* Remember a stored batch's id (under the lock): 0, or -1 on a log error.
 * An id pushed out younger than the replay window is counted and said once:
 * a replay of that batch could be stored again (window too small for the
 * batch rate). */
static int remember_id(collect_server *s, const char *id)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int rc = dedup_add(s->seen, id, (uint32_t)now.tv_sec);
    if (rc == 1 && s->st.evicted_young++ == 0)
        fprintf(stderr, "ringcollect: batch ids are forgotten before the replay window (%d s) ends: more batches "
                "than the id window holds arrive in that time; replays of them could be stored again\n",
                s->cfg.replay_window_s);
    return rc < 0 ? -1 : 0;
}

/* A batch's events as JSONL lines, ready for one write. */
typedef struct {
    pub_buf lines;
    size_t count;
} batch_lines;

static int add_line(void *ctx, const char *event, size_t len)
{
    batch_lines *b = (batch_lines *)ctx;
    if (pub_buf_append(&b->lines, event, len) != 0 || pub_buf_append(&b->lines, "\n", 1) != 0)
        return 1;
    b->count++;
    return 0;
}

/* A /v2j batch holds events, each a JSON object: 1 (why says which is not). */
static int not_objects(json_t *events, char *why, size_t whylen)
{
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        if (!json_is_object(e)) {
            snprintf(why, whylen, "event %zu of the batch is not a JSON object", i);
            return 1;
        }
    return 0;
}

/* The body's events into out as lines: 0, or -1 with v set. A /v2j body
 * is checked by jsonscan and its events kept byte for byte; a body it
 * leaves to a full parser (jsonscan.h), and /v2's Thrift JSON, go through
 * jansson and are stored re-serialized. */
static int to_lines(const pub_buf *plain, int json, batch_lines *out, verdict *v)
{
    char why[256];
    json_t *events;
    if (json) {
        int rc = jsonscan_objects((const char *)plain->data, plain->len, add_line, out, why, sizeof why);
        if (rc == JSONSCAN_OK)
            return 0;
        if (rc == JSONSCAN_BAD)
            return fail(v, 400, "%s", why);
        if (rc != JSONSCAN_SLOW)
            return fail(v, 500, "out of memory%s", NULL);
        out->lines.len = 0;
        out->count = 0;
    }
    if (!(events = body_parse((const char *)plain->data, plain->len, json, why, sizeof why)))
        return fail(v, 400, "%s", why);
    int rc = json ? not_objects(events, why, sizeof why) : 0;
    if (rc)
        fail(v, 400, "%s", why);
    else if (store_lines_of(events, &out->lines) != 0)
        rc = fail(v, 500, "out of memory%s", NULL);
    out->count = json_array_size(events);
    json_decref(events);
    return rc ? -1 : 0;
}

/* Forward the batch (and wait for the ack), then store it unless its id
 * was seen; counts under the lock. */
static int accept_batch(collect_server *s, const char *queue, const char *id, const batch_lines *b,
                        const collect_headers *h, int json, const void *body, size_t len, verdict *v)
{
    char why[256];
    int rc = 0;
    if (s->fwd && forward_batch(s->fwd, queue, id, h, json, body, len, why, sizeof why) != 0)
        return fail(v, 503, "%s", why); /* the publisher retries */
    pthread_mutex_lock(&s->lock);
    if (s->out && id && dedup_seen(s->seen, id)) {
        s->st.duplicates++;
        v->status = 200;
        snprintf(v->msg, sizeof v->msg, "{\"accepted\":0,\"duplicate\":true}");
    } else if (s->out && (store_append(s->out, queue, (const char *)b->lines.data, b->lines.len, why, sizeof why) != 0 ||
                          (id && remember_id(s, id) != 0))) {
        rc = fail(v, 500, "storage error: %s", why);
    } else {
        s->st.batches++;
        s->st.events += b->count;
        v->status = 200;
        snprintf(v->msg, sizeof v->msg, "{\"accepted\":%zu}", b->count);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int collect_handle_batch(collect_server *s, const collect_headers *c, const void *body, size_t len, int too_big,
                         int json, char *msg, size_t msglen, const char **retry_after)
{
    const char *queue = header(c, "X-Ringpub-Queue"), *id = header(c, "X-Batch-Id");
    verdict v = { 0, "", NULL, NULL };
    pub_buf plain;
    batch_lines b = { { NULL, 0, 0, 0 }, 0 };
    pub_buf_init(&plain, 0);
    pub_buf_init(&b.lines, 2 * s->cfg.max_decompressed + 64);
    if (too_big)
        fail(&v, 413, "body over the size limit%s", NULL);
    else if (queue && !valid_token(queue, 64, 1))
        fail(&v, 400, "bad X-Ringpub-Queue%s", NULL);
    else if (id && !valid_token(id, 128, 0))
        fail(&v, 400, "bad X-Batch-Id%s", NULL);
    else if (chaos(s, &v) == 0 && decode(s, c, body, len, &plain, &v) == 0 && verify(s, c, &plain, &v) == 0 &&
             to_lines(&plain, json, &b, &v) == 0)
        accept_batch(s, queue ? queue : "default", id, &b, c, json, body, len, &v);
    pub_buf_free(&b.lines);
    pub_buf_free(&plain);
    snprintf(msg, msglen, "%s", v.msg);
    if (retry_after)
        *retry_after = v.retry_after;
    return v.status;
}

/* POST /v1/events: EventGate's contract (eventgate.h); accepted events are
 * stored under X-Ringpub-Queue (else "eventgate"), a known X-Batch-Id is
 * not stored twice. */
static void eventgate_post(collect_server *s, struct MHD_Connection *c, request *rq, verdict *v)
{
    const char *queue = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Ringpub-Queue");
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Batch-Id");
    json_t *accepted = NULL;
    char why[256];
    if (rq->too_big) {
        fail(v, 413, "body over the size limit%s", NULL);
        return;
    }
    if (queue && !valid_token(queue, 64, 1))
        queue = NULL;
    if (id && !valid_token(id, 128, 0))
        id = NULL;
    int status = eventgate_judge((const char *)rq->body.data, rq->body.len, &accepted, &v->body);
    pub_buf lines; /* serialized before taking the lock */
    pub_buf_init(&lines, (size_t)1 << 31);
    int unready = json_array_size(accepted) && s->out && store_lines_of(accepted, &lines) != 0;
    if (unready)
        snprintf(why, sizeof why, "out of memory");
    pthread_mutex_lock(&s->lock);
    if (json_array_size(accepted) && s->out && !(id && dedup_seen(s->seen, id))) {
        if (unready ||
            store_append(s->out, queue ? queue : "eventgate", (const char *)lines.data, lines.len, why,
                         sizeof why) != 0 ||
            (id && remember_id(s, id) != 0))
            status = (fail(v, 500, "storage error: %s", why), 500);
        else
            s->st.events += json_array_size(accepted);
    }
    if (status < 300 || status == 207)
        s->st.batches++;
    pthread_mutex_unlock(&s->lock);
    pub_buf_free(&lines);
    if (status == 500) {
        free(v->body);
        v->body = NULL;
    }
    v->status = status;
    if (status == 201)
        snprintf(v->msg, sizeof v->msg, "{\"accepted\":%zu}", json_array_size(accepted));
    else if (status != 500)
        snprintf(v->msg, sizeof v->msg, "EventGate refused events");
    json_decref(accepted);
}

static void stats_json(collect_server *s, verdict *v)
{
    collect_stats st;
    collect_get_stats(s, &st);
    v->status = 200;
    snprintf(v->msg, sizeof v->msg,
             "{\"batches\":%llu,\"events\":%llu,\"duplicates\":%llu,\"rejected\":%llu,"
             "\"failed_on_purpose\":%llu,\"refused\":%llu,\"bytes_in\":%llu,\"evicted_young\":%llu}",
             (unsigned long long)st.batches, (unsigned long long)st.events,
             (unsigned long long)st.duplicates, (unsigned long long)st.rejected,
             (unsigned long long)st.failed_on_purpose, (unsigned long long)st.refused,
             (unsigned long long)st.bytes_in, (unsigned long long)st.evicted_young);
}

int collect_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0;
}

int collect_content_length(const char *cl, size_t max, size_t *n)
{
    size_t digits = strspn(cl, "0123456789");
    unsigned long long v;
    if (digits == 0 || cl[digits] != '\0' || digits > 19)
        return -1;
    v = strtoull(cl, NULL, 10);
    if (v > max)
        return -1;
    *n = (size_t)v;
    return 0;
}

/* Before reading a body: a Content-Length over max_body is a 413 and one
 * that would take the bodies in memory past max_inflight a 503, answered at
 * once (the body is never read; the connection closes). MHD_YES to go on. */
static enum MHD_Result early_answer(collect_server *s, struct MHD_Connection *c, request *rq)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    verdict v = { 0, "", NULL, NULL };
    size_t n;
    if (!cl)
        return MHD_YES; /* chunked: counted piece by piece */
    if (collect_content_length(cl, s->cfg.max_body, &n) != 0)
        fail(&v, 413, "body over the size cap (Content-Length)%s", NULL);
    else if (charge(s, rq, n) != 0) {
        fail(&v, 503, "too many request bodies in memory; try again%s", NULL);
        v.retry_after = "1";
    } else
        return pub_buf_reserve(&rq->body, n) == 0 ? MHD_YES : MHD_NO;
    pthread_mutex_lock(&s->lock);
    s->st.rejected += v.status == 413;
    pthread_mutex_unlock(&s->lock);
    return respond(c, &v);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    collect_server *s = (collect_server *)cls;
    request *rq = (request *)*state;
    verdict v = { 0, "", NULL, NULL };
    (void)version;
    if (!rq) { /* headers are in: the first call */
        if (!(rq = (request *)calloc(1, sizeof *rq)))
            return MHD_NO;
        pub_buf_init(&rq->body, s->cfg.max_body);
        rq->started = time(NULL);
        *state = rq;
        return early_answer(s, c, rq);
    }
    if (*size) { /* a piece of the body */
        if (time(NULL) - rq->started > s->cfg.body_timeout_s)
            return MHD_NO; /* a slow sender holds a connection and memory: cut it off */
        if (!rq->too_big && !rq->busy && rq->body.len + *size > rq->charged &&
            charge(s, rq, rq->body.len + *size - rq->charged) != 0)
            rq->busy = 1;
        if (!rq->too_big && !rq->busy && pub_buf_append(&rq->body, data, *size) != 0)
            rq->too_big = 1;
        *size = 0;
        return MHD_YES;
    }
    if (rq->busy) {
        fail(&v, 503, "too many request bodies in memory; try again%s", NULL);
        v.retry_after = "1";
    } else if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0)
        stats_json(s, &v);
    else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/events") == 0 && !collect_loopback(s->cfg.host))
        fail(&v, 403, "/v1/events (EventGate's contract) carries no signature: served on a loopback address "
             "only%s", NULL);
    else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/events") == 0)
        eventgate_post(s, c, rq, &v);
    else if (strcmp(url, "/v2") != 0 && strcmp(url, "/v2j") != 0)
        fail(&v, 404, "no such endpoint (POST /v2, /v2j or /v1/events)%s", NULL);
    else if (strcmp(method, "POST") != 0)
        fail(&v, 405, "use POST%s", NULL);
    else {
        collect_headers h = { mhd_header, c };
        v.status = collect_handle_batch(s, &h, rq->body.data, rq->body.len, rq->too_big, strcmp(url, "/v2j") == 0,
                                        v.msg, sizeof v.msg, &v.retry_after);
    }
    pthread_mutex_lock(&s->lock);
    s->st.bytes_in += rq->body.len;
    if (v.status >= 400 && v.status != 500 && v.status != 503)
        s->st.rejected++;
    pthread_mutex_unlock(&s->lock);
    if (v.status >= 400 && strcmp(v.msg, "failing on purpose") != 0)
        fprintf(stderr, "ringcollect: %s %s -> %d %s\n", method, url, v.status, v.msg);
    enum MHD_Result ok = respond(c, &v);
    free(v.body);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    request *rq = (request *)*state;
    (void)c, (void)why;
    if (rq) {
        uncharge((collect_server *)cls, rq);
        pub_buf_free(&rq->body);
        free(rq);
        *state = NULL;
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    collect_server *s = (collect_server *)cls;
    int refuse;
    (void)addr, (void)len;
    pthread_mutex_lock(&s->lock);
    refuse = rand01(s) < s->cfg.refuse_rate;
    s->st.refused += (uint64_t)refuse;
    pthread_mutex_unlock(&s->lock);
    return refuse ? MHD_NO : MHD_YES;
}

collect_server *collect_start(const collect_cfg *cfg, char *why, size_t whylen)
{
    collect_server *s = (collect_server *)calloc(1, sizeof *s);
    struct sockaddr_in sa;
    char path[1100];
    if (!s)
        return NULL;
    s->cfg = *cfg;
    cfg = &s->cfg; /* with the defaults of what the caller left 0 */
    s->cfg.max_inflight = s->cfg.max_inflight ? s->cfg.max_inflight : (size_t)64 << 20;
    s->cfg.max_conns = s->cfg.max_conns ? s->cfg.max_conns : 1000;
    s->cfg.max_conns_per_ip = s->cfg.max_conns_per_ip ? s->cfg.max_conns_per_ip : 64;
    s->cfg.body_timeout_s = s->cfg.body_timeout_s ? s->cfg.body_timeout_s : 30;
    s->rng = cfg->seed ? cfg->seed : (uint64_t)time(NULL) | 1;
    pthread_mutex_init(&s->lock, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
        snprintf(why, whylen, "--listen: %s is not an IPv4 address", cfg->host);
        collect_stop(s);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/batch-ids.log", cfg->out_dir);
    if ((cfg->jetstream && !(s->fwd = forward_open(cfg->jetstream, cfg->js_prefix, 5000, why, whylen))) ||
        (!cfg->no_files && (!(s->out = store_open(cfg->out_dir, cfg->fsync, why, whylen)) ||
                            !(s->seen = dedup_open(path, cfg->dedup_window, (uint32_t)cfg->replay_window_s, why, whylen))))) {
        collect_stop(s);
        return NULL;
    }
    struct MHD_OptionItem tls[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem },
        { MHD_OPTION_END, 0, NULL },
    };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (cfg->tls_cert_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(why, whylen, "this libmicrohttpd has no TLS support");
            collect_stop(s);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    s->mhd = MHD_start_daemon(flags, 0, on_accept, s, on_request, s,
                              MHD_OPTION_ARRAY, cfg->tls_cert_pem ? tls : tls + 2,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_THREAD_POOL_SIZE, 4u,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(why, whylen, "cannot listen on %s:%d", cfg->host, cfg->port);
        collect_stop(s);
        return NULL;
    }
    return s;
}

int collect_port(const collect_server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : -1;
}

void collect_get_stats(collect_server *s, collect_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    pthread_mutex_unlock(&s->lock);
}

void collect_stop(collect_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    dedup_close(s->seen);
    store_close(s->out);
    forward_close(s->fwd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
