/*
 * run.h — one benchmark run: N producers (threads, or processes with
 * procs) put events into a backend while one consumer drains it.
 */
#ifndef RINGBENCH_RUN_H
#define RINGBENCH_RUN_H

#include "hist.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bench_opts {
    const char *backend;
    int producers;
    int procs;            /* producers are processes, not threads */
    size_t lo, hi;        /* event size range (lo == hi: fixed) */
    uint64_t events;      /* per producer; 0: until seconds */
    double seconds;       /* duration cap */
    double rate;          /* total offered events/s; 0: as fast as possible */
    int sample_every;     /* time one put in this many (1: all) */
} bench_opts;

typedef struct bench_result {
    char backend[8];
    int available;
    char why[256];
    const char *note;
    int producers, procs;
    size_t lo, hi;
    uint64_t attempts, accepted, full, consumed, bytes;
    double put_seconds;   /* longest producer's active time */
    double puts_per_s, mb_per_s, consumer_per_s;
    double full_put_ns;   /* mean cost of a put answered "full" */
    uint64_t wakeups;     /* FUTEX_WAKE calls (ring) */
    double syscalls_per_put;
    uint64_t ctx_switches;
    hist lat;             /* successful put latency, ns (sampled); e2e: put to collector */
    uint64_t wire_bytes;  /* e2e: compressed bytes the collector received */
    int counts_ok;        /* attempts == consumed + full, consumed == accepted */
} bench_result;

/* bench_run — run once; r->available is 0 (with why) if the backend could
 * not be set up here. Returns 0, or -1 on a harness error (why). */
int bench_run(const bench_opts *o, bench_result *r);

#endif
