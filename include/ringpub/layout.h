/*
 * ringpub/layout.h — the shared-memory layout of one ringpub queue.
 *
 * This file is the contract between producers (include/ringpub.h), the
 * consumer (ring/consumer.c) and any tool that reads a ring file. It is
 * included by ringpub.h; users never include it directly.
 *
 * FILE
 *   [ header: RP_HDR_SIZE bytes ][ data area: capacity bytes, a power of two ]
 *   The data area is mapped twice, back to back, so every record is
 *   contiguous in virtual memory even when it wraps (the BPF ring-buffer
 *   trick): a record at position p lives at data + (p & (capacity - 1)) and
 *   may run past data + capacity into the second mapping.
 *
 * POSITIONS
 *   head and tail are 64-bit byte counts that only grow; the offset in the
 *   data area is pos & (capacity - 1). Differences are taken with unsigned,
 *   wrap-safe arithmetic. Invariants: head <= tail, tail - head <= capacity,
 *   both multiples of 8.
 *
 * RECORDS
 *   Each record is an 8-byte header word followed by the payload, padded to a
 *   multiple of 8. The header word is also the commit flag:
 *     FREE(lap)             not written yet (reserved, or free space)
 *     LIVE|BUSY|len, pid    reserved by process pid, payload being written
 *     LIVE|len, pid         committed: the consumer may read it
 *     LIVE|SKIP|len, pid    aborted or recovered: the consumer steps over it
 *   len is the payload length; the record occupies rp__rec_size(len) bytes.
 *   FREE(lap) = lap << 32 (low half zero: no LIVE bit), where the lap of a
 *   position is pos >> log2(capacity). Every word of free space holds the
 *   FREE word of the lap that will next use it: a new file is all zero (lap
 *   0), and the consumer refills what it releases with FREE(lap + 1). So a
 *   producer can tell "my reservation, untouched" from "recovered and
 *   recycled while I was stalled" (see CRASH SAFETY).
 *
 * WHO WRITES WHAT
 *   creator   the identity block, once, ident word last (release store);
 *   producers tail (CAS, or plain store in single-producer mode), record
 *             headers and payloads inside their own reservation, the
 *             full/too-big counters;
 *   consumer  head, releasing, the consumer counters, the sleeping flag's
 *             reset, the FREE words of the space it releases (before moving
 *             head past it), and SKIP words over reservations it recovers.
 *             A release is: releasing = end; refill [head, end); head = end.
 *             A consumer that opens a ring with releasing ahead of head
 *             finishes that release first (the previous one died in it).
 *
 * MEMORY ORDERING (the whole argument, in one place)
 *   1. A producer's payload stores happen-before the consumer's payload loads:
 *      the commit is a CAS with release semantics on the header word, and the
 *      consumer loads the header word with acquire.
 *   2. The consumer's refilling of released space happens-before any producer
 *      writes into it: the consumer release-stores head after refilling, and a
 *      producer acquire-loads head before it trusts the space (a cached head
 *      is handed between threads with release/acquire too).
 *   3. Wake-ups are never lost: the producer does CAS(commit) then
 *      load(sleeping); the consumer does store(sleeping=1) then load(header);
 *      all four are seq_cst, so at least one side sees the other (Dekker).
 *   4. A producer writes its header by CAS(FREE(lap) -> BUSY) and touches
 *      its payload only if that CAS won. The consumer recovers a header-less
 *      reservation by CAS(FREE(lap) -> SKIP) on every word, in order; CASes
 *      on one word are totally ordered, so for each reservation exactly one
 *      side wins its header word, and a producer that lost never writes.
 *
 * CRASH SAFETY
 *   A producer killed inside a reservation leaves a BUSY header (owner pid
 *   known) or a FREE header (killed between the tail CAS and the header
 *   CAS). The consumer skips a BUSY record as soon as its owner is dead, and
 *   any stuck record after recover_ms; the skip is a CAS BUSY->SKIP, so a
 *   producer that was merely slow loses the race at its commit CAS and gets
 *   RP_EABANDONED: put never returns 0 for an event the consumer skipped.
 *   A header-less reservation is covered word by word with SKIP (rule 4); a
 *   slow producer then fails its header CAS, on this lap (SKIP) or after the
 *   space was recycled (FREE of a later lap), and gets RP_EABANDONED.
 *   Limit: a producer that is alive but stopped (SIGSTOP, debugger) for more
 *   than recover_ms in the middle of copying its payload resumes copying
 *   into space the consumer has recycled; its commit fails, but the bytes it
 *   wrote after recycling can damage a later event. The consumer cannot stop
 *   a thread's stores; keep recover_ms well above any expected stall.
 */
