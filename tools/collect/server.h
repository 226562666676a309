/*
 * server.h — ringcollect's HTTP side, on libmicrohttpd (GNU's embeddable
 * HTTP/1.1 server: a thread pool, request parsing and limits done by a
 * well-tested library rather than by hand).
 *
 * POST /v2 or /v2j with a batch: size cap (413), chaos (500/503 with
 * Retry-After, delay), Content-Encoding zstd|gzip|identity (415, 413 over
 * the decompressed cap, 400 malformed), X-Signature checked in constant
 * time (401) — ringpub's form (sign.h) by default: X-Signature-Timestamp
 * within the replay window and the mac covering it, the batch id and the
 * queue; baseplate's form (body only) just from keys marked untimestamped
 * (401 otherwise) — body parsed (400), X-Batch-Id de-duplicated (200, not
 * stored twice), events appended to OUT/QUEUE.jsonl (QUEUE from X-Ringpub-Queue,
 * else "default"). GET /stats returns the counters as JSON. HTTPS when given
 * a certificate and key (libmicrohttpd on GnuTLS).
 */
#ifndef RINGCOLLECT_SERVER_H
#define RINGCOLLECT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define COLLECT_MAX_KEYS 16

typedef struct collect_key {
    char name[128];
    uint8_t secret[256];
    size_t len;
    int untimestamped;       /* accept baseplate's form (no timestamp) from this key */
} collect_key;

typedef struct collect_cfg {
    char host[64];
    int port;                /* 0: any free port */
    char out_dir[1024];
    collect_key keys[COLLECT_MAX_KEYS];
    int nkeys;
    size_t max_body, max_decompressed;
    /* against hostile clients (0: the default in brackets) */
    size_t max_inflight;     /* body bytes held in memory at once, all connections: 503 past it [64 MiB] */
    unsigned max_conns;      /* connections at once [1000] */
    unsigned max_conns_per_ip; /* ... from one address [64] */
    int body_timeout_s;      /* a body still arriving after this many seconds is cut off [30] */
    int replay_window_s;     /* |X-Signature-Timestamp - now| allowed */
    const char *tls_cert_pem, *tls_key_pem; /* serve HTTPS with these (PEM text) */
    const char *jetstream;   /* forward accepted batches to these NATS servers */
    char js_prefix[128];     /* ... on subject PREFIX.QUEUE ("events") */
    int no_files;            /* keep no JSONL files and no batch-id log (stateless) */
    int fsync;
    size_t dedup_window;
    /* misbehaviour, for tests */
    double fail_rate;        /* fraction of batches answered fail_status */
    int fail_status;         /* 400..599; 503 by default */
    int retry_after_s;       /* sent with 503 (and 429) when > 0 */
    int delay_ms;            /* before answering each batch */
    double refuse_rate;      /* fraction of connections refused at accept */
    uint64_t seed;
} collect_cfg;

typedef struct collect_stats {
    uint64_t batches, events, duplicates, rejected, failed_on_purpose, refused, bytes_in;
    uint64_t evicted_young;  /* ids forgotten inside the replay window (dedup.h) */
} collect_stats;

typedef struct collect_server collect_server;

/* collect_start — bind and serve in background threads. Returns NULL with
 * one line in why. */
collect_server *collect_start(const collect_cfg *cfg, char *why, size_t whylen);

/* collect_loopback — 1 if host (a --listen address) is on the loopback
 * network 127.0.0.0/8. */
int collect_loopback(const char *host);

/* collect_content_length — a Content-Length value: 0 with *n when it is
 * plain decimal digits and at most max, else -1 (answered 413 before the
 * body is read). */
int collect_content_length(const char *cl, size_t max, size_t *n);

/* collect_port — the port actually bound. */
int collect_port(const collect_server *s);

/* collect_get_stats — a snapshot of the counters. */
void collect_get_stats(collect_server *s, collect_stats *out);

/* How collect_handle_batch() reads request headers (NULL: absent). */
typedef struct collect_headers {
    const char *(*get)(void *ctx, const char *name);
    void *ctx;
} collect_headers;

/*
 * collect_handle_batch — judge and store one POSTed batch exactly as the
 * HTTP handler does (checks, decompression, MAC, parse, de-duplication,
 * storage); the HTTP layer only moves bytes. `too_big`: the body was cut
 * at max_body. Returns the HTTP status, with the answer body in msg and a
 * Retry-After value (or NULL) in *retry_after. For tests and fuzzing too.
 */
int collect_handle_batch(collect_server *s, const collect_headers *h, const void *body, size_t len, int too_big,
                         int json, char *msg, size_t msglen, const char **retry_after);

/* collect_stop — stop serving, close files. */
void collect_stop(collect_server *s);

#endif
