/*
 * recover.c — reservations in progress: stalled (holes) or abandoned.
 *
 * A 0 header below the tail is a reservation whose owner has not committed
 * yet. Its owner's slot intent names it (layout.h, SLOTS). The consumer
 * waits a moment (a put takes nanoseconds), then looks at the claimants:
 *   - one, alive: a stalled producer. We step past its record and keep
 *     delivering what follows; its event is handed out when it commits.
 *   - all dead (their slot locks are free): we take their locks, check
 *     again and cover the record with a SKIP header. Nothing else can
 *     prove a producer dead: PIDs mean nothing across PID namespaces and a
 *     timer cannot stop a stalled thread's stores.
 */
#include "consumer_internal.h"

#define GRACE_NS 1000000u          /* a 0 header younger than this is just a put in flight */
#define CHECK_NS 1000000u          /* at most one liveness probe a millisecond per position */
#define HOLE_CHECK_NS 10000000u    /* a stalled hole's owner: probed every 10 ms */
#define REAP_NS 1000000000u        /* dead slots' intents: cleared at most once a second */
#define MAX_CLAIMANTS 8

typedef struct claimant {
    uint32_t slot, k;
    uint64_t intent, need;
} claimant;

static uint64_t *intent_word(rp_consumer *c, uint32_t slot, uint32_t k)
{
    return &rp__slot(&c->m, slot)->intent[k];
}

/* 1 if slot i's owner lives (another description holds its lock; when the
 * kernel cannot tell, assume it lives). */
static int slot_alive(rp_consumer *c, uint32_t i)
{
    return rp__lock_held(c->m.fd, RP_LOCK_SLOT0 + i) != 0;
}

static void count_recovered(rp_consumer *c, uint64_t bytes)
{
    __atomic_fetch_add(&c->m.hdr->recovered, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->m.hdr->recovered_bytes, bytes, __ATOMIC_RELAXED);
}

/* The slots whose intent names pos with a size that fits below tail. */
static int claimants_of(rp_consumer *c, uint64_t pos, uint64_t tail, claimant *cl)
{
    uint64_t max_need = rp__rec_size(c->m.max_event);
    int n = 0;
    for (uint32_t i = 0; i < RP_SLOTS; i++)
        for (uint32_t k = 0; k < RP_SLOT_INTENTS; k++) {
            uint64_t w = __atomic_load_n(intent_word(c, i, k), __ATOMIC_ACQUIRE), need;
            if (!w || !rp__intent_names(w, pos, &need) || need < RP_REC_HDR || need > max_need ||
                need > tail - pos)
                continue;
            if (n == MAX_CLAIMANTS)
                return n + 1;
            cl[n].slot = i;
            cl[n].k = k;
            cl[n].intent = w;
            cl[n].need = need;
            n++;
        }
    return n;
}

/* 1 if e is a record boundary: the tail, a written word, an intent's
 * position or an image's start. Inside a dead reservation none of these
 * holds (layout.h). Behind head (a pinned record's end) the walk never
 * goes, so any end will do. */
static int boundary(rp_consumer *c, uint64_t e, uint64_t tail)
{
    uint64_t need;
    if (e == tail || (int64_t)(c->head - e) >= 0 || rp__load_word(c, e) != 0 || rp__image_at(c, e))
        return 1;
    for (uint32_t i = 0; i < RP_SLOTS; i++)
        for (uint32_t k = 0; k < RP_SLOT_INTENTS; k++)
            if (rp__intent_names(__atomic_load_n(intent_word(c, i, k), __ATOMIC_ACQUIRE), e, &need))
                return 1;
    return 0;
}

/* Take (or drop) the locks of cl[0..n): a slot may appear more than once. */
static int lock_all(rp_consumer *c, const claimant *cl, int n, short type)
{
    for (int k = 0; k < n; k++)
        if (rp__lock_byte(c->m.fd, type, RP_LOCK_SLOT0 + cl[k].slot) != 0) {
            if (type == F_WRLCK)
                lock_all(c, cl, k, F_UNLCK);
            return -1;
        }
    return 0;
}

/* Every claimant of pos is dead: cover its record with SKIP. Returns 1
 * with *size, or 0 (a lock was taken meanwhile: later). */
