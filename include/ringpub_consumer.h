/*
 * ringpub_consumer.h — the consumer side of a ringpub queue (libringpub).
 *
 * One consumer per queue (an OFD lock on the ring file enforces it; the
 * kernel drops it when the consumer dies). The consumer reads committed
 * events as zero-copy views into shared memory, in batches, and releases
 * them — making the space available to producers again — only when told
 * to: the daemon releases a batch after the collector has it.
 *
 * EXAMPLE
 *
 *     rp_consumer *c;
 *     rp_event ev[1024];
 *     rp_batch b = { ev, 1024 };
 *     if (rp_consumer_open(&c, "main", NULL)) ...
 *     for (;;) {
 *         int n = rp_consumer_poll(c, &b, 512 * 1024);
 *         if (n < 0) { fprintf(stderr, "%s\n", rp_consumer_why(c)); break; }
 *         for (int i = 0; i < n; i++) handle(ev[i].data, ev[i].len);
 *         rp_consumer_release(c, &b);
 *         if (n == 0) rp_consumer_wait(c, 1000);
 *     }
 *     rp_consumer_close(c);
 *
 * A consumer that restarts resumes at head: events it had polled but not
 * released are read again (at-least-once); released events are not.
 */
#ifndef RINGPUB_CONSUMER_H
#define RINGPUB_CONSUMER_H

#include "ringpub.h"

#include <signal.h> /* sig_atomic_t */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rp_consumer rp_consumer;

/* A committed event: a view into the ring, valid until its batch is released. */
typedef struct rp_event {
    const void *data;
    uint32_t len;
    uint64_t pos;   /* the record's ring position: stable across consumer restarts */
} rp_event;

/* A batch: the caller provides events[max_events]; poll fills the rest. */
typedef struct rp_batch {
    rp_event *events;
    size_t max_events;
    size_t n;        /* events in the batch */
    size_t bytes;    /* their payload bytes */
    uint64_t start;  /* ring positions the batch spans (for release) */
    uint64_t end;
} rp_batch;

/* What the consumer says of the sink it ships events to (a daemon's
 * collector): written with rp_consumer_report_sink(), read back in
 * rp_stats.sink by any process (ringctl stat). */
enum { RP_SINK_UNKNOWN = 0, RP_SINK_HEALTHY = 1, RP_SINK_FAILING = 2 };
typedef struct rp_sink_report {
    uint64_t state;        /* RP_SINK_*; UNKNOWN: no consumer has reported */
    uint64_t last_status;  /* the last answer's status (HTTP), 0: none or no answer */
    uint64_t backoff_ms;   /* the current wait between probes (0 while healthy) */
    uint64_t next_unix_ms; /* CLOCK_REALTIME (ms) of the next probe, 0 if none */
    uint64_t probes;       /* probes sent while failing, since the consumer started */
} rp_sink_report;

/* A snapshot of a ring's geometry, positions and counters. */
typedef struct rp_stats {
    uint64_t capacity, max_event, head, tail, used_bytes;
    uint64_t events_out, bytes_out;     /* released by the consumer */
    uint64_t full, toobig;              /* puts rejected */
    uint64_t recovered, recovered_bytes; /* dead producers' reservations skipped */
    uint64_t wakeups;                   /* consumer wake-ups producers made */
    uint64_t noslot;                    /* puts refused: every producer slot taken */
    uint64_t stalled;                   /* live reservations not committed (> 1 ms) */
    uint64_t stalled_since_unix_ns;     /* since when the oldest waits, or 0 */
    uint64_t stalled_pos;               /* its ring position */
    uint64_t pinned, pinned_bytes;      /* stalled records head went past: the
                                           tail goes around them (layout.h, PINS) */
    rp_sink_report sink;                /* the consumer's last report */
    uint64_t created_unix_ns;
    uint32_t creator_pid, consumer_pid, flags;
    int consumer_attached;              /* a consumer holds the ring now */
} rp_stats;

/*
 * rp_consumer_open — become the consumer of queue `name` (created if absent
 * unless opts has RP_OPT_NO_CREATE). Validates the whole ring header and the
 * persisted head/tail. Returns 0, RP_EBUSY (another consumer holds it), or
 * any rp_queue_open() error. On error, *c is NULL and why (if non-NULL) gets
 * one line that says what is wrong.
 */
int rp_consumer_open(rp_consumer **c, const char *name, const rp_queue_opts *opts,
                     char *why, size_t whylen);

/* rp_consumer_close — drop the consumer role. Unreleased events stay in the
 * ring and are read again by the next consumer. NULL is allowed. */
void rp_consumer_close(rp_consumer *c);

/*
 * rp_consumer_poll — read the next committed events, without waiting.
 * Fills b->events (at most b->max_events) with events whose payloads add up
 * to at most max_bytes (a single larger event is still returned alone).
 * Steps over aborted claims; covers the reservations of producers that are
 * provably dead (their slot lock is free) and steps over them. A live
 * producer's reservation that stays uncommitted for more than a millisecond
 * (a stalled producer) is stepped past and remembered: the events after it
 * are returned now, and its event later, alone in a batch of its own (whose
 * [start, end) lies before the read position) once it commits.
 * Returns the number of events (0: nothing committed yet), or RP_ECORRUPT
 * (see rp_consumer_why()).
 */
int rp_consumer_poll(rp_consumer *c, rp_batch *b, size_t max_bytes);

