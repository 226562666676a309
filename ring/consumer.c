/*
 * consumer.c — open a ring as its consumer, poll batches of committed
 * records, release them.
 *
 * Everything read from shared memory is hostile: each header word is loaded
 * once into a local, then checked (flags, tag, length within max_event,
 * record within tail) before any byte it describes is touched.
 */
#include "consumer_internal.h"

#include <stdarg.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

RP_PRIVATE uint64_t rp__now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
RP_PRIVATE uint64_t rp__rt_ns(void) { return clock_ns(CLOCK_REALTIME); }

RP_PRIVATE int rp__corrupt(rp_consumer *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return RP_ECORRUPT;
}

static void release_to(rp_consumer *c, uint64_t end);

static int check_positions(rp_consumer *c)
{
    uint64_t head = __atomic_load_n(&c->m.hdr->head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE);
    uint64_t releasing = __atomic_load_n(&c->m.hdr->releasing, __ATOMIC_ACQUIRE);
    if (!rp__positions_ok(head, tail, c->m.capacity))
        return rp__corrupt(c, "ring positions invalid: head %llu, tail %llu, capacity %llu",
                           (unsigned long long)head, (unsigned long long)tail,
                           (unsigned long long)c->m.capacity);
    c->head = c->read_pos = head;
    /* the previous consumer died while releasing [head, releasing): finish
     * it, keeping the records it pinned on the way */
    if (releasing != head && (releasing & 7u) == 0 && releasing - head <= tail - head) {
        rp__pins_load(c, releasing);
        release_to(c, releasing);
        c->read_pos = releasing;
    } else {
        rp__pins_load(c, head);
    }
    return 0;
}