static int bury(rp_consumer *c, uint64_t pos, uint64_t tail, claimant *cl, int n, uint64_t *size)
{
    uint64_t end = 0;
    int k;
    if (lock_all(c, cl, n, F_WRLCK) != 0)
        return 0;
    for (k = 0; k < n; k++)
        if (__atomic_load_n(intent_word(c, cl[k].slot, cl[k].k), __ATOMIC_ACQUIRE) != cl[k].intent)
            break;
    if (k == n && rp__load_word(c, pos) == 0) {
        /* the smallest claimant end that is a boundary is the record's end */
        for (k = 0; k < n; k++)
            if ((end == 0 || pos + cl[k].need < end) && boundary(c, pos + cl[k].need, tail))
                end = pos + cl[k].need;
    }
    if (end) {
        __atomic_store_n(rp__word_at(c, pos), rp__rec_word(RP_REC_SKIP, (uint32_t)(end - pos - RP_REC_HDR),
                                                           cl[0].slot), __ATOMIC_RELEASE);
        for (k = 0; k < n; k++)
            __atomic_store_n(intent_word(c, cl[k].slot, cl[k].k), 0, __ATOMIC_RELEASE);
        count_recovered(c, end - pos);
        *size = end - pos;
    }
    lock_all(c, cl, n, F_UNLCK);
    return end ? 1 : 0;
}

/* The CLAIM header `word` at pos names a dead owner: take its slot lock,
 * check the header again, cover the record with SKIP. 1 with *size, or 0. */
static int bury_claimed(rp_consumer *c, uint64_t pos, uint64_t word, uint64_t *size)
{
    uint32_t slot = (uint32_t)(word >> 32) & 0xffffu, len = (uint32_t)word & RP_REC_LEN_MASK;
    uint64_t need;
    int done = 0;
    if (rp__lock_byte(c->m.fd, F_WRLCK, RP_LOCK_SLOT0 + slot) != 0)
        return 0;
    if (rp__load_word(c, pos) == word) {
        __atomic_store_n(rp__word_at(c, pos), rp__rec_word(RP_REC_SKIP, len, slot), __ATOMIC_RELEASE);
        for (uint32_t k = 0; k < RP_SLOT_INTENTS; k++)
            if (rp__intent_names(__atomic_load_n(intent_word(c, slot, k), __ATOMIC_ACQUIRE), pos, &need))
                __atomic_store_n(intent_word(c, slot, k), 0, __ATOMIC_RELEASE);
        *size = rp__rec_size(len);
        count_recovered(c, *size);
        done = 1;
    }
    rp__lock_byte(c->m.fd, F_UNLCK, RP_LOCK_SLOT0 + slot);
    return done;
}

static int add_hole(rp_consumer *c, uint64_t pos, uint64_t size, uint32_t slot)
{
    rp__hole *h;
    if (c->nholes == RP_HOLES_MAX)
        return 0;
    h = &c->holes[c->nholes++];
    h->pos = pos;
    h->size = size;
    h->since_rt_ns = c->stuck_since_rt_ns;
    h->next_check_ns = rp__now_ns() + HOLE_CHECK_NS;
    h->slot = slot;
    h->delivered = 0;
    h->pin = -1;
    return 1;
}

/* Judge a reservation in progress at pos, whose header is `word` (0 or
 * CLAIM): covered with SKIP because its owner is dead (JUDGED_DEAD, *size),
 * its one live owner is stalled (JUDGED_ALIVE, *size and *slot), or wait
 * (JUDGED_WAIT: a tail-CAS loser still names it, a lock was taken
 * meanwhile), the header changed (JUDGED_CHANGED), no producer claims a 0
 * header (JUDGED_NOCLAIM), or RP_ECORRUPT (a CLAIM header that does not
 * parse). See THE CONSUMER'S WALK in layout.h. */
enum { JUDGED_WAIT, JUDGED_DEAD, JUDGED_ALIVE, JUDGED_CHANGED, JUDGED_NOCLAIM };

