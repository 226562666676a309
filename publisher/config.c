/*
 * config.c — keys of the [event-publisher:NAME] section, their parsing and
 * checks. One table describes every key; see config.h for the list.
 */
#include "config.h"

#include <ringpub.h> /* the ring's limits: one source */

#include "ini.h"
#include "process.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { K_STR, K_HOST, K_SIZE, K_MS, K_U32, K_BOOL, K_ENUM, K_SECRET, K_SECRET_FILE } kind;

typedef struct {
    const char *key;
    kind k;
    size_t off, size;      /* field offset; buffer size for K_STR */
    uint64_t lo, hi;       /* range for numbers */
    const char *choices;   /* K_ENUM: "a|b|c", value = index; K_STR: allowed set or NULL */
    const char *def;       /* the default with a config file, parsed like a value; NULL: none here */
    const char *dev;       /* the default without one (the demo), if it differs */
    const char *shown;     /* the default as documented, where it is not a plain value */
    const char *help;      /* one line for --help-config and docs/configuration.md */
} key_spec;

#define SINKS "http|jetstream|file|eventgate" /* pub_sink, in order */
#define F(field) offsetof(pub_config, field), sizeof(((pub_config *)0)->field)

/* Every key of a [event-publisher:NAME] section: the parser, the defaults
 * (pub_config_defaults, pub_config_load) and `ringpub --help-config` (the
 * table in docs/configuration.md, checked equal by test_config) read this
 * table and nothing else. */
