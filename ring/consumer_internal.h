/*
 * consumer_internal.h — the consumer's private state, shared by the files
 * of ring/ (consumer.c: open/poll/release; recover.c: reservations in
 * progress, stalled or abandoned; wait.c: sleeping; stats.c: counters).
 */
#ifndef RINGPUB_CONSUMER_INTERNAL_H
#define RINGPUB_CONSUMER_INTERNAL_H

/* Internal functions are RP_PRIVATE: extern when the ring's files are
 * compiled one by one (the tests reach them), static in ring/ringpub.c,
 * the one translation unit libringpub is built from, so the library
 * exports only the public rp_ API. */
#ifndef RP_PRIVATE
#define RP_PRIVATE
#endif

#include "ringpub_consumer.h"

#define RP_HOLES_MAX 64

/* After a poll stops at a put in progress, neither poll nor the spin of
 * wait looks at the ring again for this long (the check before sleeping
 * always looks): a look reads the lines that put is writing (tail, the
 * record) and costs its producer a cross-core transfer (~85 ns on this
 * machine). Polling one event at a time cut a producer process's puts/s to
 * 0.22-0.5x of layout 1; 5 us gave 0.78-0.93x, 20 us 0.88-1.57x
 * (tools/bench-layouts, bench/README.md). Meanwhile the producer puts a
 * batch; the added latency is far below any batching delay. */
#define RP_POLL_BACKOFF_NS 20000u

/* A live producer's reservation the consumer stepped past (layout.h, THE
 * CONSUMER'S WALK). Its event is handed out alone once it commits. */
typedef struct rp__hole {
    uint64_t pos, size;
    uint64_t since_rt_ns;   /* CLOCK_REALTIME when first seen, for the stall report */
    uint64_t next_check_ns; /* next liveness probe of its owner */
    uint32_t slot;
    int delivered;          /* handed out, not yet released */
    int pin;                /* its entry in the pin table once head went past it, or -1 */
} rp__hole;

/* Our copy of one entry of the pin table (we are its only writer). */
typedef struct rp__pin {
    uint64_t pos, size, until; /* until: RP_PIN_LIVE, or where its images end */
    int used;
} rp__pin;

struct rp_consumer {
    rp__map m;
    uint64_t head;        /* our copy of hdr->head: we are its only writer */
    uint64_t read_pos;    /* next record to read; head <= read_pos <= tail */
    /* a 0 header at a position, and when we first saw it there */
    uint64_t stuck_pos;
    uint64_t stuck_since_ns;
    uint64_t stuck_since_rt_ns;
    uint64_t next_check_ns;
    uint64_t next_reap_ns;
    uint64_t bad_pos;     /* the unparsable record poll last stopped at, or UINT64_MAX */
    rp__hole holes[RP_HOLES_MAX]; /* in position order (pinned ones first, behind head) */
    int nholes;
    int npinned;          /* holes that are pinned */
    rp__pin pins[RP_PINS];
    int npins;            /* entries in use, live or retiring */
    uint64_t quar[8][2];  /* ranges handed out by rp_consumer_skip_corrupt, not yet released */
    int nquar;
    char why[256];
};

/* Monotonic clock in nanoseconds; realtime clock in nanoseconds. */
RP_PRIVATE uint64_t rp__now_ns(void);
RP_PRIVATE uint64_t rp__rt_ns(void);

/* Load a record header word at a ring position. */
static inline uint64_t rp__load_word(const rp_consumer *c, uint64_t pos)
{
    return __atomic_load_n((uint64_t *)(void *)(c->m.data + (pos & c->m.mask)), __ATOMIC_ACQUIRE);
}

static inline uint64_t *rp__word_at(const rp_consumer *c, uint64_t pos)
{
    return (uint64_t *)(void *)(c->m.data + (pos & c->m.mask));
}

/* Validate a non-zero header word for a record at pos with avail bytes
 * before tail. Returns the record's size, or 0 after recording corruption
 * in c->why. */
RP_PRIVATE uint64_t rp__checked_size(rp_consumer *c, uint64_t pos, uint64_t avail, uint64_t word);

/* Mark corruption: records one line and returns RP_ECORRUPT. */
RP_PRIVATE int rp__corrupt(rp_consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A reservation in progress at pos: its header `word` is 0 or CLAIM.
 * Returns 1 with *size set (step over: a live producer's hole, now
 * tracked, or a dead producer's reservation, now covered by SKIP), 2 (the
 * header changed: re-read it), 0 (wait), or RP_ECORRUPT.
 */
RP_PRIVATE int rp__recover(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word, uint64_t *size);

/* 1 if header word w is final: an event (released or not) or padding. */
static inline int rp__final(uint64_t w)
{
    uint32_t f = (uint32_t)w & ~RP_REC_LEN_MASK;
    return w != 0 && f != RP_REC_CLAIM;
}

/* Holes: hand out one whose event committed (1, b filled), drop those
 * aborted or recovered, 0 if none is ready. */
RP_PRIVATE int rp__holes_poll(rp_consumer *c, rp_batch *b, uint64_t tail);

/* The hole at pos, or NULL. */
RP_PRIVATE rp__hole *rp__hole_at(rp_consumer *c, uint64_t pos);

/* Forget hole h (its record is final, or behind head). */
RP_PRIVATE void rp__hole_drop(rp_consumer *c, rp__hole *h);

/* Clear the intents of dead producers' slots that name nothing below the
 * tail (so new threads can take those slots); at most once a second. */
RP_PRIVATE void rp__reap(rp_consumer *c, uint64_t tail);

/* Publish the stall report (stalled, since, position) in the header. */
RP_PRIVATE void rp__report_stalls(rp_consumer *c);

/* Pins (pin.c; layout.h, PINS). */

/* Read the pin table at open: live pins of records behind upto (the head,
 * or the head a release in progress moves to) become pinned holes again;
 * others are cleared. */
RP_PRIVATE void rp__pins_load(rp_consumer *c, uint64_t upto);

/* Zero n bytes at ring position p with ordinary stores (consumer.c). */
RP_PRIVATE void rp__zero_ring(rp_consumer *c, uint64_t p, uint64_t n);

/* Pin hole h, the record at head, so head can move past it. 1, or 0 (the
 * table is full). */
RP_PRIVATE int rp__pin_hole(rp_consumer *c, rp__hole *h);

/* The pinned hole h's record is final (released, aborted or buried): zero
 * its bytes and retire its pin. */
RP_PRIVATE void rp__pin_finish(rp_consumer *c, rp__hole *h);

/* Drop retiring pins whose last image is behind head. */
RP_PRIVATE void rp__pins_gc(rp_consumer *c);

/* The size of the avoided image that starts at p, or 0. */
static inline uint64_t rp__image_at(const rp_consumer *c, uint64_t p)
{
    for (int i = 0; c->npins && i < (int)RP_PINS; i++) {
        const rp__pin *e = &c->pins[i];
        if (e->used && rp__pin_image(e->pos, e->size, e->until, c->m.capacity, p - 1) == p)
            return e->size;
    }
    return 0;
}

/* 1 if a committed record is at read_pos, a hole committed, or a
 * reservation in progress is due for a liveness check. */
RP_PRIVATE int rp__ready(rp_consumer *c);

/* 1 while backing off from a put in progress (RP_POLL_BACKOFF_NS). */
static inline int rp__backing_off(const rp_consumer *c)
{
    return c->stuck_pos == c->read_pos && c->nholes == c->npinned && rp__now_ns() - c->stuck_since_ns < RP_POLL_BACKOFF_NS;
}

#endif
