/*
 * recover.c — abandoned reservations.
 *
 * A producer can die (or stall) after reserving space. Two cases:
 *   BUSY header: we know its length and owner. We skip it as soon as the
 *     owner is dead, or after recover_ms. The skip is CAS(BUSY -> SKIP): if
 *     the owner commits first we lose the CAS and read its event; if we win,
 *     its commit CAS fails and its put returns RP_EABANDONED. Either way
 *     nothing put() returned 0 for is lost.
 *   FREE header: the producer died (or stalls) between the tail CAS and
 *     the header CAS. Its length is unknown, but its payload is never written
 *     before its header, so after recover_ms the first word after pos that
 *     is not FREE is the next header. Every word of the gap up to it is
 *     turned into an 8-byte SKIP record by CAS(FREE -> SKIP): where a slow
 *     producer's header CAS won first, we stop there and read its record;
 *     where we won, its header CAS fails and it gets RP_EABANDONED
 *     (layout.h, rule 4). The gap can include the reservations of other
 *     producers that are a few instructions from their header CAS; they are
 *     told RP_EABANDONED too, never a false success.
 */
#include "consumer_internal.h"

#include <signal.h>

#define PID_CHECK_INTERVAL_NS 1000000u /* at most one liveness probe per ms */
#define PID_MAX_LIMIT 4194304u

/* 1 if pid is certainly gone (no such process, or a zombie). */
static int pid_dead(uint32_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;

    if (pid == 0 || pid > PID_MAX_LIMIT)
        return 0; /* unknown owner: only the timeout applies */
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void count_recovered(rp_consumer *c, uint64_t bytes)
{
    __atomic_fetch_add(&c->m.hdr->recovered, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->m.hdr->recovered_bytes, bytes, __ATOMIC_RELAXED);
}

static int skip_busy(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word)
{
    uint32_t len = (uint32_t)word & RP_REC_LEN_MASK;
    uint64_t size = rp__rec_size(len);
    uint64_t skip = rp__rec_word(RP_REC_SKIP, len, (uint32_t)(word >> 32));

    if (len > c->m.max_event || size > tail - pos)
        return rp__corrupt(c, "reservation at position %llu claims %u bytes (max %u, %llu left)",
                           (unsigned long long)pos, (unsigned)len, (unsigned)c->m.max_event,
                           (unsigned long long)(tail - pos));
    if (__atomic_compare_exchange_n(rp__word_at(c, pos), &word, skip, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED))
        count_recovered(c, size);
    return 1;
}

/* Cover [pos, end) with 8-byte SKIP records, one CAS per word. */
static int skip_gap(rp_consumer *c, uint64_t pos, uint64_t end)
{
    const uint64_t skip = rp__rec_word(RP_REC_SKIP, 0, 0);
    uint64_t p = pos;
    for (; p < end; p += RP_REC_HDR) {
        uint64_t free_w = rp__free_word(p, c->m.shift);
        if (!__atomic_compare_exchange_n(rp__word_at(c, p), &free_w, skip, 0, __ATOMIC_SEQ_CST,
                                         __ATOMIC_RELAXED))
            break; /* a producer's header CAS won here: its record starts at p */
    }
    if (p > pos)
        count_recovered(c, p - pos);
    return 1;
}

/* Find the end of a header-less reservation at pos: the first word that is
 * not FREE. */
static int skip_headerless(rp_consumer *c, uint64_t pos, uint64_t tail)
{
    uint64_t p = pos + RP_REC_HDR;
    while (p != tail && rp__load_word(c, p) == rp__free_word(p, c->m.shift))
        p += RP_REC_HDR;
    if (p == tail && tail != c->stuck_tail) {
        /* producers are still arriving: give them a full period too */
        c->stuck_tail = tail;
        c->stuck_since_ns = rp__now_ns();
        return 0;
    }
    return skip_gap(c, pos, p);
}

int rp__recover(rp_consumer *c, uint64_t pos, uint64_t tail, uint64_t word)
{
    uint64_t now = rp__now_ns();
    int overdue;

    if (c->stuck_pos != pos) {
        c->stuck_pos = pos;
        c->stuck_tail = tail;
        c->stuck_since_ns = now;
        c->next_pid_check_ns = now;
    }
    overdue = now - c->stuck_since_ns >= (uint64_t)c->m.recover_ms * 1000000u;
    if ((uint32_t)word & RP_REC_BUSY) {
        if (!overdue && now >= c->next_pid_check_ns) {
            c->next_pid_check_ns = now + PID_CHECK_INTERVAL_NS;
            overdue = pid_dead((uint32_t)(word >> 32));
        }
        return overdue ? skip_busy(c, pos, tail, word) : 0;
    }
    return overdue ? skip_headerless(c, pos, tail) : 0;
}
