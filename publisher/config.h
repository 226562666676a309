/*
 * config.h — the daemon's configuration: baseplate's `[event-publisher:NAME]`
 * INI section, plus ringpub's own keys, with documented defaults.
 *
 * Baseplate keys: collector.hostname, collector.version (2|2j),
 * collector.scheme (http|https), key.name, key.secret (base64),
 * max_queue_size, metrics.namespace, metrics.endpoint (host:port).
 * With a config file the defaults are baseplate's (https, gzip) and
 * collector.hostname, key.name and key.secret are required wherever a batch
 * is POSTed to the collector; without one (the demo), the development
 * defaults: http to 127.0.0.1:8321, /v2j, zstd, batches sealed after
 * 200 ms, key ringpub-dev.
 * ringpub keys (defaults):
 *   batch.max_bytes   500KiB    batch.max_age     1s (200ms without a config)
 *   compression       gzip (zstd without a config)  compression.level 3 (zstd) / 6 (gzip)
 *   delivery          guaranteed (or hasty)
 *   retry.backoff_base 1s  retry.backoff_cap 5s  retry.jitter full (or none)
 *   retry.budget      (unused)  post.timeout 3s
 *   inflight.max      4         spool.dir /var/tmp/ringpub  spool.max_bytes 1GiB
 *   ring.capacity     16MiB     ring.max_event    102400
 *   key.secret_file   (a file holding the base64 secret instead of key.secret)
 *   signature.timestamp (auto)  sign batch id, queue and time in ringpub's form
 *                     (sign.h: replay protection). auto: on when the wire is
 *                     ringpub's own (compression zstd or collector.version 2j,
 *                     as without a config), off on baseplate's (gzip, /v2)
 *   deadletter.file   SPOOL_DIR/NAME.deadletter.jsonl
 *   quarantine.file   SPOOL_DIR/NAME.quarantine.jsonl (unparsable ring bytes)
 *   ring.group        (none)  share the ring with this group (name or gid): mode 0660
 *   tls.verify        true    verify the collector's certificate and host name
 *   tls.ca_file       ($SSL_CERT_FILE, else system CAs)  PEM bundle to verify the collector with
 *   tls.client_cert, tls.client_key  PEM files for a client certificate
 *   sink              http    or jetstream (NATS JetStream instead of a collector),
 *                             or file (JSONL lines in file.path, fsynced),
 *                             or eventgate (JSON arrays POSTed to eventgate.url)
 *   eventgate.url     http://127.0.0.1:8192/v1/events
 *   file.path         SPOOL_DIR/NAME.events.jsonl
 *   jetstream.url     nats://127.0.0.1:4222  (comma-separated servers)
 *   jetstream.subject events.QUEUE  (batches are published there)
 *   jetstream.unit    batch   or event: one message per event (id BATCH.N)
 *   jetstream.by_stream false  (event unit) publish to SUBJECT.<meta.stream>
 *   processors        (none)  e.g. "validate, set_meta_dt, drop" (process.h)
 *   validate.required, validate.max_depth (32), validate.max_bytes (ring.max_event)
 *   keep.match, drop.match   shell patterns on the event's name
 *   errors.file       SPOOL_DIR/NAME.errors.jsonl (events a processor refused)
 *   route.by          (the event's name: meta.stream, name, event_type or
 *                     event_topic) or a dotted field path, e.g. event_topic
 *   route.R.match     shell patterns: events whose route.by value matches go
 *                     to route R (the `route` processor; first route wins,
 *                     in the order the routes first appear in the file)
 *   route.R.sink      http (default), file, eventgate or jetstream; with
 *   route.R.collector.hostname (the queue's), route.R.file.path
 *                     (SPOOL_DIR/NAME@R.events.jsonl), route.R.eventgate.url
 *                     (the queue's), route.R.jetstream.subject (SUBJECT.R)
 *                     Unmatched events go to the queue's own sink. R is 1-32
 *                     of [A-Za-z0-9_-]; at most PUB_MAX_ROUTES routes.
 * A config file that holds key.secret must not be readable by group or
 * others (refused; a warning with allow_insecure); key.secret_file likewise.
 * Values may use ${VAR} or $VAR from the environment (an unset variable is an
 * error). Sizes take B, KiB, MiB, GiB (or k/M/G); durations ms, s, m, h.
 */
#ifndef RINGPUB_PUB_CONFIG_H
#define RINGPUB_PUB_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h" /* pub_compression */
#include "sign.h"  /* the development key */
#include "units.h" /* pub_parse_size, pub_parse_ms */

#define PUB_STR 256
#define PUB_PATH 4096
#define PUB_SECRET_MAX 256

/* The demo's collector (the development key is in sign.h). */
#define PUB_DEV_COLLECTOR "127.0.0.1:8321"