static const key_spec keys[] = {
    { "collector.hostname", K_HOST, F(collector_host), 1, 0, NULL, NULL, PUB_DEV_COLLECTOR, "(required)",
      "host[:port] of the collector" },
    { "collector.version", K_STR, F(collector_version), 0, 0, "2|2j", "2", "2j", NULL,
      "`2` (TJSON list body) or `2j` (JSON array), URL `/v2` or `/v2j`" },
    { "collector.scheme", K_STR, F(scheme), 0, 0, "http|https", "https", "http", NULL,
      "`http` or `https` (certificate and host name verified)" },
    { "key.name", K_STR, F(key_name), 1, 0, NULL, NULL, PUB_DEV_KEY_NAME, "(required)",
      "`X-Signature: key=NAME, mac=HEX`" },
    { "key.secret", K_SECRET, F(key_secret), 0, 0, NULL, NULL, NULL, "(required, or key.secret_file)",
      "the key in base64; a config file holding it must be mode 0600" },
    { "key.secret_file", K_SECRET_FILE, F(key_secret), 0, 0, NULL, NULL, NULL, NULL,
      "a file holding the base64 key; must be mode 0600" },
    { "max_queue_size", K_U32, F(max_queue_size), 1, 100000000, NULL, "10000", NULL, NULL,
      "accepted as baseplate's; the ring's size is `ring.capacity`" },
    { "metrics.namespace", K_STR, F(metrics_namespace), 0, 0, NULL, NULL, NULL, NULL, "statsd prefix (as baseplate)" },
    { "metrics.endpoint", K_STR, F(metrics_endpoint), 0, 0, NULL, NULL, NULL, NULL, "statsd `host:port` (UDP)" },
    { "metrics.listen", K_STR, F(metrics_listen), 0, 0, NULL, NULL, NULL, NULL,
      "`127.0.0.1:PORT` (or `[::1]:PORT`): serve `GET /metrics` (Prometheus text) and `GET /healthz`; loopback "
      "only" },
    { "batch.max_bytes", K_SIZE, F(batch_max_bytes), 1024, 64u << 20, NULL, "500KiB", NULL, NULL,
      "a batch is sent when it holds this many bytes of events" },
    { "batch.max_age", K_MS, F(batch_max_age_ms), 1, 3600000, NULL, "1s", "200ms", NULL,
      "... or when its first event is this old" },
    { "compression", K_ENUM, F(compression), 0, 0, "zstd|gzip|none", "gzip", "zstd", NULL,
      "`gzip` (baseplate's), `zstd` (ringcollect and JetStream consumers read it) or `none`" },
    { "compression.level", K_U32, F(compression_level), 0, 22, NULL, NULL, NULL, "zstd 3, gzip 6",
      "the codec's level" },
    { "delivery", K_ENUM, F(delivery), 0, 0, "guaranteed|hasty", "guaranteed", NULL, NULL,
      "or `hasty`: one attempt, failures dropped and counted" },
    { "retry.budget", K_MS, F(retry_budget_ms), 0, 7 * 86400000u, NULL, "5m", NULL, NULL,
      "accepted for old configs; unused since failures go to the spool at once" },
    { "retry.backoff_base", K_MS, F(backoff_base_ms), 10, 60000, NULL, "1s", NULL, NULL,
      "while the collector fails, one probe at a time; the wait doubles per failed probe from this (full "
      "jitter above it), at least its `Retry-After`" },
    { "retry.backoff_cap", K_MS, F(backoff_cap_ms), 10, 3600000, NULL, "5s", NULL, NULL,
      "... up to this, which is also how soon a collector that comes back is noticed" },
    { "retry.jitter", K_ENUM, F(jitter_none), 0, 0, "full|none", "full", NULL, NULL,
      "or `none`: every wait at the top of its range (to see what jitter buys: the fleet simulation)" },
    { "post.timeout", K_MS, F(post_timeout_ms), 10, 600000, NULL, "3s", NULL, NULL, "per request" },
    { "inflight.max", K_U32, F(inflight_max), 1, 64, NULL, "4", NULL, NULL, "batches in flight at once" },
    { "spool.dir", K_STR, F(spool_dir), 1, 0, NULL, NULL, NULL, "`$STATE_DIRECTORY` under systemd, else `/var/tmp/ringpub`",
      "disk spool: batches the collector has not taken yet" },
    { "spool.max_bytes", K_SIZE, F(spool_max_bytes), 0, (uint64_t)1 << 50, NULL, "1GiB", NULL, NULL,
      "the spool's size limit" },
    { "deadletter.file", K_STR, F(deadletter_file), 1, 0, NULL, NULL, NULL, "`SPOOL/NAME.deadletter.jsonl`",
      "batches the collector refused" },
    { "quarantine.file", K_STR, F(quarantine_file), 1, 0, NULL, NULL, NULL, "`SPOOL/NAME.quarantine.jsonl`",
      "ring bytes that do not parse (docs/testing.md, \"Faults\")" },
    { "ring.capacity", K_SIZE, F(ring_capacity), 4096, RP_MAX_CAPACITY, NULL, "16MiB", NULL, NULL,
      "the ring's data area if the daemon creates it (allocated in full)" },
    { "ring.max_event", K_SIZE, F(ring_max_event), 16, 1u << 28, NULL, "102400", NULL, NULL,
      "the largest event if the daemon creates the ring" },
    { "signature.timestamp", K_BOOL, F(sign_timestamp), 0, 1, NULL, NULL, NULL, "auto",
      "ringpub's signature form: the MAC covers time, batch id and queue, signed afresh at each attempt "
      "(replay protection; ringcollect). auto: on with `compression = zstd` or `collector.version = 2j`" },
    { "ring.group", K_STR, F(ring_group), 1, 0, NULL, NULL, NULL, NULL,
      "share the ring with this group (name or gid): mode 0660" },
    { "sink", K_ENUM, F(sink), 0, 0, SINKS, "http", NULL, NULL,
      "or `jetstream` (NATS JetStream), `eventgate` (an EventGate-style API), `file` (a local JSONL file)" },
    { "eventgate.url", K_STR, F(eventgate_url), 1, 0, NULL, "http://127.0.0.1:8192/v1/events", NULL, NULL,
      "`sink = eventgate`: where JSON arrays are POSTed" },
    { "file.path", K_STR, F(file_path), 1, 0, NULL, NULL, NULL, "`SPOOL/NAME.events.jsonl`",
      "`sink = file`: one JSON line per event, fdatasync'ed before the ring space goes" },
    { "jetstream.url", K_STR, F(js_url), 1, 0, NULL, "nats://127.0.0.1:4222", NULL, NULL,
      "NATS servers, comma-separated" },
    { "jetstream.subject", K_STR, F(js_subject), 1, 0, NULL, NULL, NULL, "`events.QUEUE`", "the subject" },
    { "jetstream.unit", K_ENUM, F(js_per_event), 0, 0, "batch|event", "batch", NULL, NULL,
      "or `event`: one message per event, `Nats-Msg-Id` = `BATCH_ID.N`, no MAC" },
    { "jetstream.by_stream", K_BOOL, F(js_by_stream), 0, 1, NULL, "false", NULL, NULL,
      "with `unit = event`: each event on `SUBJECT.<meta.stream>`" },
    { "processors", K_STR, F(processors), 0, 0, NULL, NULL, NULL, "none", "the processor chain, in order" },
    { "validate.required", K_STR, F(validate_required), 0, 0, NULL, NULL, NULL, NULL,
      "`validate`: fields every event must have" },
    { "validate.max_depth", K_U32, F(validate_max_depth), 1, 1000, NULL, "32", NULL, NULL,
      "`validate`: the deepest nesting allowed" },
    { "validate.max_bytes", K_SIZE, F(validate_max_bytes), 1, 1u << 28, NULL, NULL, NULL, NULL,
      "`validate`: the largest event allowed" },
    { "keep.match", K_STR, F(keep_match), 0, 0, NULL, NULL, NULL, NULL, "`filter`: keep only what matches" },
    { "drop.match", K_STR, F(drop_match), 0, 0, NULL, NULL, NULL, NULL, "`filter`: drop what matches" },
    { "errors.file", K_STR, F(errors_file), 1, 0, NULL, NULL, NULL, "`SPOOL/NAME.errors.jsonl`",
      "events a processor refused, as error events" },
    { "route.by", K_STR, F(route_by), 1, 0, NULL, NULL, NULL, NULL, "the field that picks a route" },
    { "tls.verify", K_BOOL, F(tls_verify), 0, 1, NULL, "true", NULL, NULL,
      "`false` turns verification off (logged as a warning)" },
    { "tls.ca_file", K_STR, F(tls_ca_file), 1, 0, NULL, NULL, NULL, "`$SSL_CERT_FILE`, else system CAs",
      "PEM bundle to verify the collector with" },
    { "tls.client_cert", K_STR, F(tls_client_cert), 1, 0, NULL, NULL, NULL, NULL, "PEM client certificate" },
    { "tls.client_key", K_STR, F(tls_client_key), 1, 0, NULL, NULL, NULL, NULL, "its key (both or neither)" },
};

