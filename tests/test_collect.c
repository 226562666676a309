/* ringcollect over real loopback HTTP (libcurl as the client): every
 * accept and reject path, de-duplication across a restart, misbehaviour. */
#include "helpers.h"

#include "batch.h"
#include "check.h"
#include "codec.h"
#include "config.h"
#include "server.h"
#include "sign.h"

#include <curl/curl.h>
#include <sodium.h>
#include <time.h>

TestSuite(collect, .fini = th_cleanup);

static collect_server *srv;
static collect_cfg cfg;

static void start(void)
{
    char why[256];
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", th_dir());
    snprintf(cfg.keys[0].name, sizeof cfg.keys[0].name, "TestKey");
    memcpy(cfg.keys[0].secret, "hunter2", 7);
    cfg.keys[0].len = 7;
    cfg.keys[0].untimestamped = 1; /* most tests post baseplate's form; see signed_timestamps_... */
    cfg.nkeys = 1;
    cfg.max_body = 64 << 10;
    cfg.max_decompressed = 1 << 20;
    cfg.replay_window_s = 300;
    cfg.dedup_window = 1000;
    cfg.fail_status = 503;
    srv = collect_start(&cfg, why, sizeof why);
    cr_assert_not_null(srv, "%s", why);
}

static void restart(void)
{
    collect_stop(srv);
    srv = collect_start(&cfg, (char[256]){ 0 }, 256);
    cr_assert_not_null(srv);
}

typedef struct {
    const char *path, *key, *encoding, *batch_id, *queue;
    const uint8_t *secret;
    size_t secret_len;
    long long ts; /* 0: no timestamp (baseplate's form) */
    const char *signed_id, *signed_queue; /* what the mac covers, when not the headers (forged) */
    int bad_mac;
} post_opts;

typedef struct {
    long status;
    char retry_after[32];
} reply;

static size_t on_header(char *b, size_t size, size_t n, void *ud)
{
    reply *r = (reply *)ud;
    if (n * size > 13 && strncasecmp(b, "Retry-After: ", 13) == 0)
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(b + 13, "\r\n"), b + 13);
    return n * size;
}

static size_t discard(char *b, size_t size, size_t n, void *ud)
{
    (void)b, (void)ud;
    return size * n;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
    char line[400];
    if (!value)
        return h;
    snprintf(line, sizeof line, "%s: %s", name, value);
    return curl_slist_append(h, line);
}

/* POST body (already encoded) signed over plain. */
static reply post(const post_opts *o, const void *plain, size_t plain_len, const void *body, size_t len)
{
    char url[128], hdr[300], mac[PUB_MAC_HEX], body_mac[PUB_MAC_HEX];
    struct curl_slist *h = NULL;
    reply r = { 0, "" };
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", collect_port(srv), o->path ? o->path : "/v2");
    const uint8_t *secret = o->secret ? o->secret : (const uint8_t *)"hunter2";
    size_t secret_len = o->secret ? o->secret_len : 7;
    pub_sign(secret, secret_len, NULL, plain, plain_len, body_mac);
    if (o->ts) /* ringpub's form: time, id and queue covered (sign.h) */
        pub_sign_stamped(secret, secret_len, o->ts, o->signed_id ? o->signed_id : o->batch_id ? o->batch_id : "",
                         o->signed_queue ? o->signed_queue : o->queue ? o->queue : "", body_mac, mac);
    else
        memcpy(mac, body_mac, sizeof mac);
    if (o->bad_mac)
        mac[0] = mac[0] == 'a' ? 'b' : 'a';
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", o->ts);
    if (o->key) {
        snprintf(hdr, sizeof hdr, "key=%s, mac=%s", o->key, mac);
        h = add_header(h, "X-Signature", hdr);
    }
    h = add_header(h, "Content-Encoding", o->encoding);
    h = add_header(h, "X-Batch-Id", o->batch_id);
    h = add_header(h, "X-Ringpub-Queue", o->queue);
    h = add_header(h, "X-Signature-Timestamp", o->ts ? ts : NULL);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "curl: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

/* Post a plain body, compressed with codec. */
static long post_plain(const post_opts *o, pub_compression codec, const char *plain)
{
    pub_buf z;
    pub_buf_init(&z, 1 << 22);
    cr_assert_eq(pub_compress(codec, -1, plain, strlen(plain), &z), 0);
    post_opts oo = *o;
    if (!oo.encoding)
        oo.encoding = pub_codec_encoding(codec);
    reply r = post(&oo, plain, strlen(plain), z.data, z.len);
    pub_buf_free(&z);
    return r.status;
}

static char *slurp(const char *queue)
{
    char path[300];
    static char buf[1 << 16];
    snprintf(path, sizeof path, "%s/%s.jsonl", th_dir(), queue);
    FILE *f = fopen(path, "r");
    if (!f)
        return strcpy(buf, "");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *V2 = "{\"1\":{\"lst\":[\"rec\",2,{\"1\":{\"str\":\"a\"}}, {\"2\":{\"i64\":5}}]}}";

Test(collect, accepts_signed_v2_and_v2j, .init = start)
{
    post_opts o = { .key = "TestKey", .batch_id = "b1", .queue = "main" };
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200);
    cr_assert_str_eq(slurp("main"), "{\"1\":{\"str\":\"a\"}}\n{\"2\":{\"i64\":5}}\n");
    o.path = "/v2j";
    o.batch_id = "b2";
    cr_assert_eq(post_plain(&o, PUB_GZIP, "[{\"x\":1},\n {\"y\":\"\\n\"}]"), 200);
    o.batch_id = NULL;
    o.queue = NULL;
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{\"z\":true}]"), 200);
    cr_assert_str_eq(slurp("main"),
                     "{\"1\":{\"str\":\"a\"}}\n{\"2\":{\"i64\":5}}\n{\"x\":1}\n{\"y\":\"\\n\"}\n");
    cr_assert_str_eq(slurp("default"), "{\"z\":true}\n");
    collect_stats st;
    collect_get_stats(srv, &st);
    cr_assert_eq(st.batches, 3);
    cr_assert_eq(st.events, 5);
    collect_stop(srv);
}

