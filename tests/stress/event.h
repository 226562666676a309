/*
 * event.h — the stress harness's self-checking events.
 *
 * An event is [u32 id][u32 len][u64 seq][u64 sum][payload words]. Payload
 * words are drawn from the ring's own control words (zero, record headers
 * of both layouts, slot intents, free words of layout 1) so that no payload
 * can be told from a control word by its bytes; sum is an FNV-1a hash of
 * everything but itself. A reader proves each event whole by recomputing it.
 */
#ifndef RINGPUB_STRESS_EVENT_H
#define RINGPUB_STRESS_EVENT_H

#include <ringpub.h>

#define SE_HDR 24u
#define SE_MAX 1024u
#define SE_HELD_ID 1000000u /* producer i's held events (sproducer.c) are stream i + SE_HELD_ID */

static inline uint64_t se_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t se_sum(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        if (i < 16 || i >= 24)
            h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* One payload word that looks like ring control. */
static inline uint64_t se_forged(uint64_t r, uint64_t seq)
{
    switch (r % 7) {
    case 0: return 0;
    case 1: return (uint64_t)(r >> 40 & 7) << 32;                                      /* FREE(lap), layout 1 */
    case 2: return rp__rec_word(RP_REC_COMMIT, (uint32_t)(r >> 20 & 0x3f8), (uint32_t)(r >> 8 & 0xff));
    case 3: return rp__rec_word(RP_REC_SKIP, (uint32_t)(r >> 20 & 0x3f8), 0);
    case 4: return rp__intent(seq * 64, 64);
    case 5: return (uint64_t)(1u << 31 | (uint32_t)(r >> 20 & 0x3f8)) | (uint64_t)(r >> 32) << 32; /* BUSY, layout 1 */
    default: return r;
    }
}

/* Build event (id, seq) of a length drawn from rng into buf; returns it. */
static inline size_t se_fill(uint8_t *buf, uint32_t id, uint64_t seq, uint64_t *rng)
{
    size_t len = SE_HDR + 8 * (size_t)(se_rand(rng) % ((SE_MAX - SE_HDR) / 8));
    uint32_t l32 = (uint32_t)len;
    uint64_t sum;
    memcpy(buf, &id, 4);
    memcpy(buf + 4, &l32, 4);
    memcpy(buf + 8, &seq, 8);
    for (size_t off = SE_HDR; off < len; off += 8) {
        uint64_t w = se_forged(se_rand(rng), seq);
        memcpy(buf + off, &w, 8);
    }
    sum = se_sum(buf, len);
    memcpy(buf + 16, &sum, 8);
    return len;
}

/* 1 if data[len] is a whole event; sets *id, *seq. */
static inline int se_check(const void *data, size_t len, uint32_t *id, uint64_t *seq)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t l32;
    uint64_t sum;
    if (len < SE_HDR || len > SE_MAX)
        return 0;
    memcpy(id, p, 4);
    memcpy(&l32, p + 4, 4);
    memcpy(seq, p + 8, 8);
    memcpy(&sum, p + 16, 8);
    return l32 == len && sum == se_sum(p, len);
}

#endif
