/*
 * wait.c — the consumer's sleep.
 *
 * Producers pay for a wake-up only when the consumer sleeps (layout.h, rule
 * 4): the consumer sets `sleeping` to 1, re-checks for data, then
 * FUTEX_WAITs on `sleeping` itself (value 1); a producer that commits and
 * sees 1 calls FUTEX_WAKE_OP, which sets it to 0 and wakes us in one step
 * in the kernel, so a producer killed at any point cannot leave us asleep
 * with `sleeping` cleared. On 2 vCPUs a consumer that spins starves the
 * producers, so it spins only briefly, then yields, then sleeps.
 */
#include "consumer_internal.h"

#include <sched.h>

#define SPINS 64
/* pauses between two looks while spinning: each look reads the lines the
 * producer is writing (tail, the record header) and makes its next store
 * to them a cross-core transfer (~85 ns here); looking every pause instead
 * halved the puts/s of one producer process (bench-layouts) */
#define SPIN_GAP 16
#define YIELDS 4
#define STUCK_POLL_MS 10 /* while a record is reserved but uncommitted */

RP_PRIVATE int rp__ready(rp_consumer *c)
{
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_SEQ_CST);
    for (int i = 0; i < c->nholes; i++)
        if (!c->holes[i].delivered && rp__final(__atomic_load_n(rp__word_at(c, c->holes[i].pos), __ATOMIC_SEQ_CST)))
            return 1;
    if (tail == c->read_pos)
        return 0;
    if (rp__image_at(c, c->read_pos))
        return 1; /* the tail went around a pinned record: a poll steps over it */
    if (rp__final(__atomic_load_n(rp__word_at(c, c->read_pos), __ATOMIC_SEQ_CST)))
        return 1;
    return c->stuck_pos == c->read_pos && rp__now_ns() >= c->next_check_ns;
}

/* Something is in flight (a reservation below the tail, a stalled hole):
 * wake up soon to look at it again even if no producer wakes us. */
static int in_flight(rp_consumer *c)
{
    return c->nholes > 0 || __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE) != c->read_pos;
}

int rp_consumer_recheck_ms(rp_consumer *c)
{
    return in_flight(c) ? STUCK_POLL_MS : -1;
}

int rp_consumer_arm(rp_consumer *c, uint32_t **addr, uint32_t *val)
{
    rp_ring_hdr *h = c->m.hdr;
    *addr = &h->sleeping;
    *val = 1;
    __atomic_store_n(&h->sleeping, 1, __ATOMIC_SEQ_CST);
    if (rp__ready(c)) {
        rp_consumer_disarm(c);
        return 1;
    }
    return 0;
}

void rp_consumer_disarm(rp_consumer *c)
{
    __atomic_store_n(&c->m.hdr->sleeping, 0, __ATOMIC_SEQ_CST);
}

static void futex_wait(uint32_t *addr, uint32_t val, int timeout_ms)
{
    struct timespec ts;
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

int rp_consumer_wait(rp_consumer *c, int timeout_ms)
{
    uint32_t *addr, val;
    int i;

    for (i = 0; i < SPINS + YIELDS; i++) {
        /* while backing off, spin without looking; the check before
         * sleeping (rp_consumer_arm) always looks: rule 4 needs it */
        if (!rp__backing_off(c) && rp__ready(c))
            return 0;
        if (i < SPINS)
            for (int k = 0; k < SPIN_GAP; k++)
                rp__cpu_relax(); /* ringpub.h */
        else
            sched_yield();
    }
    if (timeout_ms <= 0)
        return RP_ETIMEDOUT;
    if (rp_consumer_arm(c, &addr, &val))
        return 0;
    if (in_flight(c) && timeout_ms > STUCK_POLL_MS)
        timeout_ms = STUCK_POLL_MS;
    futex_wait(addr, val, timeout_ms);
    rp_consumer_disarm(c);
    return rp__ready(c) ? 0 : RP_ETIMEDOUT;
}