static int judge(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word, uint64_t *size, uint32_t *slot)
{
    claimant cl[MAX_CLAIMANTS];
    int n, alive = 0;
    if (word != 0) { /* CLAIM: its owner and size are known */
        if ((*size = rp__checked_size(c, pos, tail - pos, word)) == 0)
            return RP_ECORRUPT;
        *slot = (uint32_t)(word >> 32) & 0xffffu;
        if (slot_alive(c, *slot))
            return JUDGED_ALIVE;
        return bury_claimed(c, pos, word, size) ? JUDGED_DEAD : JUDGED_WAIT;
    }
    n = claimants_of(c, pos, tail, cl);
    if (rp__load_word(c, pos) != 0)
        return JUDGED_CHANGED; /* committed meanwhile (layout.h, rule 2) */
    if (n == 0)
        return JUDGED_NOCLAIM;
    if (n > MAX_CLAIMANTS)
        return JUDGED_WAIT;
    for (int k = 0; k < n; k++)
        alive += slot_alive(c, cl[k].slot);
    if (alive) {
        if (n != 1)
            return JUDGED_WAIT; /* a tail-CAS loser still names pos: it moves on at once */
        *size = cl[0].need;
        *slot = cl[0].slot;
        return JUDGED_ALIVE;
    }
    return bury(c, pos, tail, cl, n, size) ? JUDGED_DEAD : JUDGED_WAIT;
}

RP_PRIVATE int rp__recover(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word, uint64_t *size)
{
    uint64_t now = rp__now_ns();
    uint32_t slot;

    if (c->stuck_pos != pos) {
        c->stuck_pos = pos;
        c->stuck_since_ns = now;
        c->stuck_since_rt_ns = 0; /* read when it is reported: most stops last nanoseconds */
        c->next_check_ns = now + GRACE_NS;
        return 0;
    }
    if (now < c->next_check_ns)
        return 0;
    if (c->stuck_since_rt_ns == 0) /* stuck past the grace: worth a report */
        c->stuck_since_rt_ns = rp__rt_ns() - (now - c->stuck_since_ns);
    c->next_check_ns = now + CHECK_NS;
    switch (judge(c, pos, tail, word, size, &slot)) {
    case JUDGED_DEAD:
        return 1;
    case JUDGED_ALIVE:
        return add_hole(c, pos, *size, slot); /* 0: the hole list is full, wait */
    case JUDGED_CHANGED:
        return 2;
    case JUDGED_NOCLAIM:
        return rp__corrupt(c, "record at position %llu has no header and no producer claims it",
                           (unsigned long long)pos);
    case JUDGED_WAIT:
        return 0;
    default:
        return RP_ECORRUPT;
    }
}

RP_PRIVATE rp__hole *rp__hole_at(rp_consumer *c, uint64_t pos)
{
    for (int i = 0; i < c->nholes; i++)
        if (c->holes[i].pos == pos)
            return &c->holes[i];
    return NULL;
}

RP_PRIVATE void rp__hole_drop(rp_consumer *c, rp__hole *h)
{
    int i = (int)(h - c->holes);
    if (h->pin >= 0)
        rp__pin_finish(c, h);
    memmove(&c->holes[i], &c->holes[i + 1], (size_t)(c->nholes - i - 1) * sizeof *h);
    c->nholes--;
}

RP_PRIVATE int rp__holes_poll(rp_consumer *c, rp_batch *b, uint64_t tail)
{
    uint64_t now = 0;
    for (int i = 0; i < c->nholes; i++) {
        rp__hole *h = &c->holes[i];
        uint64_t w, size;
        int rc;
        if (h->delivered)
            continue;
        w = rp__load_word(c, h->pos);
        if (!rp__final(w)) { /* still in progress: is its owner alive? */
            uint32_t slot;
            now = now ? now : rp__now_ns();
            if (now < h->next_check_ns)
                continue;
            h->next_check_ns = now + HOLE_CHECK_NS;
            rc = judge(c, h->pos, tail, w, &size, &slot);
            /* a pinned record nobody claims was zeroed by us: final */
            if (rc == JUDGED_DEAD || (rc == JUDGED_NOCLAIM && h->pin >= 0)) {
                rp__hole_drop(c, h);
                i--;
            }
            continue; /* otherwise seen again next time */
        }
        if ((size = rp__checked_size(c, h->pos, h->size, w)) == 0) {
            c->bad_pos = UINT64_MAX;
            return RP_ECORRUPT;
        }
        if ((uint32_t)w & (RP_REC_SKIP | RP_REC_DONE)) { /* aborted, or released before a restart */
            rp__hole_drop(c, h);
            i--;
            continue;
        }
        b->events[0].data = c->m.data + (h->pos & c->m.mask) + RP_REC_HDR;
        b->events[0].len = (uint32_t)w & RP_REC_LEN_MASK;
        b->events[0].pos = h->pos;
        b->n = 1;
        b->bytes = b->events[0].len;
        b->start = h->pos;
        b->end = h->pos + h->size;
        h->delivered = 1;
        return 1;
    }
    return 0;
}