int rp_consumer_open(rp_consumer **cp, const char *name, const rp_queue_opts *opts, char *why, size_t whylen)
{
    char local[256];
    rp_consumer *c;
    int rc;

    if (!why) {
        why = local;
        whylen = sizeof local;
    }
    if (!cp)
        return RP_EINVAL;
    *cp = NULL;
    c = (rp_consumer *)calloc(1, sizeof *c);
    if (!c)
        return RP_ENOMEM;
    c->stuck_pos = UINT64_MAX;
    c->bad_pos = UINT64_MAX;
    rc = rp__attach(&c->m, name, opts, why, whylen);
    if (rc == 0 && rp__lock_byte(c->m.fd, F_WRLCK, RP_LOCK_CONSUMER) != 0) {
        snprintf(why, whylen, "queue %s already has a consumer", name);
        rc = RP_EBUSY;
    }
    if (rc == 0 && (rc = check_positions(c)) != 0)
        snprintf(why, whylen, "queue %s: %s", name, c->why);
    if (rc) {
        rp__unmap(&c->m);
        free(c);
        return rc;
    }
    __atomic_store_n(&c->m.hdr->consumer_pid, (uint64_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&c->m.hdr->sleeping, 0, __ATOMIC_SEQ_CST);
    rp__report_stalls(c);
    *cp = c;
    return 0;
}

void rp_consumer_close(rp_consumer *c)
{
    if (!c)
        return;
    __atomic_store_n(&c->m.hdr->consumer_pid, 0, __ATOMIC_RELAXED);
    rp__unmap(&c->m);
    free(c);
}

const char *rp_consumer_why(const rp_consumer *c)
{
    return c ? c->why : "";
}

void rp_consumer_rewind(rp_consumer *c)
{
    c->read_pos = c->head;
    c->stuck_pos = UINT64_MAX;
    c->bad_pos = UINT64_MAX;
    /* the others are found again by the next walk; DONE events are not
     * handed out again. Pinned holes are behind head: kept, handed out again
     * if they were */
    for (int i = 0; i < c->nholes; i++)
        c->holes[i].delivered = 0;
    c->nholes = c->npinned;
    c->nquar = 0;
}

RP_PRIVATE uint64_t rp__checked_size(rp_consumer *c, uint64_t pos, uint64_t avail, uint64_t word)
{
    uint32_t lw = (uint32_t)word;
    uint64_t len = lw & RP_REC_LEN_MASK, size = rp__rec_size(len);

    if (!rp__rec_parses(word))
        rp__corrupt(c, "record at position %llu has an invalid header %#llx",
                    (unsigned long long)pos, (unsigned long long)word);
    else if (!(lw & RP_REC_SKIP) && len > c->m.max_event)
        rp__corrupt(c, "record at position %llu is %llu bytes, over the max event %u",
                    (unsigned long long)pos, (unsigned long long)len, (unsigned)c->m.max_event);
    else if (size > avail)
        rp__corrupt(c, "record at position %llu (%llu bytes) runs past the tail (%llu bytes left)",
                    (unsigned long long)pos, (unsigned long long)size, (unsigned long long)avail);
    else
        return size;
    return 0;
}

/* Zero n bytes at p (a multiple of 8) with ordinary stores. Not memset:
 * for the multi-MiB ranges a release can cover, glibc's memset switches to
 * non-temporal stores, which evict the lines to memory just before the
 * producers write them again (measured: puts of 64 B and 1 KiB at about
 * half the speed). Compilers turn a plain zeroing loop into memset(). */
static void zero_words(uint8_t *p, uint64_t n)
{
    uint64_t *w = (uint64_t *)(void *)p, z = 0, i = 0, words = n / 8;
    __asm__("" : "+r"(z)); /* an opaque zero: the loop cannot become memset() */
    for (; i + 8 <= words; i += 8) /* a line per turn: half the loop's instructions */
        for (int k = 0; k < 8; k++)
            w[i + k] = z;
    for (; i < words; i++)
        w[i] = z;
}

RP_PRIVATE void rp__zero_ring(rp_consumer *c, uint64_t p, uint64_t n)
{
    uint64_t off = p & c->m.mask, first = n < c->m.capacity - off ? n : c->m.capacity - off;
    /* through the first mapping only: one address per byte keeps
     * ThreadSanitizer's view of the memory exact */
    zero_words(c->m.data + off, first);
    zero_words(c->m.data, n - first);
}

/* Zero [from, to) except the bytes of live pinned records: the record
 * itself and its images share them (layout.h, PINS). */
static void zero_free(rp_consumer *c, uint64_t from, uint64_t to)
{
    while (from != to) {
        uint64_t stop = to - from, skip = 0;
        for (int i = 0; i < (int)RP_PINS; i++) {
            const rp__pin *e = &c->pins[i];
            uint64_t rel = (from - e->pos) & c->m.mask; /* where from falls in e's lap */
            if (!e->used || e->until != RP_PIN_LIVE)
                continue;
            if (rel < e->size)
                skip = e->size - rel;
            else if (c->m.capacity - rel < stop)
                stop = c->m.capacity - rel;
        }
        if (skip) {
            from += skip < to - from ? skip : to - from;
            continue;
        }
        rp__zero_ring(c, from, stop);
        from += stop;
    }
}

/* Give the space [c->head, end) back to producers: zero it, then publish
 * head (release), so a producer that sees the new head sees zeroes
 * (layout.h, rule 3). Holes behind the new head are final, unless pinned:
 * forget them. */
static void release_to(rp_consumer *c, uint64_t end)
{
    rp_ring_hdr *h = c->m.hdr;
    __atomic_store_n(&h->releasing, end, __ATOMIC_RELEASE); /* crash-safe: see layout.h */
    if (c->npinned)
        zero_free(c, c->head, end);
    else
        rp__zero_ring(c, c->head, end - c->head);
    __atomic_store_n(&h->head, end, __ATOMIC_RELEASE);
    c->head = end;
    for (int i = c->npinned; i < c->nholes; i++)
        if ((int64_t)(c->head - c->holes[i].pos) > 0)
            rp__hole_drop(c, &c->holes[i--]);
    if (c->npins)
        rp__pins_gc(c);
}

/* Move head over every released (DONE) or skipped record from head on,
 * over images of pinned records, and over a stalled record, by pinning it. */
static void advance_head(rp_consumer *c)
{
    uint64_t p = c->head;
    while (p != c->read_pos) {
        uint64_t w, size = rp__image_at(c, p);
        uint32_t lw;
        rp__hole *h;
        if (size) {
            p += size;
            continue;
        }
        w = rp__load_word(c, p);
        lw = (uint32_t)w;
        if (!rp__final(w) && (h = rp__hole_at(c, p)) != NULL && !h->delivered && h->pin < 0 &&
            rp__pin_hole(c, h)) {
            p += h->size;
            continue;
        }
        if (w == 0 || !((lw & RP_REC_SKIP) || (lw & RP_REC_DONE)) ||
            (size = rp__checked_size(c, p, c->read_pos - p, w)) == 0)
            break;
        p += size;
    }
    if (p != c->head)
        release_to(c, p);
}

/* The size of the record with header `word` if it is the common case — an
 * event not yet released, whose header parses (our tag, a slot in range),
 * no longer than max_event and ending before the tail (avail bytes away) —
 * else 0. The same checks as rp__checked_size() for that one kind of
 * record, in four compares: anything else takes the general walk. */
static inline uint64_t event_size(uint64_t word, uint32_t max_event, uint64_t avail)
{
    uint32_t lw = (uint32_t)word, len = lw & RP_REC_LEN_MASK;
    uint64_t size = rp__rec_size(len);
    /* high 24 bits: RP_REC_TAG and a slot below 256 (layout.h) */
    if ((lw & ~RP_REC_LEN_MASK) != RP_REC_COMMIT || (word >> 40) != (RP_REC_TAG >> 8) || len > max_event ||
        size > avail)
        return 0;
    return size;
}
_Static_assert(RP_SLOTS == 256, "event_size: a slot is the low byte of the tag word");

/* The walk's fast path: hand out the run of common records (event_size)
 * from b->end on, at most `limit` of them, stopping before tail, a full
 * batch, one over max_bytes, or the first other record. Few live values,
 * so they stay in registers; the batch's counts are locals because
 * b->events[].pos has the type of b->n and a store through one would make
 * the compiler reload the other. */
static inline void take_run(const rp_consumer *c, rp_batch *b, size_t max_bytes, uint64_t tail, size_t limit)
{
    uint8_t *const data = c->m.data;
    const uint64_t mask = c->m.mask;
    const uint32_t max_event = c->m.max_event;
    uint64_t pos = b->end;
    size_t n = b->n, bytes = b->bytes;
    rp_event *const ev = b->events;
    const size_t max_events = b->max_events - n > limit ? n + limit : b->max_events;
    while (pos != tail && n < max_events) {
        uint64_t word = __atomic_load_n((uint64_t *)(void *)(data + (pos & mask)), __ATOMIC_ACQUIRE);
        uint64_t size = event_size(word, max_event, tail - pos);
        uint32_t len = (uint32_t)word & RP_REC_LEN_MASK;
        if (__builtin_expect(size == 0, 0) || (n > 0 && bytes + len > max_bytes))
            break;
        ev[n].data = data + (pos & mask) + RP_REC_HDR;
        ev[n].len = len;
        ev[n].pos = pos;
        n++;
        bytes += len;
        pos += size;
    }
    b->n = n;
    b->bytes = bytes;
    b->end = pos;
}

/* Hand out records from read_pos on; see THE CONSUMER'S WALK in layout.h.
 * Committed events go through take_run() — in runs, or one at a time while
 * pinned records' images may lie between them; this loop handles a record
 * of any other kind (an image, padding, a released event, a put in
 * progress, corruption) and then returns to it. */
static int walk(rp_consumer *c, rp_batch *b, size_t max_bytes, uint64_t tail)
{
    int rc = 0;
    b->end = c->read_pos;
    for (;;) {
        uint64_t pos = b->end, word, size;
        if (pos == tail || b->n == b->max_events)
            break;
        if (c->npins && (size = rp__image_at(c, pos)) != 0) { /* the tail went around a pinned record here */
            b->end = pos + size;
            continue;
        }
        take_run(c, b, max_bytes, tail, c->npins ? 1 : SIZE_MAX);
        if (b->end != pos)
            continue;
        word = rp__load_word(c, pos);
        if (event_size(word, c->m.max_event, tail - pos) != 0)
            break; /* an event take_run left: over max_bytes */
        if (!rp__final(word)) { /* 0 or CLAIM: a put in progress */
            rc = rp__recover(c, pos, tail, word, &size);
            if (rc == 2) { /* the header changed: read it again */
                rc = 0;
                continue;
            }
            if (rc < 0) {
                c->bad_pos = pos;
                if (b->n > 0)
                    rc = 0; /* hand out the good events first; the next poll reports it */
                break;
            }
            if (rc == 0)
                break;
            rc = 0;
            b->end = pos + size;
            continue;
        }
        if ((size = rp__checked_size(c, pos, tail - pos, word)) == 0) {
            c->bad_pos = pos;
            if (b->n == 0)
                rc = RP_ECORRUPT; /* else hand out the good events first; the next poll reports it */
            break;
        }
        b->end = pos + size; /* padding or a released event: an event that parses was taken above */
    }
    c->read_pos = b->end;
    return rc;
}

int rp_consumer_poll(rp_consumer *c, rp_batch *b, size_t max_bytes)
{
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE);
    int rc;

    b->n = b->bytes = 0;
    b->start = b->end = c->read_pos;
    if (!rp__positions_ok(c->head, tail, c->m.capacity) || tail - c->head < c->read_pos - c->head)
        return rp__corrupt(c, "ring tail %llu is invalid (head %llu, read position %llu)",
                           (unsigned long long)tail, (unsigned long long)c->head,
                           (unsigned long long)c->read_pos);
    if (b->max_events == 0)
        return RP_EINVAL;
    if (rp__backing_off(c)) /* consumer_internal.h */
        return 0;
    if (c->nholes == 0 || (rc = rp__holes_poll(c, b, tail)) == 0) {
        b->start = c->read_pos;
        rc = walk(c, b, max_bytes, tail);
        b->end = c->read_pos;
        if (rc == 0 && b->n == 0) { /* only skipped space: nothing for the caller to release */
            b->start = b->end;
            advance_head(c);
            rp__reap(c, tail); /* idle work: only when there was nothing to hand out */
        }
    }
    rp__report_stalls(c);
    return rc < 0 ? rc : (int)b->n;
}