Test(collect, duplicate_batch_ids_stored_once_even_after_restart, .init = start)
{
    post_opts o = { .key = "TestKey", .batch_id = "dup-1", .queue = "q" };
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200);
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200, "a duplicate is a success for the sender");
    restart();
    cr_assert_eq(post_plain(&o, PUB_GZIP, V2), 200);
    collect_stats st;
    collect_get_stats(srv, &st);
    cr_assert_eq(st.duplicates, 1, "after the restart");
    cr_assert_str_eq(slurp("q"), "{\"1\":{\"str\":\"a\"}}\n{\"2\":{\"i64\":5}}\n");
    collect_stop(srv);
}

Test(collect, signature_checks, .init = start)
{
    post_opts o = { .key = "TestKey" };
    o.bad_mac = 1;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401);
    o.bad_mac = 0;
    o.key = "OtherKey";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401);
    o.key = NULL;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "unsigned");
    o.key = "TestKey";
    o.secret = (const uint8_t *)"hunter3";
    o.secret_len = 7;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "wrong secret");
    cr_assert_str_eq(slurp("default"), "");
    collect_stop(srv);
}

/* /v2j events are checked in one pass and stored as sent (jsonscan.h):
 * escapes, spacing and number spelling kept; a body the checker leaves to
 * jansson (a line break inside an event, an exponent) is stored re-serialized. */
Test(collect, v2j_events_stored_as_sent, .init = start)
{
    post_opts o = { .key = "TestKey", .path = "/v2j", .batch_id = "r1", .queue = "raw" };
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[ {\"a\": \"\\u00e9\", \"n\": 1.50} ,{\"b\":[1, 2]}]"), 200);
    cr_assert_str_eq(slurp("raw"), "{\"a\": \"\\u00e9\", \"n\": 1.50}\n{\"b\":[1, 2]}\n");
    o.batch_id = "r2";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[{\"c\":\n 1e2}]"), 200);
    cr_assert_str_eq(slurp("raw"), "{\"a\": \"\\u00e9\", \"n\": 1.50}\n{\"b\":[1, 2]}\n{\"c\":100.0}\n");
    o.batch_id = "r3";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[{\"d\":1,\"d\":2}]"), 400, "duplicate key");
    o.batch_id = "r4";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[{\"e\":\"\\ud800\"}]"), 400, "lone surrogate");
    o.batch_id = "r5";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[{\"f\":01}]"), 400, "leading zero");
    o.batch_id = "r6";
    cr_assert_eq(post_plain(&o, PUB_NONE, ""), 400, "an empty body");
    collect_stop(srv);
}

Test(collect, signed_timestamps_and_replay_window, .init = start)
{
    post_opts o = { .key = "TestKey", .batch_id = "t1", .queue = "q", .ts = (long long)time(NULL) };
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200);
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200, "a replay inside the window is answered...");
    collect_stats st;
    collect_get_stats(srv, &st);
    cr_assert_eq(st.batches, 1, "...but its id is known: not stored twice");
    cr_assert_eq(st.duplicates, 1);
    o.batch_id = "t2";
    o.ts -= 3600;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "an hour-old signature");
    o.ts += 3600;
    o.signed_id = "t1";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "the id is covered: a captured batch under a new id");
    o.signed_id = NULL;
    o.batch_id = "t3";
    o.queue = "public";
    o.signed_queue = "q";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "the queue is covered: signed for q, sent to public");
    o.signed_queue = NULL;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200, "signed for the queue it names");
    o.ts = 0; /* baseplate's form: allowed for this key (start() marks it) */
    o.batch_id = "t4";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200);
    cfg.keys[0].untimestamped = 0; /* the default */
    restart();
    o.batch_id = "t5";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "no timestamp, key not allowed untimestamped");
    o.ts = (long long)time(NULL);
    o.batch_id = NULL;
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 401, "a timestamped signature needs an id");
    o.batch_id = "t1";
    o.queue = "q";
    cr_assert_eq(post_plain(&o, PUB_ZSTD, V2), 200, "t1 again, after a restart...");
    collect_get_stats(srv, &st);
    cr_assert_eq(st.batches, 0, "...is still known (the id log)");
    cr_assert_eq(st.duplicates, 1);
    collect_stop(srv);
}

