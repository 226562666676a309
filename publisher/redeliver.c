/* redeliver.c — see redeliver.h. */
#include "redeliver.h"

#include "batch.h"
#include "body.h"
#include "cli.h"
#include "daemon.h"
#include "jsonl.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define PLAIN_MAX ((size_t)256 << 20) /* a body never decompresses past this */

static const char usage[] =
    "usage: ringpub redeliver --queue NAME --config FILE [--quarantine] [--dry-run] [--file PATH]\n"
    "Sends again the batches the collector refused (deadletter.file of queue NAME), or\n"
    "with --quarantine the quarantined ring records that are whole JSON events, signed\n"
    "with the key configured now. Lines not delivered stay in the file.\n"
    "  --dry-run    decode and count, send nothing, move nothing\n"
    "  --file PATH  take this file instead (e.g. a FILE.redeliver-PID left by an interrupted run)\n";

typedef struct {
    pub_daemon *d;
    int dry_run, quarantine;
    unsigned long batches, events, kept;
} run;

/* The lane a dead-letter line names ("" or absent: the queue's own). */
static pub_lane *lane_named(pub_daemon *d, const char *name)
{
    for (int i = 0; i < d->nlanes; i++)
        if (strcmp(d->lanes[i].name, name) == 0)
            return &d->lanes[i];
    return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* POST o; 0 on a 2xx, else -1 with why. */
static int post(const pub_daemon *d, const pub_out *o, char *why, size_t whylen)
{
    pub_http tls = { 0 };
    long status = 0;
    CURL *e = curl_easy_init();
    struct curl_slist *h = pub_out_headers(d, o);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    tls.tls_verify = d->cfg.tls_verify;
    tls.tls_ca_file = d->cfg.tls_ca_file, tls.tls_cert = d->cfg.tls_client_cert, tls.tls_key = d->cfg.tls_client_key;
    if (e && h) {
        pub_http_setup(e, &tls, o->lane->url, h, o->body.data, o->body.len, (long)d->cfg.post_timeout_ms);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        if ((rc = curl_easy_perform(e)) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%.300s: %s", o->lane->url, curl_easy_strerror(rc));
    else if (status < 200 || status >= 300)
        snprintf(why, whylen, "%.300s answered %ld", o->lane->url, status);
    else
        return 0;
    return -1;
}

/* A string member of j, or NULL. */
static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* plain: the events of one line (a batch body, or one quarantined event). */
static int decode_line(run *x, json_t *j, pub_buf *plain, pub_lane **lane, char id[SPOOL_ID_MAX], char *why,
                       size_t whylen)
{
    const char *b64 = str(j, x->quarantine ? "bytes_base64" : "body_base64"), *route = str(j, "route");
    size_t cap = b64 ? strlen(b64) : 0, len = 0;
    pub_compression codec = PUB_NONE;
    uint8_t *raw = (uint8_t *)malloc(cap ? cap : 1);
    int rc = -1;
    *lane = lane_named(x->d, route ? route : "");
    if (!b64 || !raw || sodium_base642bin(raw, cap, b64, cap, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        snprintf(why, whylen, "no valid %s", x->quarantine ? "bytes_base64" : "body_base64");
    else if (!*lane)
        snprintf(why, whylen, "route %.64s is not configured now", route);
    else if ((*lane)->sink != PUB_SINK_HTTP && (*lane)->sink != PUB_SINK_EVENTGATE)
        snprintf(why, whylen, "its sink is not an HTTP collector now");
    else if (!x->quarantine && (!str(j, "encoding") || pub_codec_from_encoding(str(j, "encoding"), &codec) != 0))
        snprintf(why, whylen, "unknown encoding");
    else if (pub_decompress(codec, raw, len, plain) != 0)
        snprintf(why, whylen, "the body does not decompress");
    else
        rc = 0;
    free(raw);
    if (rc != 0)
        return -1;
    if (x->quarantine) { /* a record that is one whole JSON value; its id from where it was */
        json_error_t err;
        json_t *ev = json_loadb((const char *)plain->data, plain->len, JSON_REJECT_DUPLICATES, &err);
        char in[200];
        json_decref(ev);
        if (!ev) {
            snprintf(why, whylen, "the record is not a JSON event (%.100s)", err.text);
            return -1;
        }
        snprintf(in, sizeof in, "quarantine %s %lld", x->d->cfg.queue,
                 (long long)json_integer_value(json_object_get(j, "pos")));
        pub_id_of(in, strlen(in), id);
        return 0;
    }
    const char *bid = str(j, "batch_id");
    if (!bid || strlen(bid) >= SPOOL_ID_MAX || strspn(bid, "0123456789abcdef") != strlen(bid) || !*bid) {
        snprintf(why, whylen, "no valid batch_id");
        return -1;
    }
    memcpy(id, bid, strlen(bid) + 1);
    return 0;
}

/* The batch of one line, framed for lane l: o's body filled. */
static int frame_line(run *x, const pub_buf *plain, pub_out *o, char *why, size_t whylen)
{
    pub_batch b;
    const char *version = plain->len && plain->data[0] == '[' ? "2j" : "2";
    long n = x->quarantine ? 1 : body_spans((const char *)plain->data, plain->len, version, NULL, 0);
    body_span *spans = n > 0 ? (body_span *)calloc((size_t)n, sizeof *spans) : NULL;
    int rc = -1;
    if (n <= 0 || !spans || pub_batch_init(&b, o->lane->version, plain->len + 64) != 0) {
        snprintf(why, whylen, "not a batch body ringpub makes");
        free(spans);
        return -1;
    }
    if (x->quarantine)
        spans[0] = (body_span){ 0, plain->len };
    else
        body_spans((const char *)plain->data, plain->len, version, spans, (size_t)n);
    for (long i = 0; i < n && (rc = pub_batch_add(&b, plain->data + spans[i].off, spans[i].len)) == 0; i++)
        ;
    if (rc != 0)
        snprintf(why, whylen, "its events do not fit one batch");
    else if ((rc = pub_batch_finish(&b)) != 0)
        snprintf(why, whylen, "out of memory");
    else
        pub_out_fill(x->d, o, b.body, b.body_len, (uint32_t)n);
    pub_batch_free(&b);
    free(spans);
    return rc == 0 ? 0 : -1;
}

/* One line: delivered (0) or kept (-1 with why). */
static int one_line(run *x, const char *line, size_t len, char *why, size_t whylen)
{
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    pub_buf plain;
    pub_lane *lane = NULL;
    pub_out *o = NULL;
    char id[SPOOL_ID_MAX];
    int rc = -1;
    pub_buf_init(&plain, PLAIN_MAX);
    if (!json_is_object(j))
        snprintf(why, whylen, "not a JSON object (%.100s)", j ? "" : err.text);
    else if (decode_line(x, j, &plain, &lane, id, why, whylen) == 0 && (o = pub_out_new(lane, id)) &&
             frame_line(x, &plain, o, why, whylen) == 0 && (x->dry_run || post(x->d, o, why, whylen) == 0)) {
        x->batches++;
        x->events += o->count;
        rc = 0;
    }
    if (o)
        pub_out_free(o);
    pub_buf_free(&plain);
    json_decref(j);
    return rc;
}

/* Take the file over: renamed (a running daemon appends to a new one) and
 * locked (an append in progress to the old one finishes first). */
static FILE *take(const char *path, int dry_run, char *taken, size_t takenlen)
{
    FILE *f;
    if (dry_run)
        return fopen(path, "r");
    snprintf(taken, takenlen, "%s.redeliver-%ld", path, (long)getpid());
    if (rename(path, taken) != 0)
        return NULL;
    if (!(f = fopen(taken, "r")))
        return NULL;
    flock(fileno(f), LOCK_EX);
    return f;
}

static void load(pub_daemon *d, const char *queue, const char *config)
{
    char err[700];
    pub_config_defaults(&d->cfg, queue);
    if (pub_config_load(&d->cfg, config, err, sizeof err) != 0 || pub_config_check(&d->cfg, err, sizeof err) != 0)
        cli_fail("ringpub redeliver", "%s", err);
    pub_config_default_paths(&d->cfg);
    if ((d->nlanes = pub_lanes_open(d->lanes, &d->cfg, err, sizeof err)) < 0)
        cli_fail("ringpub redeliver", "%s", err);
}

int pub_redeliver_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", 1, 0, 'q' }, { "config", 1, 0, 'c' }, { "quarantine", 0, 0, 'Q' }, { "dry-run", 0, 0, 'n' },
        { "file", 1, 0, 'f' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
    };
    static pub_daemon d;
    run x = { &d, 0, 0, 0, 0, 0 };
    const char *queue = NULL, *config = NULL, *file = NULL;
    char taken[PUB_PATH + 40] = "", why[600], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'q': queue = optarg; break;
        case 'c': config = optarg; break;
        case 'Q': x.quarantine = 1; break;
        case 'n': x.dry_run = 1; break;
        case 'f': file = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: cli_fail("ringpub redeliver", "bad option (see --help)%s", "");
        }
    }
    if (!queue || !config || optind < argc)
        cli_fail("ringpub redeliver", "needs --queue NAME and --config FILE (the daemon's)%s", "");
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        cli_fail("ringpub redeliver", "cannot initialise libsodium or libcurl%s", "");
    load(&d, queue, config);
    const char *path = file ? file : x.quarantine ? d.cfg.quarantine_file : d.cfg.deadletter_file;
    FILE *f = take(path, x.dry_run, taken, sizeof taken);
    if (!f) {
        if (errno == ENOENT) {
            printf("ringpub redeliver: %s does not exist: nothing to send\n", path);
            return 0;
        }
        cli_fail("ringpub redeliver", "cannot take the file over: %s", strerror(errno));
    }
    for (unsigned long no = 1; (n = getline(&line, &cap, f)) > 0; no++) {
        if (one_line(&x, line, (size_t)n, why, sizeof why) == 0)
            continue;
        x.kept++;
        fprintf(stderr, "ringpub redeliver: %s line %lu: kept: %s\n", path, no, why);
        if (!x.dry_run && pub_append_sync(path, line, (size_t)n) != 0) {
            fprintf(stderr, "ringpub redeliver: cannot put line %lu back in %s (%s): the rest stays in %s\n", no,
                    path, strerror(errno), taken);
            return 1;
        }
    }
    free(line);
    fclose(f);
    if (!x.dry_run && unlink(taken) != 0)
        fprintf(stderr, "ringpub redeliver: cannot remove %s: %s\n", taken, strerror(errno));
    printf("ringpub redeliver: %s%lu batches (%lu events) %s %s; %lu lines %s\n", x.dry_run ? "dry run: " : "",
           x.batches, x.events, x.dry_run ? "would be sent to" : "delivered to", d.lanes[0].where, x.kept,
           x.dry_run ? "could not be sent" : "kept");
    return x.kept ? 1 : 0;
}
