/*
 * pin.c — the consumer's side of pins: a stalled record that head has gone
 * past (layout.h, PINS).
 *
 * A live producer that stalls inside its reservation keeps it, however long
 * (nothing but its death may take it away). Without pins head would stop
 * there and the ring would fill behind it. With a pin, head moves past the
 * record; the record's bytes keep their place in the data area, and every
 * later lap of the tail goes around that place (its "images"), so the stall
 * costs the space the record holds and nothing more. When the record is
 * final (delivered and released, aborted, or its owner died), its bytes are
 * zeroed and the pin retires: producers stop avoiding the images from
 * head + capacity on; the consumer steps over the images below that, then
 * frees the entry.
 */
#include "consumer_internal.h"

/* every live pin is a hole of its own: a restart always has room for them */
_Static_assert(RP_PINS <= RP_HOLES_MAX, "pins fit in the hole list");

/* Our copy of entry i (size 0: free). */
static void track(rp_consumer *c, int i, uint64_t pos, uint64_t size, uint64_t until)
{
    c->pins[i].pos = pos;
    c->pins[i].size = size;
    c->pins[i].until = until;
    c->npins += (size != 0) - c->pins[i].used;
    c->pins[i].used = size != 0;
}

/* Write entry i: free it (state even), set its fields, then publish it in
 * use (state odd, release): the seqlock writer of layout.h, PINS. */
static void publish(rp_consumer *c, int i, uint64_t pos, uint64_t size, uint64_t until)
{
    rp_pin *e = &c->m.hdr->pins[i];
    uint64_t st = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
    if (st & 1u)
        __atomic_store_n(&e->state, ++st, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&e->pos, pos, __ATOMIC_RELAXED);
    __atomic_store_n(&e->size, size, __ATOMIC_RELAXED);
    __atomic_store_n(&e->until, until, __ATOMIC_RELAXED);
    if (size)
        __atomic_store_n(&e->state, st + 1, __ATOMIC_RELEASE);
    track(c, i, pos, size, until);
}

/* The last avoided image of a retiring pin e (the largest pos + k * cap
 * below until), or its position if it has none. */
static uint64_t last_image(const rp__pin *e, uint64_t cap)
{
    int64_t d = (int64_t)(e->until - e->pos);
    return d <= (int64_t)cap ? e->pos : e->pos + ((uint64_t)d - 1) / cap * cap;
}

RP_PRIVATE void rp__pins_gc(rp_consumer *c)
{
    for (int i = 0; c->npins && i < (int)RP_PINS; i++) {
        rp__pin *e = &c->pins[i];
        if (e->used && e->until != RP_PIN_LIVE &&
            (int64_t)(c->head - (last_image(e, c->m.capacity) + e->size)) >= 0)
            publish(c, i, 0, 0, 0);
    }
}

RP_PRIVATE int rp__pin_hole(rp_consumer *c, rp__hole *h)
{
    for (int i = 0; i < (int)RP_PINS; i++)
        if (!c->pins[i].used) {
            publish(c, i, h->pos, h->size, RP_PIN_LIVE); /* before head moves past it (rule 6) */
            h->pin = i;
            c->npinned++;
            return 1;
        }
    return 0;
}

RP_PRIVATE void rp__pin_finish(rp_consumer *c, rp__hole *h)
{
    rp__pin *e = &c->pins[h->pin];
    /* the bytes first: nobody may write there now (the record is final,
     * and no tail reached an image), and free space must read zero */
    rp__zero_ring(c, h->pos, h->size);
    /* images below head + capacity may still be ahead of a producer that
     * read the pin before this store; none beyond (layout.h, PINS) */
    e->until = c->head + c->m.capacity;
    __atomic_store_n(&c->m.hdr->pins[h->pin].until, e->until, __ATOMIC_RELEASE);
    c->npinned--;
    h->pin = -1;
    rp__pins_gc(c);
}

RP_PRIVATE void rp__pins_load(rp_consumer *c, uint64_t upto)
{
    rp_ring_hdr *hd = c->m.hdr;
    for (int i = 0; i < (int)RP_PINS; i++) {
        rp_pin *e = &hd->pins[i];
        uint64_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
        uint64_t pos = __atomic_load_n(&e->pos, __ATOMIC_RELAXED), size = __atomic_load_n(&e->size, __ATOMIC_RELAXED);
        uint64_t until = __atomic_load_n(&e->until, __ATOMIC_RELAXED);
        if (!(st & 1u))
            continue;
        if (rp__pin_image(pos, size, RP_PIN_LIVE, c->m.capacity, pos) == UINT64_MAX ||
            (int64_t)(pos - upto) >= 0) {
            /* does not parse, or not behind the head being released (the
             * consumer died before moving head past it: the walk finds the
             * record again) */
            publish(c, i, 0, 0, 0);
            continue;
        }
        track(c, i, pos, size, until);
        if (until == RP_PIN_LIVE) { /* the record may still be open: a hole again */
            rp__hole *h = &c->holes[c->nholes++];
            memset(h, 0, sizeof *h);
            h->pos = pos;
            h->size = size;
            h->since_rt_ns = rp__rt_ns();
            h->pin = i;
            c->npinned++;
        }
    }
    /* holes are kept in position order */
    for (int i = 1; i < c->nholes; i++)
        for (int j = i; j > 0 && (int64_t)(c->holes[j].pos - c->holes[j - 1].pos) < 0; j--) {
            rp__hole t = c->holes[j];
            c->holes[j] = c->holes[j - 1];
            c->holes[j - 1] = t;
        }
    rp__pins_gc(c);
}