Test(collect, malformed_bodies_rejected, .init = start)
{
    post_opts o = { .key = "TestKey" };
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "{\"1\":{\"lst\":[\"rec\",3,{}]}}"), 400, "count mismatch");
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "{\"1\":{\"lst\":[\"rec\",1,{}"), 400, "truncated");
    cr_assert_eq(post_plain(&o, PUB_ZSTD, "[{}]"), 400, "2j body on /v2");
    o.path = "/v2j";
    cr_assert_eq(post_plain(&o, PUB_NONE, "{\"a\":1}"), 400, "not an array");
    o.encoding = "zstd";
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{}]"), 400, "says zstd, is not");
    o.encoding = "br";
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{}]"), 415);
    o.encoding = NULL;
    o.batch_id = "has space";
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{}]"), 400, "bad batch id");
    o.batch_id = NULL;
    o.queue = "../etc";
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{}]"), 400, "bad queue name");
    collect_stats st;
    collect_get_stats(srv, &st);
    cr_assert_eq(st.batches, 0);
    cr_assert_eq(st.rejected, 8);
    collect_stop(srv);
}

Test(collect, size_caps, .init = start)
{
    post_opts o = { .key = "TestKey", .path = "/v2j" };
    /* over max_body (64 KiB) on the wire */
    static char big[100 << 10];
    memset(big, ' ', sizeof big);
    big[0] = '[';
    big[sizeof big - 2] = ']';
    big[sizeof big - 1] = '\0';
    cr_assert_eq(post_plain(&o, PUB_NONE, big), 413);
    /* small on the wire, over max_decompressed (1 MiB) once inflated */
    static char huge[2 << 20];
    memset(huge, ' ', sizeof huge);
    huge[0] = '[';
    huge[sizeof huge - 2] = ']';
    huge[sizeof huge - 1] = '\0';
    cr_assert_eq(post_plain(&o, PUB_ZSTD, huge), 413);
    cr_assert_eq(post_plain(&o, PUB_GZIP, huge), 413);
    collect_stop(srv);
}

Test(collect, wrong_method_or_path, .init = start)
{
    char url[128];
    long status;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2", collect_port(srv));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    cr_assert_eq(status, 405);
    curl_easy_cleanup(c);
    post_opts o = { .key = "TestKey", .path = "/v3" };
    cr_assert_eq(post_plain(&o, PUB_NONE, "[]"), 404);
    collect_stop(srv);
}

Test(collect, misbehaves_when_told, .init = start)
{
    collect_stop(srv);
    cfg.fail_rate = 1.0;
    cfg.retry_after_s = 7;
    srv = collect_start(&cfg, (char[256]){ 0 }, 256);
    cr_assert_not_null(srv);
    post_opts o = { .key = "TestKey" };
    pub_buf z;
    pub_buf_init(&z, 1 << 20);
    cr_assert_eq(pub_compress(PUB_ZSTD, -1, V2, strlen(V2), &z), 0);
    o.encoding = "zstd";
    reply r = post(&o, V2, strlen(V2), z.data, z.len);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(r.retry_after, "7");
    pub_buf_free(&z);
    cr_assert_str_eq(slurp("default"), "");
    collect_stop(srv);
}

/* POST /v1/events: EventGate's contract — 201 all accepted, 207 some
 * refused (listed with the reason), 400 none; accepted events stored. */
Test(collect, eventgate_endpoint_statuses, .init = start)
{
    post_opts o = { .path = "/v1/events", .queue = "eg" };
    const char *ok = "{\"$schema\":\"/a/1\",\"meta\":{\"stream\":\"s\"},\"n\":1}";
    char body[400];
    snprintf(body, sizeof body, "[%s,%s]", ok, ok);
    cr_assert_eq(post_plain(&o, PUB_NONE, body), 201);
    snprintf(body, sizeof body, "[%s,{\"meta\":{\"stream\":\"s\"}},7]", ok);
    cr_assert_eq(post_plain(&o, PUB_NONE, body), 207);
    cr_assert_eq(post_plain(&o, PUB_NONE, "[{\"x\":1}]"), 400);
    cr_assert_eq(post_plain(&o, PUB_NONE, "{not json"), 400);
    cr_assert_eq(post_plain(&o, PUB_NONE, ok), 201, "a single event on its own");
    char *got = slurp("eg");
    int lines = 0;
    for (char *p = got; (p = strchr(p, '\n')); p++)
        lines++;
    cr_assert_eq(lines, 4, "2 + 1 + 0 + 0 + 1 accepted: %s", got);
    collect_stop(srv);
}