/* Mark every event handed out in [start, end) DONE. The events of holes
 * are released by their own batch, exactly [hole, hole end). */
static int mark_done(rp_consumer *c, uint64_t start, uint64_t end)
{
    uint64_t p = start;
    while (p != end) {
        rp__hole *h = rp__hole_at(c, p);
        uint64_t w = rp__load_word(c, p), size = rp__image_at(c, p);
        if (size) {
            p += size;
            continue;
        }
        if (h) {
            size = h->size;
            if (h->delivered && start == h->pos && end == h->pos + h->size) {
                __atomic_store_n(rp__word_at(c, p), w | RP_REC_DONE, __ATOMIC_RELEASE);
                rp__hole_drop(c, h);
            }
            p += size;
            continue;
        }
        if (w == 0 || (size = rp__checked_size(c, p, end - p, w)) == 0)
            return RP_EINVAL; /* not a range this consumer handed out */
        if (((uint32_t)w & RP_REC_COMMIT) && !((uint32_t)w & RP_REC_DONE))
            __atomic_store_n(rp__word_at(c, p), w | RP_REC_DONE, __ATOMIC_RELEASE);
        p += size;
    }
    return 0;
}

/* The index of [start, end) among the ranges handed out by
 * rp_consumer_skip_corrupt, or -1. */
