/*
 * quarantine.c — step over bytes of the ring that do not parse.
 *
 * Only a process that bypasses the producer API (or a bug, or a bad disk
 * page) can put an unparsable record into a ring. The consumer cannot know
 * that record's true length, so it looks for the next position, up to the
 * tail, where parsing can resume: a zero word (a reservation whose header
 * is not written yet), or a valid header whose
 * successor is valid too (or is the tail). Two in a row make it unlikely
 * that a payload byte pattern is taken for a header. The bytes in between
 * are handed to the caller to keep, then released like a batch.
 */
#include "consumer_internal.h"

#define RP_QUARANTINE_MAX ((uint64_t)RP_REC_LEN_MASK & ~(uint64_t)7) /* fits a SKIP header */

/* Size of a parsable record (or image) at p (0 if none); a zero word counts as 8. */
static uint64_t parsable(rp_consumer *c, uint64_t p, uint64_t tail)
{
    uint64_t word = rp__load_word(c, p);
    char keep[sizeof c->why];
    uint64_t size = rp__image_at(c, p);
    if (size)
        return size; /* a pinned record's image: the walk steps over it */
    if (word == 0)
        return RP_REC_HDR; /* a reservation in progress starts here, or free space */
    memcpy(keep, c->why, sizeof keep); /* probing must not overwrite the report */
    size = rp__checked_size(c, p, tail - p, word);
    memcpy(c->why, keep, sizeof keep);
    return size;
}

int rp_consumer_skip_corrupt(rp_consumer *c, rp_batch *b, rp_event *bad)
{
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE);
    uint64_t from = c->read_pos, p, end;

    if (c->bad_pos == UINT64_MAX || c->nquar == 8 || !rp__positions_ok(c->head, tail, c->m.capacity) ||
        tail - c->head < from - c->head || c->bad_pos - from >= tail - from)
        return RP_EINVAL;
    /* skipped records before bad_pos go with it; one report stays < 4 GiB */
    end = tail - from > RP_QUARANTINE_MAX ? from + RP_QUARANTINE_MAX : tail;
    for (p = c->bad_pos + RP_REC_HDR; p < end; p += RP_REC_HDR) {
        uint64_t size = parsable(c, p, tail);
        if (size && (p + size == tail || parsable(c, p + size, tail)))
            break;
    }
    c->bad_pos = UINT64_MAX;
    c->read_pos = p;
    c->quar[c->nquar][0] = from; /* its release covers it with one SKIP header */
    c->quar[c->nquar][1] = p;
    c->nquar++;
    b->n = b->bytes = 0;
    b->start = from;
    b->end = p;
    bad->data = c->m.data + (from & c->m.mask); /* contiguous: the ring is mapped twice */
    bad->len = (uint32_t)(p - from);
    bad->pos = from;
    return 0;
}