int pub_config_stamps(const pub_config *c)
{
    if (c->sign_timestamp >= 0)
        return c->sign_timestamp;
    return c->compression == PUB_ZSTD || strcmp(c->collector_version, "2j") == 0;
}

static void default_path(char path[PUB_PATH], const pub_config *c, const char *suffix)
{
    if (!path[0])
        snprintf(path, PUB_PATH, "%.3000s/%s.%s", c->spool_dir, c->queue, suffix);
}

void pub_config_default_paths(pub_config *c)
{
    default_path(c->deadletter_file, c, "deadletter.jsonl");
    default_path(c->file_path, c, "events.jsonl");
    default_path(c->errors_file, c, "errors.jsonl");
    default_path(c->quarantine_file, c, "quarantine.jsonl");
}


static int choice_index(const char *choices, const char *v)
{
    size_t n = strlen(v);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return i;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static int set_secret(pub_config *c, const char *b64)
{
    size_t len = 0;
    if (sodium_base642bin(c->key_secret, sizeof c->key_secret, b64, strlen(b64), " \n\r\t", &len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || len == 0)
        return -1;
    c->key_secret_len = len;
    return 0;
}

/* Read a base64 secret from a file that only its owner may read. */
static int set_secret_file(pub_config *c, const char *path, char *why, size_t whylen)
{
    char buf[PUB_SECRET_MAX * 2];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, whylen, "%.200s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0077)) {
        snprintf(why, whylen, "%.200s must be a regular file readable only by its owner (chmod 600)", path);
        close(fd);
        return -1;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        snprintf(why, whylen, "%.200s is empty or unreadable", path);
        return -1;
    }
    buf[n] = '\0';
    if (set_secret(c, buf) != 0) {
        snprintf(why, whylen, "%.200s does not hold a base64 secret", path);
        sodium_memzero(buf, sizeof buf);
        return -1;
    }
    sodium_memzero(buf, sizeof buf);
    return 0;
}

/* Store a number into a field of size 4 or 8 after the range check. */
static int store_number(pub_config *c, const key_spec *k, uint64_t v)
{
    uint8_t *field = (uint8_t *)c + k->off;
    if (v < k->lo || v > k->hi)
        return -1;
    if (k->size == sizeof(uint32_t)) {
        uint32_t v32 = (uint32_t)v;
        memcpy(field, &v32, sizeof v32);
    } else {
        memcpy(field, &v, sizeof v);
    }
    return 0;
}

/* Why v is not a host or host:port (names, IPv4, [IPv6]), or NULL. */
static const char *host_problem(const char *v)
{
    const char *port;
    if (strstr(v, "://"))
        return "a URL; write the host (host or host:port) here and the scheme in collector.scheme";
    if (strpbrk(v, "/?#@ \t"))
        return "not a host or host:port (no path, user or spaces)";
    if (v[0] == '[') { /* [IPv6] or [IPv6]:port */
        const char *end = strchr(v, ']');
        if (!end)
            return "an IPv6 address without its closing ]";
        if (end[1] != '\0' && end[1] != ':')
            return "not a host or host:port";
        port = end[1] ? end + 1 : NULL;
    } else {
        port = strchr(v, ':');
        if (port == v)
            return "not a host or host:port";
    }
    if (port) {
        char *e;
        long n = strtol(port + 1, &e, 10);
        if (!isdigit((unsigned char)port[1]) || *e || n < 1 || n > 65535)
            return "its port is not a number in 1-65535";
    }
    return NULL;
}

static int set_value(pub_config *c, const key_spec *k, const char *v, char *why, size_t whylen)
{
    const char *problem;
    uint64_t n;
    uint32_t ms;
    int idx;
    switch (k->k) {
    case K_HOST:
        if (*v && (problem = host_problem(v))) {
            snprintf(why, whylen, "\"%.100s\": %s", v, problem);
            return -1;
        }
        /* fall through */
    case K_STR:
        if ((k->lo && !*v) || strlen(v) >= k->size || (k->choices && choice_index(k->choices, v) < 0))
            break;
        memcpy((char *)c + k->off, v, strlen(v) + 1);
        return 0;
    case K_ENUM:
        if ((idx = choice_index(k->choices, v)) < 0)
            break;
        memcpy((char *)c + k->off, &idx, sizeof idx);
        return 0;
    case K_SIZE:
        if (pub_parse_size(v, &n) != 0 || store_number(c, k, n) != 0)
            break;
        return 0;
    case K_MS:
        if (pub_parse_ms(v, &ms) != 0 || store_number(c, k, ms) != 0)
            break;
        return 0;
    case K_U32: {
        char *e;
        errno = 0;
        n = strtoull(v, &e, 10);
        if (!isdigit((unsigned char)*v) || *e || errno || store_number(c, k, n) != 0)
            break;
        return 0;
    }
    case K_BOOL:
        if ((idx = choice_index("false|true|0|1|no|yes|off|on", v)) < 0)
            break;
        idx &= 1;
        memcpy((char *)c + k->off, &idx, sizeof idx);
        return 0;
    case K_SECRET:
        if (set_secret(c, v) != 0) {
            snprintf(why, whylen, "not valid base64 (the value is not shown)");
            return -1;
        }
        c->secret_inline = 1;
        return 0;
    case K_SECRET_FILE:
        return set_secret_file(c, v, why, whylen);
    }
    if (k->choices)
        snprintf(why, whylen, "\"%.60s\" is not one of %s", v, k->choices);
    else if (k->k == K_STR || k->k == K_HOST)
        snprintf(why, whylen, "must be 1-%zu characters", k->size - 1);
    else if (k->k == K_MS && *v && strspn(v, "0123456789") == strlen(v))
        snprintf(why, whylen, "\"%.60s\" has no unit: write e.g. %.20sms, %.20ss or %.20sm", v, v, v, v);
    else
        snprintf(why, whylen, "\"%.60s\" is not a valid %s in %llu..%llu", v,
                 k->k == K_SIZE ? "size" : k->k == K_MS ? "duration (ms)" : "number",
                 (unsigned long long)k->lo, (unsigned long long)k->hi);
    return -1;
}

/* route.R.FIELD keys: offsets inside one pub_route_cfg. */
#define R(field) offsetof(pub_route_cfg, field), sizeof(((pub_route_cfg *)0)->field)
static const key_spec route_keys[] = {
    { "match", K_STR, R(match), 1, 0, NULL, NULL, NULL, NULL, "route R takes the events whose `route.by` field matches" },
    { "sink", K_ENUM, R(sink), 0, 0, SINKS, NULL, NULL, "the queue's `sink`", "where route R's events go" },
    { "collector.hostname", K_HOST, R(collector_host), 1, 0, NULL, NULL, NULL, "the queue's", "route R's collector" },
    { "file.path", K_STR, R(file_path), 1, 0, NULL, NULL, NULL, NULL, "route R's file (`sink = file`)" },
    { "eventgate.url", K_STR, R(eventgate_url), 1, 0, NULL, NULL, NULL, NULL, "route R's EventGate URL" },
    { "jetstream.subject", K_STR, R(js_subject), 1, 0, NULL, NULL, NULL, NULL, "route R's subject" },
};

static int route_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= PUB_ROUTE_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* "route.R.FIELD": the spec of FIELD, moved onto route R (created on first
 * use). 0, or -1 with why (bad name, too many routes, unknown field). */
static int route_key(pub_config *c, const char *key, key_spec *out, char *why, size_t whylen)
{
    const char *name = key + 6, *dot = strchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : 0;
    int r;
    if (!dot || !route_name_ok(name, n)) {
        snprintf(why, whylen, "route names are 1-%d characters of A-Z a-z 0-9 _ -", PUB_ROUTE_NAME - 1);
        return -1;
    }
    for (r = 0; r < c->nroutes; r++)
        if (strlen(c->routes[r].name) == n && strncmp(c->routes[r].name, name, n) == 0)
            break;
    if (r == c->nroutes) {
        if (r == PUB_MAX_ROUTES) {
            snprintf(why, whylen, "at most %d routes", PUB_MAX_ROUTES);
            return -1;
        }
        memcpy(c->routes[r].name, name, n);
        c->routes[r].name[n] = '\0';
        c->nroutes++;
    }
    for (size_t i = 0; i < sizeof route_keys / sizeof *route_keys; i++)
        if (strcmp(route_keys[i].key, dot + 1) == 0) {
            *out = route_keys[i];
            out->off += offsetof(pub_config, routes) + (size_t)r * sizeof(pub_route_cfg);
            return 0;
        }
    snprintf(why, whylen, "unknown key (a route takes match, sink, collector.hostname, file.path, eventgate.url, "
                          "jetstream.subject)");
    return -1;
}

static const key_spec *find_key(pub_config *c, const char *key, key_spec *scratch, char *why, size_t whylen)
{
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    if (strncmp(key, "route.", 6) == 0)
        return route_key(c, key, scratch, why, whylen) == 0 ? scratch : NULL;
    snprintf(why, whylen, "unknown key");
    return NULL;
}

/* The table's defaults: with a config file (dev = 0), or without one. An
 * entry that does not parse is a bug in the table: test_config loads both. */
static void table_defaults(pub_config *c, int dev)
{
    char why[300];
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const key_spec *k = &keys[i];
        const char *v = dev && k->dev ? k->dev : k->def;
        if (v)
            set_value(c, k, v, why, sizeof why);
        else if (!dev && k->dev && k->k != K_SECRET)
            memset((char *)c + k->off, 0, k->size); /* a development-only value: none with a file */
    }
}

