/*
 * helpers.h — shared test fixtures: a private ring directory per test,
 * self-checking events, bounded producer and drain loops.
 *
 * An event is [u32 producer id][u32 len][u64 seq][payload...], where every
 * payload byte is a function of (id, seq, offset): a reader can prove each
 * event arrived whole and in its producer's order.
 */
#ifndef RINGPUB_TEST_HELPERS_H
#define RINGPUB_TEST_HELPERS_H

#include "ringpub_consumer.h"

#define TH_MAX_PRODUCERS 16
#define TH_EV_MIN 16u
#define TH_DEADLINE_MS 30000 /* every loop in a test gives up after this */

/* A fresh directory under /dev/shm, removed by th_cleanup(). */
const char *th_dir(void);
void th_cleanup(void);

/* Options for a ring in th_dir() with the given capacity. */
rp_queue_opts th_opts(uint64_t capacity);

uint64_t th_rand(uint64_t *state);
uint64_t th_now_ms(void);
/* th_await — call done(ctx) until it returns non-zero or ms pass, looking
 * again every poll_ms (for conditions no one signals: files, sockets, other
 * processes' state). Returns done's last answer (0: the time ran out). */
int th_await(int (*done)(void *ctx), void *ctx, uint64_t ms, unsigned poll_ms);

/* Write event (id, seq) of len >= TH_EV_MIN bytes into buf. */
void th_ev_fill(void *buf, uint32_t id, uint64_t seq, size_t len);
/* 1 if data[len] is a whole, well-formed event; sets *id and *seq. */
int th_ev_check(const void *data, size_t len, uint32_t *id, uint64_t *seq);

/* A length in [lo, hi] from the rng. */
size_t th_len(uint64_t *rng, size_t lo, size_t hi);

/* Put events seq = first .. first+count-1 of producer id, retrying on
 * RP_EFULL (yielding) until the deadline. Returns the number put. */
uint64_t th_produce(rp_queue *q, uint32_t id, uint64_t first, uint64_t count, size_t lo, size_t hi,
                    uint64_t seed);

/* What a drain saw. next[id] is the next seq expected from producer id. */
typedef struct th_sink {
    uint64_t next[TH_MAX_PRODUCERS];
    uint64_t events, bytes, bad;
    char first_bad[200];
} th_sink;

/* Poll, verify (content and per-producer order) and release until `want`
 * events arrived in total, or timeout_ms passed. Returns the last poll
 * error (< 0) or 0. */
int th_drain(rp_consumer *c, th_sink *s, uint64_t want, int timeout_ms);

/* Wait for child pid and assert that it exited with status 0. */
void th_reap_ok(int pid, const char *what);

/* A thread that waits (rp_consumer_wait, 20 s at most) and times it. */
typedef struct th_waiter {
    rp_consumer *c;
    int rc;
    uint64_t waited_ms;
} th_waiter;
void *th_wait_thread(void *w);

/* Open a consumer on ring `name`, asserting success. */
rp_consumer *th_consumer(const char *name, const rp_queue_opts *o);

/* Under ThreadSanitizer, make consumer c use producer q's mapping of the
 * ring (no-op otherwise). TSan keys synchronisation by virtual address, so a
 * producer and a consumer in one process that map the ring separately look
 * unsynchronised to it, and producers sharing a mapping then appear to race
 * through recycled space. Close c before q. */
void th_tsan_share_mapping(rp_consumer *c, const rp_queue *q);

#endif
