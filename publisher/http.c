/* http.c — see http.h. Each curl socket gets a small struct with its own
 * io_uring poll op; a socket curl drops while its poll is pending is freed
 * when the (cancelled) poll completes, so no CQE ever points at freed
 * memory, even when the fd number is reused at once. */
#include "http.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pub_http_sock {
    pub_op op;
    pub_http *h;
    struct pub_http_sock *next, *prev; /* h->socks */
    curl_socket_t fd;
    int want;       /* CURL_POLL_* */
    unsigned armed; /* poll mask of the pending op */
    int removed, in_dispatch;
} sock;

#define ANSWER_MAX (1u << 20)

typedef struct pub_http_req {
    void *ctx;
    CURL *e;
    struct pub_http_req *next, *prev; /* h->reqs: in flight */
    pub_buf answer;
    char retry_after[32];
    char errbuf[CURL_ERROR_SIZE];
    uint64_t started_ms;
} req;

/* Doubly linked lists of socks and reqs (h->socks, h->reqs). */
#define LINK(head, x)                                                                                             \
    do {                                                                                                          \
        (x)->prev = NULL;                                                                                         \
        (x)->next = (head);                                                                                       \
        if (head)                                                                                                 \
            (head)->prev = (x);                                                                                   \
        (head) = (x);                                                                                             \
    } while (0)
#define UNLINK(head, x)                                                                                           \
    do {                                                                                                          \
        if ((x)->prev)                                                                                            \
            (x)->prev->next = (x)->next;                                                                          \
        else                                                                                                      \
            (head) = (x)->next;                                                                                   \
        if ((x)->next)                                                                                            \
            (x)->next->prev = (x)->prev;                                                                          \
    } while (0)

static void sock_free(sock *s)
{
    UNLINK(s->h->socks, s);
    s->h->nsocks--;
    free(s);
}

/* A request leaves the multi handle; its easy handle is freed. */
static void req_detach(pub_http *h, req *r)
{
    UNLINK(h->reqs, r);
    curl_multi_remove_handle(h->multi, r->e);
    curl_easy_cleanup(r->e);
    h->active--;
}

static void req_free(req *r)
{
    pub_buf_free(&r->answer);
    free(r);
}

static unsigned poll_mask(int want)
{
    return (want & CURL_POLL_IN ? POLLIN : 0u) | (want & CURL_POLL_OUT ? POLLOUT : 0u);
}

static void arm(sock *s)
{
    unsigned mask = poll_mask(s->want);
    if (s->removed || mask == 0 || !s->h->multi)
        return;
    if (s->op.pending) {
        if (s->armed != mask)
            pub_loop_cancel(s->h->loop, &s->op); /* re-armed when it completes */
        return;
    }
    s->armed = mask;
    pub_loop_poll(s->h->loop, &s->op, s->fd, mask);
}

static void finish_done(pub_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        req *r = NULL;
        pub_http_result res;
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        memset(&res, 0, sizeof res);
        res.err = m->data.result;
        if (res.err == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res.status);
        res.errmsg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res.err);
        res.retry_after = r->retry_after;
        res.elapsed_ms = pub_now_ms() - r->started_ms;
        if (pub_buf_append(&r->answer, "", 1) == 0) { /* NUL-terminate */
            res.body = (const char *)r->answer.data;
            res.body_len = r->answer.len - 1;
        }
        req_detach(h, r);
        h->done(h->ctx, r->ctx, &res);
        req_free(r);
    }
}