void pub_config_defaults(pub_config *c, const char *queue)
{
    memset(c, 0, sizeof *c);
    snprintf(c->queue, sizeof c->queue, "%s", queue);
    table_defaults(c, 1);
    /* what the table cannot hold: values from the environment or the
     * queue, and "decided later" markers (the ring's geometry is the table's;
     * test_config holds it equal to ringpub.h's RP_DEFAULT_*) */
    if (getenv("SSL_CERT_FILE")) /* as OpenSSL's tools and Python's ssl read it */
        snprintf(c->tls_ca_file, sizeof c->tls_ca_file, "%s", getenv("SSL_CERT_FILE"));
    snprintf(c->js_subject, sizeof c->js_subject, "events.%s", queue);
    if (sodium_base642bin(c->key_secret, sizeof c->key_secret, PUB_DEV_SECRET_B64, strlen(PUB_DEV_SECRET_B64), NULL,
                          &c->key_secret_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        c->key_secret_len = 0;
    c->compression_level = -1; /* per codec: zstd 3, gzip 6 */
    /* under systemd (StateDirectory=, ringpub@.service) the unit's state
     * directory, the first of a list; else /var/tmp, which survives reboots */
    const char *state = getenv("STATE_DIRECTORY");
    if (state && state[0] == '/')
        snprintf(c->spool_dir, sizeof c->spool_dir, "%.*s", (int)strcspn(state, ":"), state);
    else
        snprintf(c->spool_dir, sizeof c->spool_dir, "/var/tmp/ringpub");
    c->sign_timestamp = -1; /* auto: pub_config_stamps() */
}

/* The value column of --help-config: what a key takes. */
static void value_text(const key_spec *k, char *out, size_t len)
{
    switch (k->k) {
    case K_ENUM: snprintf(out, len, "%s", k->choices); break;
    case K_STR: snprintf(out, len, "%s", k->choices ? k->choices : "text"); break;
    case K_HOST: snprintf(out, len, "host[:port]"); break;
    case K_BOOL: snprintf(out, len, "true|false"); break;
    case K_SECRET: snprintf(out, len, "base64"); break;
    case K_SECRET_FILE: snprintf(out, len, "path"); break;
    case K_SIZE: snprintf(out, len, "size %llu..%llu B", (unsigned long long)k->lo, (unsigned long long)k->hi); break;
    case K_MS: snprintf(out, len, "duration %llu ms..%llu ms", (unsigned long long)k->lo, (unsigned long long)k->hi); break;
    case K_U32: snprintf(out, len, "%llu..%llu", (unsigned long long)k->lo, (unsigned long long)k->hi); break;
    }
    for (char *p = out; (p = strchr(p, '|')) != NULL && strlen(out) + 1 < len; p += 2) { /* a Markdown cell */
        memmove(p + 1, p, strlen(p) + 1);
        *p = '\\';
    }
}

static void help_row(FILE *f, const char *prefix, const key_spec *k)
{
    char value[160], def[200] = "";
    value_text(k, value, sizeof value);
    if (k->shown)
        snprintf(def, sizeof def, "%s", k->shown);
    else if (k->def)
        snprintf(def, sizeof def, "`%s`", k->def);
    if (k->dev)
        snprintf(def + strlen(def), sizeof def - strlen(def), "%s`%s` without a config file", def[0] ? "; " : "",
                 k->dev);
    fprintf(f, "| `%s%s` | %s | %s | %s |\n", prefix, k->key, value, def, k->help);
}

void pub_config_help(FILE *f)
{
    fprintf(f, "| key | value | default | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        help_row(f, "", &keys[i]);
    for (size_t i = 0; i < sizeof route_keys / sizeof *route_keys; i++)
        help_row(f, "route.R.", &route_keys[i]);
}

int pub_config_set(pub_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    char expanded[PUB_PATH], why[300];
    key_spec scratch;
    const key_spec *k = find_key(c, key, &scratch, why, sizeof why);
    if (!k || ini_expand_env(value, expanded, sizeof expanded, why, sizeof why) != 0 ||
        set_value(c, k, expanded, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        sodium_memzero(expanded, sizeof expanded);
        return -1;
    }
    sodium_memzero(expanded, sizeof expanded);
    return 0;
}

typedef struct {
    pub_config *c;
    char section[128];
    int seen;
} load_ctx;

static int on_key(void *ud, const char *section, const char *key, const char *value, int line,
                  char *err, size_t errlen)
{
    load_ctx *x = (load_ctx *)ud;
    char why[512];
    if (strcmp(section, x->section) != 0)
        return 0;
    x->seen = 1;
    if (pub_config_set(x->c, key, value, why, sizeof why) != 0) {
        snprintf(err, errlen, "line %d: %s", line, why);
        return -1;
    }
    return 0;
}

/* A config file holding the secret must be closed to group and others. */
static int check_exposure(pub_config *c, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!c->secret_inline || stat(path, &st) != 0 || !(st.st_mode & 0077))
        return 0;
    snprintf(c->allow_insecure ? c->warning : err, c->allow_insecure ? sizeof c->warning : errlen,
             "%.300s holds key.secret but is readable by group or others (mode %o): chmod 600 it or use "
             "key.secret_file", path, (unsigned)(st.st_mode & 0777));
    return c->allow_insecure ? 0 : -1;
}

/* What a config file starts from: baseplate's wire (https, gzip) and no
 * collector or key, which the file must name (the development ones are for
 * the no-config demo only). */
static void baseplate_defaults(pub_config *c)
{
    table_defaults(c, 0);
    sodium_memzero(c->key_secret, sizeof c->key_secret);
    c->key_secret_len = 0;
}

int pub_config_load(pub_config *c, const char *path, char *err, size_t errlen)
{
    load_ctx x = { c, "", 0 };
    char why[600];
    baseplate_defaults(c);
    snprintf(x.section, sizeof x.section, "event-publisher:%s", c->queue);
    if (ini_parse_file(path, on_key, &x, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (!x.seen) {
        snprintf(err, errlen, "%s: no [%s] section", path, x.section);
        return -1;
    }
    return check_exposure(c, path, err, errlen);
}

/* The keys a baseplate section must name that *c lacks ("" if none): a
 * collector and a key wherever a batch is POSTed to the collector. */
static void missing_keys(const pub_config *c, char *out, size_t outlen)
{
    int http = c->sink == PUB_SINK_HTTP, host = http && !c->collector_host[0];
    for (int r = 0; r < c->nroutes; r++)
        if (c->routes[r].sink == PUB_SINK_HTTP) {
            http = 1;
            host |= !c->routes[r].collector_host[0] && !c->collector_host[0];
        }
    snprintf(out, outlen, "%s%s%s", host ? ", collector.hostname" : "",
             http && !c->key_name[0] ? ", key.name" : "",
             http && c->key_secret_len == 0 ? ", key.secret (or key.secret_file)" : "");
}

int pub_config_check(const pub_config *c, char *err, size_t errlen)
{
    static pub_procs procs; /* only parsed to check it */
    char missing[128];
    missing_keys(c, missing, sizeof missing);
    if (missing[0])
        snprintf(err, errlen, "missing required key%s: %s (baseplate's [event-publisher:%s] names its collector "
                 "and key)", strchr(missing + 2, ',') ? "s" : "", missing + 2, c->queue);
    else if (c->batch_max_bytes < (size_t)c->ring_max_event + 64)
        snprintf(err, errlen, "batch.max_bytes (%zu) must be at least ring.max_event (%u) + 64",
                 c->batch_max_bytes, (unsigned)c->ring_max_event);
    else if ((uint64_t)c->ring_max_event + 8 > c->ring_capacity)
        snprintf(err, errlen, "ring.max_event (%u) must fit in ring.capacity (%llu)",
                 (unsigned)c->ring_max_event, (unsigned long long)c->ring_capacity);
    else if (pub_procs_configure(&procs, c, 0, err, errlen) != 0)
        return -1;
    else if (c->js_by_stream && !c->js_per_event)
        snprintf(err, errlen, "jetstream.by_stream needs jetstream.unit = event (a batch mixes streams)");
    else if (!c->tls_client_cert[0] != !c->tls_client_key[0])
        snprintf(err, errlen, "tls.client_cert and tls.client_key go together");
    else if (c->metrics_endpoint[0] && !strrchr(c->metrics_endpoint, ':'))
        snprintf(err, errlen, "metrics.endpoint: expected host:port, got \"%s\"", c->metrics_endpoint);
    else
        return 0;
    return -1;
}