#ifndef RINGPUB_LAYOUT_H
#define RINGPUB_LAYOUT_H

#include <stdint.h>
#include <stddef.h>

#define RP_MAGIC 0x31515052u /* "RPQ1" in little-endian memory */
#define RP_LAYOUT_MAJOR 1u
#define RP_LAYOUT_MINOR 1u /* 1: releasing */
#define RP_HDR_SIZE 4096u
#define RP_BLOCK 128u

#define RP_REC_HDR 8u
#define RP_REC_LIVE (1u << 29)
#define RP_REC_SKIP (1u << 30)
#define RP_REC_BUSY (1u << 31)
#define RP_REC_LEN_MASK (RP_REC_LIVE - 1u)

/* Geometry limits enforced at create and attach. */
#define RP_MIN_CAPACITY ((uint64_t)1 << 12)
#define RP_MAX_CAPACITY ((uint64_t)1 << 40)
#define RP_MAX_EVENT_LIMIT ((uint32_t)1 << 28)

/* Flags in rp_ring_hdr.flags. */
#define RP_RING_SINGLE_PRODUCER 1u

#define RP__PAD(name, used) uint8_t name[RP_BLOCK - (used)]

/* The ring header. Each block is RP_BLOCK bytes so that words written by
 * different parties never share a cache line (or an adjacent-line pair). */
typedef struct rp_ring_hdr {
    /* block 0: identity, written once by the creator */
    uint64_t ident; /* RP_MAGIC | major << 32 | minor << 48; written last */
    uint32_t hdr_size;
    uint32_t flags;
    uint64_t capacity;
    uint32_t max_event;
    uint32_t creator_pid;
    uint64_t created_unix_ns;
    uint32_t recover_ms;
    uint32_t reserved0;
    RP__PAD(pad0, 48);
    /* block 1: producers */
    uint64_t tail;
    RP__PAD(pad1, 8);
    /* block 2: consumer position */
    uint64_t head;
    uint64_t releasing; /* head being moved to: set before the refill, so a
                           consumer killed mid-refill is finished on reopen */
    RP__PAD(pad2, 16);
    /* block 3: wake-up: the consumer sets sleeping; a producer that sees it
     * clears it, bumps wake_seq and FUTEX_WAKEs wake_seq. */
    uint32_t sleeping;
    uint32_t wake_seq;
    uint64_t wakeups;
    RP__PAD(pad3, 16);
    /* block 4: producer-side counters, touched only on rejections */
    uint64_t full;
    uint64_t toobig;
    RP__PAD(pad4, 16);
    /* block 5: consumer-side counters */
    uint64_t events_out;
    uint64_t bytes_out;
    uint64_t recovered;
    uint64_t recovered_bytes;
    uint64_t consumer_pid;
    RP__PAD(pad5, 40);
} rp_ring_hdr;

#ifdef __cplusplus
#define RP__STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define RP__STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

RP__STATIC_ASSERT(sizeof(rp_ring_hdr) == 6 * RP_BLOCK, "ring header blocks");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, tail) == 1 * RP_BLOCK, "tail block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, head) == 2 * RP_BLOCK, "head block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, sleeping) == 3 * RP_BLOCK, "wake block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, full) == 4 * RP_BLOCK, "counter block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, events_out) == 5 * RP_BLOCK, "consumer block");

static inline uint64_t rp__ident(void)
{
    return (uint64_t)RP_MAGIC | ((uint64_t)RP_LAYOUT_MAJOR << 32) |
           ((uint64_t)RP_LAYOUT_MINOR << 48);
}

/* Bytes a record with a payload of len bytes occupies in the data area. */
static inline uint64_t rp__rec_size(uint64_t len)
{
    return (RP_REC_HDR + len + 7u) & ~(uint64_t)7u;
}

/* The word every 8 bytes of free space hold, for a position in lap pos >> shift. */
static inline uint64_t rp__free_word(uint64_t pos, unsigned shift)
{
    return (uint64_t)(uint32_t)(pos >> shift) << 32;
}

static inline uint64_t rp__rec_word(uint32_t flags, uint32_t len, uint32_t pid)
{
    return (uint64_t)(RP_REC_LIVE | flags | len) | ((uint64_t)pid << 32);
}

#endif /* RINGPUB_LAYOUT_H */