static void on_poll(void *ctx, pub_op *op, int res)
{
    sock *s = (sock *)ctx;
    int running;
    (void)op;
    if (s->removed || !s->h->multi) { /* dropped by curl, or by pub_http_free */
        sock_free(s);
        return;
    }
    if (res > 0) {
        int ev = (res & POLLIN ? CURL_CSELECT_IN : 0) | (res & POLLOUT ? CURL_CSELECT_OUT : 0) |
                 (res & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
        s->in_dispatch = 1;
        curl_multi_socket_action(s->h->multi, s->fd, ev, &running);
        s->in_dispatch = 0;
        if (s->removed) {
            pub_http *h = s->h;
            sock_free(s);
            finish_done(h);
            return;
        }
    }
    arm(s);
    finish_done(s->h);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    pub_http *h = (pub_http *)userp;
    sock *s = (sock *)socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (!s)
            return 0;
        curl_multi_assign(h->multi, fd, NULL);
        s->removed = 1;
        s->want = 0;
        if (s->op.pending)
            pub_loop_cancel(h->loop, &s->op);
        else if (!s->in_dispatch)
            sock_free(s);
        return 0;
    }
    if (!s) {
        if (!(s = (sock *)calloc(1, sizeof *s)))
            return -1;
        s->op.fn = on_poll;
        s->op.ctx = s;
        s->h = h;
        LINK(h->socks, s);
        h->nsocks++;
        s->fd = fd;
        curl_multi_assign(h->multi, fd, s);
    }
    s->want = what;
    arm(s);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    pub_http *h = (pub_http *)userp;
    (void)m;
    h->timer_due_ms = timeout_ms < 0 ? 0 : pub_now_ms() + (uint64_t)timeout_ms;
    return 0;
}

static size_t on_header(char *b, size_t size, size_t n, void *ud)
{
    req *r = (req *)ud;
    size_t len = size * n;
    if (len > 13 && strncasecmp(b, "Retry-After:", 12) == 0) {
        const char *v = b + 12;
        while (*v == ' ')
            v++;
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return len;
}

/* Keep up to ANSWER_MAX of the answer (EventGate lists refused events). */
static size_t on_body(char *b, size_t size, size_t n, void *ud)
{
    req *r = (req *)ud;
    if (r->answer.len + size * n < ANSWER_MAX)
        pub_buf_append(&r->answer, b, size * n);
    return size * n;
}

int pub_http_init(pub_http *h, pub_loop *loop, pub_http_done done, void *ctx)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->done = done;
    h->ctx = ctx;
    h->tls_verify = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h->multi = curl_multi_init()))
        return -1;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    return 0;
}

void pub_http_free(pub_http *h)
{
    if (!h->multi)
        return;
    while (h->reqs) { /* requests in flight are dropped: their owners spool them */
        req *r = h->reqs;
        req_detach(h, r);
        req_free(r);
    }
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    for (sock *s = h->socks, *next; s; s = next) { /* those curl did not drop */
        next = s->next;
        s->removed = 1;
        if (s->op.pending)
            pub_loop_cancel(h->loop, &s->op); /* freed when the cancelled poll completes */
        else
            sock_free(s);
    }
}

void pub_http_setup(CURL *e, const pub_http *h, const char *url, struct curl_slist *headers, const void *body,
                    size_t len, long timeout_ms)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L);
    if (h->tls_ca_file && *h->tls_ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->tls_ca_file);
    if (h->tls_cert && *h->tls_cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, h->tls_cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, h->tls_key);
    }
}

int pub_http_post(pub_http *h, void *req_ctx, const char *url, struct curl_slist *headers,
                  const void *body, size_t len, long timeout_ms)
{
    CURL *e = curl_easy_init();
    req *r = (req *)calloc(1, sizeof *r);
    if (!e || !r) {
        curl_easy_cleanup(e);
        free(r);
        return -1;
    }
    r->ctx = req_ctx;
    r->started_ms = pub_now_ms();
    pub_buf_init(&r->answer, ANSWER_MAX);
    pub_http_setup(e, h, url, headers, body, len, timeout_ms);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        free(r);
        return -1;
    }
    r->e = e;
    LINK(h->reqs, r);
    h->active++;
    return 0;
}

int pub_http_timeout(const pub_http *h, uint64_t now_ms)
{
    if (!h->timer_due_ms)
        return -1;
    return h->timer_due_ms <= now_ms ? 0 : (int)(h->timer_due_ms - now_ms);
}

void pub_http_tick(pub_http *h, uint64_t now_ms)
{
    int running;
    if (!h->multi || !h->timer_due_ms || h->timer_due_ms > now_ms)
        return;
    h->timer_due_ms = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    finish_done(h);
}
