/*
 * pair.h — one transport under the paired peer harness (pair.c): P producer
 * processes offer full copies of SIZE-byte messages as fast as they can, one
 * consumer process counts what it receives. The same driver, flags and
 * compiler run ringpub's ring (ring_peer.c) and Aeron IPC (aeron_peer.c), so
 * their figures differ only by the transport.
 */
#ifndef RINGPUB_BENCH_PAIR_H
#define RINGPUB_BENCH_PAIR_H

#include <stddef.h>
#include <stdint.h>

typedef struct pair_opts {
    size_t size;        /* message bytes (>= 16: sequence + producer id) */
    int producers;      /* producer processes */
    double seconds;     /* counted window */
    double warmup;      /* seconds before the window opens */
    int exclusive;      /* Aeron: one exclusive publication per producer; ring: a ring per producer */
    uint64_t capacity;  /* ring bytes / Aeron IPC term length */
    const char *dir;    /* ring directory / Aeron directory */
    int yield;          /* back pressure: 0 retry at once (spin), else yield the CPU after
                           PAIR_SPINS refusals in a row (spin, then yield) */
    int read;           /* the consumer compares every byte of each message with what was
                           put (as a real consumer reads each event), not only its first 16 */
} pair_opts;

/* --backoff yield: refusals in a row a producer retries at once before it
 * yields the CPU (sched_yield) and starts counting again. */
#define PAIR_SPINS 64

/* A transport. Every function returns 0 or a negative value with why[] set,
 * except offer (0 accepted, 1 back-pressured: retry, < 0 error) and poll
 * (messages handed to pair_seen(), or < 0). */
typedef struct pair_transport {
    const char *name;
    int (*setup)(const pair_opts *o, char *why, size_t whylen);              /* parent, before fork */
    void *(*consumer)(const pair_opts *o, char *why, size_t whylen);          /* in the consumer */
    int (*poll)(void *c);
    void *(*producer)(const pair_opts *o, int id, char *why, size_t whylen);  /* in each producer */
    int (*offer)(void *p, const void *msg, size_t len);
    void (*teardown)(const pair_opts *o);                                    /* parent, at the end */
} pair_transport;

/* The consumer's per-message check: msg starts with the producer's
 * sequence number (8 bytes) and id (8 bytes); out of order or short counts
 * as an error in the report. */
void pair_seen(const void *msg, size_t len);

/* For a transport that only counts (memcpy): n messages arrived, unchecked. */
void pair_count(uint64_t n);

extern const pair_transport pair_this; /* the transport linked in */

#endif
