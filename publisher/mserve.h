/*
 * mserve.h — the daemon's optional HTTP listener for operators
 * (`metrics.listen = 127.0.0.1:PORT`): GET /metrics answers Prometheus' text
 * format, GET /healthz 200 "ok" or 503 with the reason. Loopback addresses
 * only (it has no authentication). It lives in the daemon's io_uring loop and
 * never blocks it: at most MSERVE_CONNS connections, each closed when it has
 * not sent a whole request within MSERVE_TIMEOUT_MS or once answered; when
 * all are taken, the oldest makes way for the new one, so clients that
 * connect and say nothing cannot lock a scraper out.
 */
#ifndef RINGPUB_MSERVE_H
#define RINGPUB_MSERVE_H

#include "loop.h"

#include <stddef.h>
#include <stdint.h>

#define MSERVE_CONNS 8
#define MSERVE_TIMEOUT_MS 2000

/* What to answer: the body for a path, and its status (200, 503, 404). */
typedef int (*pub_mserve_fn)(void *ctx, const char *path, char *body, size_t cap, size_t *len);

typedef struct pub_mserve_conn {
    int fd; /* -1: free */
    pub_op op;
    uint64_t deadline_ms;
    size_t len;
    char req[1024];
    struct pub_mserve *s;
} pub_mserve_conn;

typedef struct pub_mserve {
    int fd; /* the listener; -1: off */
    pub_op op;
    pub_loop *loop;
    pub_mserve_fn fn;
    void *ctx;
    /* twice the live limit: an evicted connection keeps its slot until its
     * poll's cancellation completes */
    pub_mserve_conn conns[2 * MSERVE_CONNS];
    uint64_t evicted; /* connections closed to make way for a newer one */
} pub_mserve;

/* pub_mserve_open — listen on "host:port" (127.0.0.0/8 or [::1]; port 0
 * picks one: pub_mserve_port). "" leaves it off. 0, or -1 with why. */
int pub_mserve_open(pub_mserve *s, pub_loop *l, const char *listen, pub_mserve_fn fn, void *ctx, char *why,
                    size_t whylen);

/* pub_mserve_port — the port listened on (0 when off). */
int pub_mserve_port(const pub_mserve *s);

/* pub_mserve_tick — close connections past their deadline; returns the ms
 * until the next deadline (-1: none), for the loop's timeout. */
int pub_mserve_tick(pub_mserve *s, uint64_t now_ms);

/* pub_mserve_close — stop listening, close every connection. */
void pub_mserve_close(pub_mserve *s);

#endif
