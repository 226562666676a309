/*
 * http.h — HTTP POSTs with libcurl's multi *socket* interface, its sockets
 * polled by the io_uring loop (no thread per request, several requests in
 * flight, connections kept alive).
 */
#ifndef RINGPUB_HTTP_H
#define RINGPUB_HTTP_H

#include "loop.h"

#include <curl/curl.h>

/* What a finished request reports: status 0 when no HTTP answer arrived
 * (err says why); retry_after is the Retry-After header ("" if none). */
typedef struct pub_http_result {
    long status;
    CURLcode err;
    const char *errmsg;
    const char *retry_after;
    uint64_t elapsed_ms;
    const char *body;      /* the answer's body (at most 1 MiB kept; NUL-terminated) */
    size_t body_len;
} pub_http_result;

typedef void (*pub_http_done)(void *ctx, void *req_ctx, const pub_http_result *r);

typedef struct pub_http {
    pub_loop *loop;
    CURLM *multi;
    uint64_t timer_due_ms; /* 0: no curl timer pending */
    pub_http_done done;
    void *ctx;
    int active;            /* requests in flight */
    int nsocks;            /* socket structs alive (some may await a cancel) */
    struct pub_http_req *reqs;   /* the requests in flight */
    struct pub_http_sock *socks; /* the socket structs */
    /* TLS (https): verification is on unless verify is 0; "" = default */
    int tls_verify;
    const char *tls_ca_file, *tls_cert, *tls_key;
} pub_http;

/* pub_http_init — 0, or -1 if libcurl could not be set up. TLS
 * verification starts on; set the tls_* fields after init to change it. */
int pub_http_init(pub_http *h, pub_loop *loop, pub_http_done done, void *ctx);
/* pub_http_free — drop all requests (done is not called for them: their
 * owners keep their bodies) and cancel every socket's poll; then run the
 * loop until h->nsocks is 0 so cancelled polls are reaped. Nothing touches
 * libcurl after this. */
void pub_http_free(pub_http *h);

/*
 * pub_http_post — start POSTing body[len] (not copied: keep it alive until
 * done) to url with headers (not copied either). done(ctx, req_ctx, result)
 * is called from the loop when it finishes. Returns 0 or -1.
 */
int pub_http_post(pub_http *h, void *req_ctx, const char *url, struct curl_slist *headers,
                  const void *body, size_t len, long timeout_ms);

/* pub_http_setup — the options every POST has (URL, headers, body, timeouts,
 * http/https only, h's TLS settings) on easy handle e; for a caller that
 * performs it itself (ringpub redeliver). */
void pub_http_setup(CURL *e, const pub_http *h, const char *url, struct curl_slist *headers, const void *body,
                    size_t len, long timeout_ms);

/* pub_http_timeout — ms until libcurl's next timer (-1: none). */
int pub_http_timeout(const pub_http *h, uint64_t now_ms);

/* pub_http_tick — run libcurl's timer if it is due. */
void pub_http_tick(pub_http *h, uint64_t now_ms);

#endif
