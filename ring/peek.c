/*
 * peek.c — read the newest committed events of a ring without taking any
 * role (ringctl tail). Producers and the consumer keep running: a record is
 * copied, then its header and the head are read again, and the copy is
 * kept only if the record was not released or changed meanwhile. The walk
 * from head stops at the first record whose length is unknown (a
 * reservation not committed yet) or that does not parse; released (DONE)
 * events between head and there are shown too.
 */
#include "consumer_internal.h"

#include <stdlib.h>

#define PEEK_MAX 10000

static int committed(uint32_t lw)
{
    return (lw & RP_REC_COMMIT) != 0;
}

/* A header word of a finished record (event or padding) that parses. */
static int parses(uint64_t w)
{
    return rp__rec_parses(w) && ((uint32_t)w & ~RP_REC_LEN_MASK) != RP_REC_CLAIM;
}

int rp_ring_peek(const char *name, const rp_queue_opts *opts, size_t last_n, rp_peek_fn fn, void *ctx, char *why,
                 size_t whylen)
{
    rp_queue_opts o;
    rp__map m;
    uint64_t *pos = NULL, head, tail, p;
    uint8_t *copy = NULL;
    size_t n = 0, shown = 0;
    int rc;

    if (last_n == 0 || last_n > PEEK_MAX || !fn)
        return RP_EINVAL;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    o.flags |= RP_OPT_NO_CREATE | RP_OPT_NO_POPULATE;
    if ((rc = rp__attach(&m, name, &o, why, whylen)) != 0)
        return rc;
    pos = (uint64_t *)calloc(last_n, sizeof *pos);
    copy = (uint8_t *)malloc(m.max_event ? m.max_event : 1);
    head = __atomic_load_n(&m.hdr->head, __ATOMIC_ACQUIRE);
    tail = __atomic_load_n(&m.hdr->tail, __ATOMIC_ACQUIRE);
    if (!pos || !copy) {
        rc = RP_ENOMEM;
    } else if (!rp__positions_ok(head, tail, m.capacity)) {
        snprintf(why, whylen, "ring %s: positions invalid (head %llu, tail %llu)", name, (unsigned long long)head,
                 (unsigned long long)tail);
        rc = RP_ECORRUPT;
    }
    /* walk: remember the positions of the last last_n committed records */
    for (p = head; rc == 0 && p < tail;) {
        uint64_t w = __atomic_load_n((uint64_t *)(void *)(m.data + (p & m.mask)), __ATOMIC_ACQUIRE);
        uint32_t lw = (uint32_t)w, len = lw & RP_REC_LEN_MASK;
        uint64_t size = rp__rec_size(len);
        if (!parses(w) || size > tail - p || (!(lw & RP_REC_SKIP) && len > m.max_event))
            break; /* not written yet, or not ours to judge: stop here */
        if (committed(lw))
            pos[n++ % last_n] = p;
        p += size;
    }
    /* show them oldest first, each only if still unchanged after the copy */
    for (size_t i = n > last_n ? n - last_n : 0; rc == 0 && i < n; i++) {
        uint64_t at = pos[i % last_n];
        uint64_t *hw = (uint64_t *)(void *)(m.data + (at & m.mask));
        uint64_t w = __atomic_load_n(hw, __ATOMIC_ACQUIRE);
        uint32_t len = (uint32_t)w & RP_REC_LEN_MASK;
        if (!committed((uint32_t)w) || len > m.max_event)
            continue;
        memcpy(copy, m.data + (at & m.mask) + RP_REC_HDR, len);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(hw, __ATOMIC_ACQUIRE) != w || __atomic_load_n(&m.hdr->head, __ATOMIC_ACQUIRE) > at)
            continue; /* released (and maybe reused) while we copied */
        fn(copy, len, at, ctx);
        shown++;
    }
    free(pos);
    free(copy);
    rp__unmap(&m);
    return rc ? rc : (int)(shown > (size_t)INT32_MAX ? INT32_MAX : shown);
}