/* 1 if intent w names a pinned record: left for the hole's own check, so
 * its slot is not taken by a new thread that the check would take for the
 * record's owner. */
static int names_pinned(rp_consumer *c, uint64_t w)
{
    uint64_t need;
    for (int i = 0; i < c->npinned; i++)
        if (rp__intent_names(w, c->holes[i].pos, &need))
            return 1;
    return 0;
}

RP_PRIVATE void rp__reap(rp_consumer *c, uint64_t tail)
{
    const uint64_t pmask = ((uint64_t)1 << RP_INTENT_POS_BITS) - 1;
    uint64_t now = rp__now_ns();
    if (now < c->next_reap_ns)
        return;
    c->next_reap_ns = now + REAP_NS;
    for (uint32_t i = 0; i < RP_SLOTS; i++) {
        if (rp__slot_idle(rp__slot(&c->m, i)) || slot_alive(c, i) ||
            rp__lock_byte(c->m.fd, F_WRLCK, RP_LOCK_SLOT0 + i) != 0)
            continue;
        for (uint32_t k = 0; k < RP_SLOT_INTENTS; k++) {
            uint64_t w = __atomic_load_n(intent_word(c, i, k), __ATOMIC_ACQUIRE);
            /* the one position in [head, tail) it could name, if any */
            uint64_t p = (c->head / 8 + (((w & pmask) - c->head / 8) & pmask)) * 8;
            if (w && (p - c->head >= tail - c->head || rp__final(rp__load_word(c, p))) && !names_pinned(c, w))
                __atomic_store_n(intent_word(c, i, k), 0, __ATOMIC_RELEASE); /* names nothing open */
        }
        rp__lock_byte(c->m.fd, F_UNLCK, RP_LOCK_SLOT0 + i);
    }
}

RP_PRIVATE void rp__report_stalls(rp_consumer *c)
{
    rp_ring_hdr *hd = c->m.hdr;
    uint64_t n = 0, since = 0, pos = 0;
    if (c->nholes == 0 && (c->stuck_pos != c->read_pos || c->stuck_since_rt_ns == 0)) {
        /* the fast path: nothing stalled for a millisecond (a poll in steady state) */
        if (__atomic_load_n(&hd->stalled, __ATOMIC_RELAXED) != 0)
            __atomic_store_n(&hd->stalled, 0, __ATOMIC_RELAXED);
        return;
    }
    for (int i = 0; i < c->nholes; i++)
        if (!c->holes[i].delivered && !rp__final(rp__load_word(c, c->holes[i].pos))) {
            if (n++ == 0) {
                since = c->holes[i].since_rt_ns;
                pos = c->holes[i].pos;
            }
        }
    if (c->stuck_pos == c->read_pos && c->stuck_since_rt_ns != 0 &&
        __atomic_load_n(&hd->tail, __ATOMIC_RELAXED) != c->read_pos && !rp__final(rp__load_word(c, c->read_pos))) {
        if (n++ == 0) {
            since = c->stuck_since_rt_ns;
            pos = c->read_pos;
        }
    }
    if (__atomic_load_n(&hd->stalled, __ATOMIC_RELAXED) != n)
        __atomic_store_n(&hd->stalled, n, __ATOMIC_RELAXED);
    if (__atomic_load_n(&hd->stalled_since_ns, __ATOMIC_RELAXED) != since)
        __atomic_store_n(&hd->stalled_since_ns, since, __ATOMIC_RELAXED);
    if (__atomic_load_n(&hd->stalled_pos, __ATOMIC_RELAXED) != pos)
        __atomic_store_n(&hd->stalled_pos, pos, __ATOMIC_RELAXED);
}