/*
 * rp_consumer_release — the events of a polled batch are delivered: mark
 * them released (a restarted consumer never returns them again) and give
 * back to producers the space from head up to the first record that is not
 * released yet. Batches may be released in any order. Returns 0, or
 * RP_EINVAL (not a batch this consumer returned since the last rewind).
 */
int rp_consumer_release(rp_consumer *c, const rp_batch *b);

/*
 * rp_consumer_skip_corrupt — after rp_consumer_poll() returned RP_ECORRUPT
 * for a record that does not parse (bytes written around the producer API),
 * step over it: finds the next position where parsing resumes (at most the
 * tail), sets *bad to a view of the skipped bytes (keep them: they may hold
 * events) and *b to an event-less batch spanning them, to be released in
 * order like any other batch. Polling then continues after them.
 * Returns 0, or RP_EINVAL when the last error was not a record-level one
 * (broken head/tail positions cannot be stepped over).
 */
int rp_consumer_skip_corrupt(rp_consumer *c, rp_batch *b, rp_event *bad);

/* rp_consumer_rewind — forget polled-but-unreleased batches: the next poll
 * starts again at the oldest unreleased event (e.g. after a failed send). */
void rp_consumer_rewind(rp_consumer *c);

/*
 * rp_consumer_wait — wait until events may be ready, at most timeout_ms.
 * Spins briefly, then sleeps on a futex that producers wake only because
 * the consumer sleeps. Returns 0 (poll now) or RP_ETIMEDOUT.
 */
int rp_consumer_wait(rp_consumer *c, int timeout_ms);

/*
 * rp_consumer_arm — prepare to sleep in an external event loop (io_uring
 * FUTEX_WAIT): returns 1 if events are ready (do not sleep), else 0 with
 * *addr and *val set for a FUTEX_WAIT on a shared (not private) futex. After
 * waking (or timing out), call rp_consumer_disarm().
 */
int rp_consumer_arm(rp_consumer *c, uint32_t **addr, uint32_t *val);

/*
 * rp_consumer_recheck_ms — for an external event loop: -1 if nothing is in
 * flight, else how many ms (at most 10) until the consumer should poll
 * again without being woken: a reservation below the tail is not committed
 * yet (its producer may have died: only a poll finds out) or a stalled
 * producer's record is awaited. rp_consumer_wait() does this itself.
 */
int rp_consumer_recheck_ms(rp_consumer *c);

/* rp_consumer_disarm — leave the sleeping state entered by rp_consumer_arm. */
void rp_consumer_disarm(rp_consumer *c);

/*
 * rp_consumer_check_file — is the ring file still whole and linked?
 * Returns 0, RP_ECORRUPT (truncated below the ring's size: reading the lost
 * part would raise SIGBUS; stop reading, see rp_consumer_fence()),
 * RP_ENOENT (removed: still readable, but new producers will create a new
 * ring under the name) or RP_EIO, with one line in why.
 */
int rp_consumer_check_file(rp_consumer *c, char *why, size_t whylen);

/*
 * rp_consumer_guard — survive truncation between two checks: installs a
 * process-wide SIGBUS handler that, for a fault inside this consumer's
 * mapping, fences the mapping (see rp_consumer_fence()) and sets *flag to 1;
 * other SIGBUS faults keep the default action. One guarded consumer per
 * process (the last call wins). Returns 0 or RP_EIO.
 */
int rp_consumer_guard(rp_consumer *c, volatile sig_atomic_t *flag);

/*
 * rp_consumer_fence — replace the ring's mapping with private zero pages,
 * so no later access can fault: the ring then reads as empty. For a ring
 * whose file was truncated; its unread events are gone. Returns 0 or RP_EIO.
 */
int rp_consumer_fence(rp_consumer *c);

/* rp_consumer_why — one line describing the last error, or "". */
const char *rp_consumer_why(const rp_consumer *c);

/*
 * rp_consumer_report_sink — publish r in the ring header, where
 * rp_ring_stat() (ringctl stat) reads it. Plain relaxed stores: a reader may
 * see a mix of two reports.
 */
void rp_consumer_report_sink(rp_consumer *c, const rp_sink_report *r);

/* rp_consumer_stats — snapshot of the consumer's ring. */
void rp_consumer_stats(const rp_consumer *c, rp_stats *s);

/*
 * rp_ring_stat — snapshot of ring `name` without taking any role (for
 * tools). Never creates the ring. Returns 0 or an rp_queue_open() error,
 * with one line in why.
 */
int rp_ring_stat(const char *name, const rp_queue_opts *opts, rp_stats *s, char *why, size_t whylen);

/* Called by rp_ring_peek() for each event: a copy, valid during the call. */
typedef void (*rp_peek_fn)(const void *data, uint32_t len, uint64_t pos, void *ctx);

/*
 * rp_ring_peek — the newest committed events of ring `name` (at most
 * last_n, 1..10000), oldest first, without taking any role and without
 * consuming them; producers and the consumer keep running (an event
 * released while being copied is left out). Never creates the ring.
 * Returns the number shown, or an rp_queue_open() error / RP_EINVAL /
 * RP_ECORRUPT with one line in why.
 */
int rp_ring_peek(const char *name, const rp_queue_opts *opts, size_t last_n, rp_peek_fn fn, void *ctx, char *why,
                 size_t whylen);

#ifdef __cplusplus
}
#endif

#endif /* RINGPUB_CONSUMER_H */
