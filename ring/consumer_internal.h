/*
 * consumer_internal.h — the consumer's private state, shared by the files
 * of ring/ (consumer.c: open/poll/release; recover.c: abandoned
 * reservations; wait.c: sleeping; stats.c: counters).
 */
#ifndef RINGPUB_CONSUMER_INTERNAL_H
#define RINGPUB_CONSUMER_INTERNAL_H

#include "ringpub_consumer.h"

struct rp_consumer {
    rp__map m;
    uint64_t head;        /* our copy of hdr->head: we are its only writer */
    uint64_t read_pos;    /* next record to read; head <= read_pos <= tail */
    /* a record that is not committed yet, and since when we have seen it so */
    uint64_t stuck_pos;
    uint64_t stuck_tail;
    uint64_t stuck_since_ns;
    uint64_t next_pid_check_ns;
    uint64_t bad_pos;     /* the unparsable record poll last stopped at, or UINT64_MAX */
    char why[256];
};

/* Monotonic clock in nanoseconds. */
uint64_t rp__now_ns(void);

/* Load a record header word at a ring position. */
static inline uint64_t rp__load_word(const rp_consumer *c, uint64_t pos)
{
    return __atomic_load_n((uint64_t *)(void *)(c->m.data + (pos & c->m.mask)), __ATOMIC_ACQUIRE);
}

static inline uint64_t *rp__word_at(const rp_consumer *c, uint64_t pos)
{
    return (uint64_t *)(void *)(c->m.data + (pos & c->m.mask));
}

/* Validate a loaded header word for a record at pos with avail bytes before
 * tail. Returns the record's size, or 0 after recording corruption in c->why. */
uint64_t rp__checked_size(rp_consumer *c, uint64_t pos, uint64_t avail, uint64_t word);

/* Mark corruption: records one line and returns RP_ECORRUPT. */
int rp__corrupt(rp_consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Deal with a record at pos that is not committed (word is 0 or BUSY).
 * Returns 1 if the header changed (re-read it), 0 if we must keep waiting,
 * or RP_ECORRUPT.
 */
int rp__recover(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word);

/* 1 if a committed (or skippable) record is at read_pos, or a stuck one is
 * due for recovery. */
int rp__ready(rp_consumer *c);

#endif