typedef enum { PUB_GUARANTEED, PUB_HASTY } pub_delivery;
typedef enum { PUB_SINK_HTTP, PUB_SINK_JETSTREAM, PUB_SINK_FILE, PUB_SINK_EVENTGATE } pub_sink;

#define PUB_MAX_ROUTES 8
#define PUB_ROUTE_NAME 33

/* One route.R.* group: where the events route R matches go. Empty strings
 * take the queue's value (or a default named after R). */
typedef struct pub_route_cfg {
    char name[PUB_ROUTE_NAME];
    char match[PUB_STR];
    int sink; /* pub_sink */
    char collector_host[PUB_STR];
    char file_path[PUB_PATH];
    char eventgate_url[PUB_PATH];
    char js_subject[PUB_STR];
} pub_route_cfg;

typedef struct pub_config {
    char queue[65];
    char collector_host[PUB_STR]; /* host or host:port */
    char collector_version[3];    /* "2" or "2j" */
    char scheme[6];               /* "http" or "https" */
    char key_name[PUB_STR];
    uint8_t key_secret[PUB_SECRET_MAX];
    size_t key_secret_len;
    uint32_t max_queue_size;
    char metrics_namespace[PUB_STR];
    char metrics_endpoint[PUB_STR]; /* host:port, or "" for none */
    char metrics_listen[PUB_STR];   /* loopback host:port for /metrics and /healthz, or "" */
    size_t batch_max_bytes;
    uint32_t batch_max_age_ms;
    pub_compression compression;
    int compression_level;
    pub_delivery delivery;
    uint32_t retry_budget_ms, backoff_base_ms, backoff_cap_ms, post_timeout_ms;
    uint32_t inflight_max;
    char spool_dir[PUB_PATH];
    uint64_t spool_max_bytes;
    char deadletter_file[PUB_PATH];
    char quarantine_file[PUB_PATH];
    uint64_t ring_capacity;
    uint32_t ring_max_event;
    int sign_timestamp;           /* 0, 1, or -1: auto (pub_config_stamps) */
    char ring_group[64];
    pub_sink sink;
    char file_path[PUB_PATH];
    char eventgate_url[PUB_PATH];
    char js_url[PUB_PATH];
    char js_subject[PUB_STR];
    int js_per_event;
    int jitter_none; /* retry.jitter = none: waits exactly as computed */
    int js_by_stream;
    char processors[PUB_STR], validate_required[PUB_STR], keep_match[PUB_STR], drop_match[PUB_STR];
    uint32_t validate_max_depth;
    uint64_t validate_max_bytes;
    char errors_file[PUB_PATH];
    char route_by[PUB_STR];
    pub_route_cfg routes[PUB_MAX_ROUTES];
    int nroutes;
    int tls_verify;
    char tls_ca_file[PUB_PATH], tls_client_cert[PUB_PATH], tls_client_key[PUB_PATH];

    /* not keys */
    int secret_inline;    /* key.secret came from the config file itself */
    int allow_insecure;   /* set before loading: an exposed config only warns */
    char warning[600];    /* set by pub_config_load when it warns */
} pub_config;

/* pub_config_defaults — the embedded defaults for queue `queue`: a local
 * collector on 127.0.0.1:8321 over http, key "ringpub-dev" with a fixed
 * development secret. Fine on a developer machine, never in production. */
void pub_config_defaults(pub_config *c, const char *queue);

/* pub_config_help — every key of a section as a Markdown table (key, value,
 * default, meaning), from the table the parser reads: `ringpub
 * --help-config`, and docs/configuration.md's table (test_config holds the two
 * equal). */
void pub_config_help(FILE *f);

/* pub_config_default_paths — the files left unset (deadletter.file,
 * file.path, errors.file, quarantine.file) as SPOOL_DIR/QUEUE.KIND.jsonl. */
void pub_config_default_paths(pub_config *c);

/*
 * pub_config_load — read section [event-publisher:QUEUE] of INI file `path`
 * over the defaults already in *c (c->queue names the section).
 * Returns 0, or -1 with one line in err naming the file, line or key.
 */
int pub_config_load(pub_config *c, const char *path, char *err, size_t errlen);

/*
 * pub_config_set — set one key from a string (after environment
 * interpolation). Returns 0, or -1 with one line in err naming the key.
 */
int pub_config_set(pub_config *c, const char *key, const char *value, char *err, size_t errlen);

/* pub_config_stamps — 1 if batches are signed in ringpub's timestamped form:
 * signature.timestamp when set, else whether the wire is ringpub's own
 * (zstd or /v2j: a collector that takes those knows the form). */
int pub_config_stamps(const pub_config *c);

/* pub_config_check — cross-key checks once all keys are set (required keys
 * present, batch size within the ring's max event...). 0 or -1 + err. */
int pub_config_check(const pub_config *c, char *err, size_t errlen);



#endif
