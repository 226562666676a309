/*
 * backend.h — the queues ringbench can drive through one harness:
 *   ring  ringpub (rp_queue_put into a shared-memory ring; consumer library)
 *   mq    a POSIX message queue, as baseplate.py uses (/events-NAME)
 *   unix  a Unix datagram socket pair
 *   memcpy a plain copy into private memory: not a queue, the cost floor
 * Each put never blocks: "full" is reported, and the harness retries.
 */
#ifndef RINGBENCH_BACKEND_H
#define RINGBENCH_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_queue bench_queue; /* a backend's shared state */

typedef struct backend {
    const char *name;
    /* parent, before producers start: create the queue. NULL + why on failure
     * (the backend is then reported unavailable, with why). */
    bench_queue *(*create)(size_t max_event, char *why, size_t whylen);
    /* producer side: a handle (in the producer's thread or process) */
    void *(*open)(bench_queue *q);
    /* 0 put, 1 full, -1 error */
    int (*put)(void *h, const void *ev, size_t len);
    void (*close)(void *h);
    /* consumer: take what is there, waiting up to wait_ms if nothing is;
     * adds to *events and *bytes. 0, or -1 on error. */
    int (*drain)(bench_queue *q, uint64_t *events, uint64_t *bytes, int wait_ms);
    /* FUTEX_WAKEs producers made (ring only; 0 elsewhere) */
    uint64_t (*wakeups)(bench_queue *q);
    void (*destroy)(bench_queue *q);
    const char *note; /* set by create when geometry had to be reduced */
} backend;

/* backend_capacity — ring data area for the ring backend (0: default). */
extern uint64_t backend_ring_capacity;

/* backend_find — "ring", "mq", "unix" or "memcpy"; NULL if unknown. */
const backend *backend_find(const char *name);

#endif
