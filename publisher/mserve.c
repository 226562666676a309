/* mserve.c — see mserve.h. */
#include "mserve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLOSING (-2) /* fd closed, its poll still to complete */

static void on_conn(void *ctx, pub_op *op, int res);

/* "127.x.y.z:PORT" or "[::1]:PORT" into addr; 0, or -1 with why. */
static int parse_listen(const char *v, struct sockaddr_storage *ss, socklen_t *sl, char *why, size_t whylen)
{
    char host[64];
    const char *colon = strrchr(v, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t n = colon ? (size_t)(colon - v) : 0;
    memset(ss, 0, sizeof *ss);
    if (!colon || !colon[1] || *end || port < 0 || port > 65535 || n == 0 || n >= sizeof host) {
        snprintf(why, whylen, "metrics.listen \"%.100s\": expected host:port", v);
        return -1;
    }
    memcpy(host, v, n);
    host[n] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1 && (ntohl(a4->sin_addr.s_addr) >> 24) == 127) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *sl = sizeof *a4;
        return 0;
    }
    if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            *sl = sizeof *a6;
            return 0;
        }
    }
    snprintf(why, whylen, "metrics.listen \"%.100s\": only a loopback address (127.0.0.0/8 or [::1]): the "
                          "listener has no authentication; put a proxy in front to expose it", v);
    return -1;
}

static void conn_close(pub_mserve_conn *c)
{
    if (c->fd < 0)
        return;
    close(c->fd);
    c->fd = c->op.pending ? CLOSING : -1;
    if (c->op.pending)
        pub_loop_cancel(c->s->loop, &c->op);
}

static void arm_conn(pub_mserve_conn *c)
{
    c->op.fn = on_conn;
    c->op.ctx = c;
    pub_loop_poll(c->s->loop, &c->op, c->fd, POLLIN);
}

static void respond(pub_mserve_conn *c)
{
    static char body[64 * 1024];
    char head[256], path[256] = "";
    size_t len = 0;
    int status = 400, hn;
    const char *reason;
    if (sscanf(c->req, "GET %255s HTTP/1.", path) == 1)
        status = c->s->fn(c->s->ctx, path, body, sizeof body, &len);
    else if (strncmp(c->req, "GET ", 4) != 0 && strchr(c->req, ' '))
        status = 405;
    if (status != 200 && status != 503) {
        reason = status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" : "Bad Request";
        len = (size_t)snprintf(body, sizeof body, "%s\n", reason);
    } else {
        reason = status == 200 ? "OK" : "Service Unavailable";
    }
    hn = snprintf(head, sizeof head,
                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                  status, reason, len);
    /* one small answer into an empty socket buffer: never blocks; a client
     * that cannot take it gets less, and the close */
    if (send(c->fd, head, (size_t)hn, MSG_DONTWAIT | MSG_NOSIGNAL) == hn)
        (void)send(c->fd, body, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    conn_close(c);
}

static void on_conn(void *ctx, pub_op *op, int res)
{
    pub_mserve_conn *c = (pub_mserve_conn *)ctx;
    (void)op;
    if (c->fd == CLOSING) {
        c->fd = -1;
        return;
    }
    if (res < 0 || c->fd < 0) {
        conn_close(c);
        return;
    }
    ssize_t n = recv(c->fd, c->req + c->len, sizeof c->req - 1 - c->len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n > 0)
        c->len += (size_t)n;
    c->req[c->len] = '\0';
    if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->len == sizeof c->req - 1)
        respond(c);
    else
        arm_conn(c);
}

static void arm_listener(pub_mserve *s);

static void on_listen(void *ctx, pub_op *op, int res)
{
    pub_mserve *s = (pub_mserve *)ctx;
    (void)op, (void)res;
    if (s->fd < 0)
        return;
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break; /* EAGAIN: all taken; anything else: try at the next readiness */
        pub_mserve_conn *c = NULL, *oldest = NULL;
        int live = 0;
        for (int i = 0; i < 2 * MSERVE_CONNS; i++) {
            pub_mserve_conn *x = &s->conns[i];
            if (x->fd == -1 && !c)
                c = x;
            if (x->fd >= 0 && (live++, !oldest || x->deadline_ms < oldest->deadline_ms))
                oldest = x;
        }
        if (live >= MSERVE_CONNS) { /* the oldest makes way */
            conn_close(oldest);
            s->evicted++;
        }
        if (!c) { /* every other slot still closing: this burst is over the limit */
            close(fd);
            continue;
        }
        c->fd = fd;
        c->len = 0;
        c->deadline_ms = pub_now_ms() + MSERVE_TIMEOUT_MS;
        arm_conn(c);
    }
    arm_listener(s);
}

static void arm_listener(pub_mserve *s)
{
    s->op.fn = on_listen;
    s->op.ctx = s;
    pub_loop_poll(s->loop, &s->op, s->fd, POLLIN);
}

int pub_mserve_open(pub_mserve *s, pub_loop *l, const char *listen_on, pub_mserve_fn fn, void *ctx, char *why,
                    size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int one = 1;
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->loop = l, s->fn = fn, s->ctx = ctx;
    for (int i = 0; i < 2 * MSERVE_CONNS; i++)
        s->conns[i].fd = -1, s->conns[i].s = s;
    if (!listen_on[0])
        return 0;
    if (parse_listen(listen_on, &ss, &sl, why, whylen) != 0)
        return -1;
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->fd, (struct sockaddr *)&ss, sl) != 0 || listen(s->fd, 16) != 0) {
        snprintf(why, whylen, "metrics.listen %s: %s", listen_on, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
        return -1;
    }
    arm_listener(s);
    return 0;
}

int pub_mserve_port(const pub_mserve *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (s->fd < 0 || getsockname(s->fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

int pub_mserve_tick(pub_mserve *s, uint64_t now_ms)
{
    int next = -1;
    if (!s->loop)
        return -1;
    for (int i = 0; i < 2 * MSERVE_CONNS; i++) {
        pub_mserve_conn *c = &s->conns[i];
        if (c->fd < 0)
            continue;
        if (now_ms >= c->deadline_ms) {
            conn_close(c); /* a slow or silent client: its slot back */
            continue;
        }
        int left = (int)(c->deadline_ms - now_ms);
        next = next < 0 || left < next ? left : next;
    }
    return next;
}

void pub_mserve_close(pub_mserve *s)
{
    if (!s->loop)
        return; /* never opened (a zeroed struct: its fds are not ours) */
    for (int i = 0; i < 2 * MSERVE_CONNS; i++)
        if (s->conns[i].fd >= 0) {
            close(s->conns[i].fd);
            s->conns[i].fd = -1;
        }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}