static int quarantined(const rp_consumer *c, uint64_t start, uint64_t end)
{
    for (int i = 0; i < c->nquar; i++)
        if (c->quar[i][0] == start && c->quar[i][1] == end)
            return i;
    return -1;
}

/* A quarantined range is released: its bytes were saved, so one SKIP
 * header now covers them. 1 if [start, end) was one. */
static int release_quarantine(rp_consumer *c, uint64_t start, uint64_t end)
{
    int i = quarantined(c, start, end);
    if (i < 0)
        return 0;
    __atomic_store_n(rp__word_at(c, start), rp__rec_word(RP_REC_SKIP, (uint32_t)(end - start - RP_REC_HDR), 0),
                     __ATOMIC_RELEASE);
    memmove(c->quar[i], c->quar[i + 1], (size_t)(c->nquar - i - 1) * sizeof c->quar[0]);
    c->nquar--;
    return 1;
}

int rp_consumer_release(rp_consumer *c, const rp_batch *b)
{
    uint64_t start = b->start, end = b->end;
    int rc;
    if (end == start)
        return 0;
    rp__hole *h;
    if (((start | end) & 7u) || end - start > c->m.capacity)
        return RP_EINVAL;
    /* a pinned record's own batch: behind head */
    if ((int64_t)(c->head - start) > 0 && (h = rp__hole_at(c, start)) != NULL && h->pin >= 0 &&
        h->delivered && end == h->pos + h->size) {
        if ((rc = mark_done(c, start, end)) != 0)
            return rc;
        goto released;
    }
    /* A batch that began at a stalled record whose own batch was released
     * first: head moved past that record, and everything behind head is
     * released or padding, so the rest of the range is what is left. */
    if ((int64_t)(c->head - start) > 0 && (int64_t)(end - c->head) > 0 && quarantined(c, start, end) < 0)
        start = c->head;
    if (start - c->head > c->read_pos - c->head || end - start > c->read_pos - start)
        return RP_EINVAL;
    if (start == c->head && c->nholes == c->npinned && c->nquar == 0) {
        /* in order, nothing stalled inside: every record in the range is an
         * event handed out or padding, so the space goes back at once */
        release_to(c, end);
    } else if (!release_quarantine(c, start, end) && (rc = mark_done(c, start, end)) != 0) {
        return rc;
    }
    advance_head(c);
released:
    __atomic_fetch_add(&c->m.hdr->events_out, b->n, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->m.hdr->bytes_out, b->bytes, __ATOMIC_RELAXED);
    rp__report_stalls(c);
    return 0;
}
