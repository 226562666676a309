/*
 * ringpub/layout.h — the shared-memory layout of one ringpub queue (layout 3).
 *
 * This file is the contract between producers (include/ringpub.h), the
 * consumer (ring/consumer.c) and any tool that reads a ring file. It is
 * included by ringpub.h; users never include it directly.
 *
 * FILE
 *   [ header: RP_HDR_SIZE bytes: 8 blocks, then RP_SLOTS producer slots ]
 *   [ data area: capacity bytes, a power of two ]
 *   The file is fully allocated at creation (posix_fallocate): a memory
 *   filesystem without room fails the open with RP_ENOSPC, never a SIGBUS
 *   later. The data area is mapped twice, back to back, so every record is
 *   contiguous in virtual memory even when it wraps: a record at position p
 *   lives at data + (p & (capacity - 1)) and may run into the second mapping.
 *
 * POSITIONS
 *   head and tail are 64-bit byte counts that only grow; the offset in the
 *   data area is pos & (capacity - 1). Differences are unsigned and
 *   wrap-safe. Invariants: head <= tail, tail - head <= capacity, both
 *   multiples of 8. Positions are never truncated in shared memory except in
 *   a slot's intent (39 bits; see SLOTS), which is compared only with
 *   positions inside [head, tail), a window < 2^36 bytes wide.
 *
 * RECORDS
 *   An 8-byte header word, then the payload, padded to a multiple of 8.
 *     0                    nothing written yet: a reservation just made
 *     CLAIM|len, tag       reserved by slot `tag & 0xffff`, payload being
 *                          written (stored right after the tail CAS, before
 *                          any payload byte: a 0 header means an untouched
 *                          reservation)
 *     COMMIT|len, tag      an event: the consumer may read it
 *     COMMIT|DONE|len, tag an event the consumer has released (delivered)
 *     SKIP|len, tag        padding: an aborted claim, the unused end of a
 *                          short commit, or a dead producer's reservation
 *   The record occupies rp__rec_size(len) bytes. tag = RP_REC_TAG | slot.
 *   All free space reads as zero: a new file is zero, and the consumer
 *   zero-fills everything it gives back before it moves head past it. The
 *   consumer reads header words only at record boundaries, which it learns
 *   from committed headers and from slot intents, never from payload bytes,
 *   so no payload can be taken for a header, whatever its bytes.
 *
 * SLOTS (who is writing, and the proof that a writer is gone)
 *   Every producer thread holds one of RP_SLOTS slots. It holds the slot by
 *   an OFD write lock on byte RP_LOCK_SLOT0 + i of the ring file, taken
 *   with its handle's own open file description; the kernel drops the lock
 *   when the last descriptor of that description closes, i.e. when every
 *   process that could write through it is gone (a forked child reopens the
 *   file, so it gets a description, and locks, of its own). This is the
 *   only proof of death the consumer accepts: a free lock (F_OFD_GETLK
 *   through the consumer's own description), then taken by the consumer
 *   itself before it touches the slot's reservation. PIDs are never probed:
 *   they mean nothing across PID namespaces. There is no timer either: a
 *   live producer's reservation is never taken away from it.
 *   A slot has RP_SLOT_INTENTS intent words, one per claim its thread holds
 *   open (a put uses the first); each says which reservation it is making:
 *     OPEN | (need / 8) << 36 | (pos / 8) mod 2^36        (0: none)
 *   written (release) before the tail CAS of each attempt, and left in place
 *   until that reservation is committed or aborted: while a record's header
 *   is 0, its owner's intent names it, with its exact size.
 *
 * WHO WRITES WHAT
 *   creator   the identity block, once, ident word last (release store);
 *   producers tail (CAS, or plain store in single-producer mode; also to go
 *             around an image), their own slot's intent, record headers
 *             and payloads inside their own reservation (a padding
 *             reservation before an image gets a SKIP header), full/toobig/noslot counters, the sleeping word's
 *             reset (FUTEX_WAKE_OP, in the kernel);
 *   consumer  head, releasing, the pin table, the DONE bit of committed
 *             headers, the zero fill of released space and of pinned
 *             records once final, SKIP headers over dead producers'
 *             reservations and the intents of dead slots (both only while
 *             holding the dead slot's lock), a SKIP header over bytes it
 *             quarantined (ones that did not parse, after the caller saved
 *             them), the consumer counters and the stall report,
 *             sleeping = 1.
 *             Releasing is: releasing = end; zero-fill [head, end);
 *             head = end. A consumer that opens a ring with releasing ahead
 *             of head finishes that release first.
 *
 * THE CONSUMER'S WALK
 *   From its read position the consumer reads one header per record:
 *   COMMIT: deliver; SKIP or DONE: step over; CLAIM: a reservation in
 *   progress of known size and owner: if the owner's slot lock is free the
 *   consumer takes it, checks the header again and writes SKIP over it; if
 *   the owner lives it is a stalled producer ("hole", below). 0: a
 *   reservation whose owner has not stored its CLAIM header yet.
 *   For a 0 header at p it reads the intents that name p (its claimants) and
 *   reads the header again. The owner is always a claimant (below), so:
 *     - one claimant, alive: a stalled producer. Its size is known; the
 *       consumer steps past it and delivers what follows ("hole"), and
 *       delivers the hole's event when it commits. When head reaches the
 *       hole, the consumer pins it and head moves on (PINS): a stall costs
 *       the ring the space it holds until it commits, aborts or dies
 *       (ringctl stat and the daemon's metrics show the stall, its age and
 *       the bytes pinned);
 *     - several claimants, any alive: a loser of a tail CAS has not yet
 *       rewritten its intent; wait;
 *     - all claimants dead: the consumer takes their locks, checks again,
 *       and covers the reservation with a SKIP header. Its end is the
 *       smallest claimant end e with a boundary at e (e == tail, a non-zero
 *       word at e, or an intent naming e): a dead owner with a 0 header
 *       wrote nothing (the CLAIM header precedes every payload store), so
 *       inside its reservation every word is zero, and no intent names a
 *       position there, since intents only name tail values. So a dead
 *       loser's stale intent cannot mislead it. (tools/model/ringmodel.py
 *       found the version without the CLAIM header wrong: a dead owner's
 *       payload made a false boundary.)
 *   Release marks each delivered event DONE, in any order, then moves head
 *   over every DONE or SKIP record and image, and over a stalled hole by
 *   pinning it, up to the first that is none of these. (A
 *   release that starts at head with no hole pending moves head to its end
 *   directly: every record in it was handed out or is padding.) A consumer
 *   that restarts walks from head and never delivers a DONE event again.
 *   Timing only, never correctness: a reservation in progress is judged
 *   (owner's lock tested) only after it stayed so for 1 ms, since a put
 *   takes nanoseconds; and after stopping at one the consumer does not look
 *   at the ring for 20 us (ring/consumer_internal.h says why).
 *
 * PINS (a stalled record head went past)
 *   A pin entry names a live reservation [P, P + s) behind head. Its bytes
 *   keep their place in the data area; on every later lap the same place,
 *   [P + k * capacity, + s) for k >= 1, is an "image": the tail goes around
 *   it, nobody reserves, reads or zeroes there. Up to RP_PINS at once; with
 *   the table full, head waits at the next stalled record (as without pins).
 *   Consumer: it publishes the entry (seqlock: state made even, fields,
 *   state odd with release), then moves head past the record. It steps over
 *   an image in its walk and in release as over padding, and its zero fill
 *   leaves out the bytes of every live pin. When the record is final
 *   (committed and released, aborted, or its owner dead and the record
 *   covered with SKIP under the owner's lock), it zero-fills [P, P + s),
 *   then retires the pin: until = head + capacity (release). From then on
 *   images at or beyond until are ordinary free space; images below it are
 *   still gone around, and the entry is freed once head is past the last.
 *   Producers look at pins only in the slow path: a producer bounds its
 *   reservation by head + capacity and by the first image that ends after
 *   its tail snapshot; q->cached_head caches bound - capacity, so the fast
 *   path is one compare as before. A reservation that would overlap an
 *   image reserves [t, image) as padding (intent, tail CAS, SKIP header,
 *   like an aborted claim), then moves the tail from the image's start to
 *   its end by CAS (it writes nothing there, so it needs no intent).
 *   Why nobody writes into an image, nor a stale producer jumps a wrong one:
 *     - a pin is made only for a record at P >= head, so any bound computed
 *       from an older head is <= P + capacity, the first image: producers
 *       that have not seen the pin never reach an image (rule 6);
 *     - a retiring pin sets until = head_r + capacity; a producer that read
 *       the entry before that saw a head <= head_r, so it only goes around
 *       images below until, which everyone still goes around;
 *     - the tail is never inside an image (it moves from its start to its
 *       end in one CAS), so a record never overlaps one; the consumer reads
 *       headers only outside images.
 *   A consumer restarted with a release in progress keeps the pins behind
 *   the head being released; a live pin not behind head (the consumer died
 *   between publishing it and moving head) is cleared: no producer can have
 *   reached its images. A pinned record that the consumer finds 0 with no
 *   claimant was zeroed by a consumer that died before retiring it.
 *
 * MEMORY ORDERING (C11 terms; the whole argument, in one place)
 *   1. Payload -> consumer: the producer's commit is a release store of the
 *      header word; the consumer loads header words with
 *      acquire (seq_cst in rp__ready). It reads the payload only after it
 *      has seen COMMIT.
 *   2. Intent -> consumer: the intent is stored (release) before the tail
 *      CAS (seq_cst); the consumer loads tail (acquire) before it looks at a
 *      header below it, so every reservation below the tail it saw has its
 *      intent visible. An owner overwrites its intent only after its commit
 *      store, with a release store; the consumer loads intents with acquire
 *      and then reloads the header: if it saw the new intent it sees the
 *      commit. Hence: header still 0 after reading intents => the owner is
 *      among the claimants.
 *   3. Zero fill -> producers: the consumer zero-fills, then release-stores
 *      head; a producer acquire-loads head (or a cached head published with
 *      release/acquire between its threads) before it uses the space.
 *   4. Wake-ups are not lost: the producer moves the tail (CAS, or the sole
 *      producer's store: seq_cst), commits (release), then does
 *      load(sleeping, seq_cst); the consumer does store(sleeping = 1,
 *      seq_cst), then load(tail, seq_cst), then the header. In the single
 *      total order S of seq_cst operations, either
 *        - the consumer's tail load precedes the producer's tail move: then
 *          so does its sleeping store, and the producer's sleeping load,
 *          after its tail move, follows both in S and reads 1 (or the 0 of
 *          a wake that already woke the consumer): the producer wakes it; or
 *        - the consumer's tail load sees the moved tail: the record is in
 *          flight below the tail. If its commit is not visible yet, the
 *          consumer sleeps at most STUCK_POLL_MS (10 ms: rp_consumer_wait,
 *          rp_consumer_recheck_ms for an external loop) and looks again,
 *          as it does for a stalled producer; a wake-up only makes it sooner.
 *      So the commit needs no full fence (it was a seq_cst store, an xchg on
 *      x86, until layout 3.2): the fence that orders the producer is its
 *      tail move, which is a locked instruction anyway. The cost is a rare
 *      wake-up that comes up to 10 ms late (a commit still in its CPU's
 *      store buffer at the instant the consumer arms); never a lost event.
 *      The wake itself is one FUTEX_WAKE_OP system call that sets sleeping
 *      to 0 and wakes the waiter atomically in the kernel: a producer killed
 *      before it leaves sleeping at 1 for the next producer; none can leave
 *      it at 0 with the consumer still asleep.
 *   5. Recovery: the consumer writes into a reservation only while it holds
 *      the locks of all its claimants, taken after their owners died; the
 *      owner is among them (2), so no live thread can write there.
 *   6. Pins: the consumer publishes an entry (state store, release) before
 *      the head store that moves past its record, and retires it (until,
 *      release) after zeroing its bytes; a producer loads head (acquire)
 *      before the entries (state acquire, fields, acquire fence, state
 *      again). So a producer that saw a head past a pinned record sees its
 *      pin, and one that sees the pin retired sees its bytes zero.
 *
 * CRASH SAFETY
 *   A producer killed at any instruction leaves: nothing (before the CAS),
 *   a 0 header whose intent names it, or a CLAIM header (both recovered as
 *   above), or a COMMIT/SKIP header (done). A consumer killed at any instruction
 *   leaves DONE marks (kept), a release in progress (finished on reopen),
 *   or a SKIP over a dead reservation (final). A producer that stalls for
 *   any time at any instruction keeps its reservation; nothing it wrote and
 *   nothing another producer wrote is ever taken away or reused under it.
 *   Limit: a process that closes the ring's file descriptor behind the
 *   library's back (a close-all-fds loop) while it still writes drops the
 *   proof; rp_queue_close() is the way to stop producing.
 */
#ifndef RINGPUB_LAYOUT_H
#define RINGPUB_LAYOUT_H

#include <stdint.h>
#include <stddef.h>

#define RP_MAGIC 0x31515052u /* "RPQ1" in little-endian memory */
#define RP_LAYOUT_MAJOR 3u
#define RP_LAYOUT_MINOR 2u /* 1: the sink report in block 5 (zero padding before);
                              2: rp_slot.full (readers add it to rp_ring_hdr.full) */
#define RP_BLOCK 128u
#define RP_SLOTS 256u
#define RP_SLOT_SIZE 128u
#define RP_SLOT_INTENTS 8u /* claims one thread may hold open at once */
#define RP_PINS 8u         /* stalled records the tail can go around at once */
#define RP_SLOT_OFF 4096u
#define RP_HDR_SIZE (RP_SLOT_OFF + RP_SLOTS * RP_SLOT_SIZE) /* 36 KiB: page-aligned */

#define RP_REC_HDR 8u
#define RP_REC_COMMIT (1u << 31)
#define RP_REC_SKIP (1u << 30)
#define RP_REC_DONE (1u << 29)
#define RP_REC_CLAIM (1u << 28)
#define RP_REC_LEN_MASK ((1u << 28) - 1u)
#define RP_REC_TAG 0x52500000u /* high half of every header word: tag | slot */

/* OFD lock bytes of the ring file: the consumer role, the sole-producer
 * role, then one per producer slot. */
#define RP_LOCK_CONSUMER 0
#define RP_LOCK_SOLE 1
#define RP_LOCK_SLOT0 64

/* Slot intents: OPEN | need/8 << 36 | (pos/8 mod 2^36). */
#define RP_INTENT_OPEN ((uint64_t)1 << 63)
#define RP_INTENT_POS_BITS 36

/* Geometry limits enforced at create and attach. */
#define RP_MIN_CAPACITY ((uint64_t)1 << 12)
#define RP_MAX_CAPACITY ((uint64_t)1 << 36)
#define RP_MAX_EVENT_LIMIT ((uint32_t)1 << 26)

/* Flags in rp_ring_hdr.flags. */
#define RP_RING_SINGLE_PRODUCER 1u

#define RP__PAD(name, used) uint8_t name[RP_BLOCK - (used)]

/* A pinned record (see PINS). state = generation << 1 | 1 while the entry
 * is in use, even while the consumer rewrites it; pos, size are written
 * only while it is not in use, until once more (retiring) while it is. */
typedef struct rp_pin {
    uint64_t state;
    uint64_t pos;   /* the stalled record's position */
    uint64_t size;  /* its size in bytes */
    uint64_t until; /* its images start below this; UINT64_MAX while it is live */
} rp_pin;

/* The ring header. Each block is RP_BLOCK bytes so that words written by
 * different parties never share a cache line (or an adjacent-line pair). */
typedef struct rp_ring_hdr {
    /* block 0: identity, written once by the creator */
    uint64_t ident; /* RP_MAGIC | major << 32 | minor << 48; written last */
    uint32_t hdr_size;
    uint32_t flags;
    uint64_t capacity;
    uint32_t max_event;
    uint32_t creator_pid; /* in the creator's PID namespace: for display */
    uint64_t created_unix_ns;
    uint32_t nslots;
    uint32_t reserved0;
    RP__PAD(pad0, 48);
    /* block 1: producers */
    uint64_t tail;
    RP__PAD(pad1, 8);
    /* block 2: consumer position */
    uint64_t head;
    uint64_t releasing; /* head being moved to: set before the zero fill, so a
                           consumer killed mid-fill is finished on reopen */
    RP__PAD(pad2, 16);
    /* block 3: wake-up. The consumer sets sleeping = 1 and FUTEX_WAITs on
     * it; a producer that sees 1 calls FUTEX_WAKE_OP, which sets it to 0
     * and wakes the consumer in one step (rule 4). */
    uint32_t sleeping;
    uint32_t wake_spare; /* FUTEX_WAKE_OP's first address: nobody waits there */
    uint64_t wakeups;
    RP__PAD(pad3, 16);
    /* block 4: producer-side counters, touched only on rejections */
    uint64_t full;   /* layout 3.1 producers; since 3.2 each slot counts its own */
    uint64_t toobig;
    uint64_t noslot;
    RP__PAD(pad4, 24);
    /* block 5: consumer-side counters and the stall report */
    uint64_t events_out;
    uint64_t bytes_out;
    uint64_t recovered;
    uint64_t recovered_bytes;
    uint64_t consumer_pid;
    uint64_t stalled;          /* live reservations the consumer waits for */
    uint64_t stalled_since_ns; /* CLOCK_REALTIME of the oldest, or 0 */
    uint64_t stalled_pos;      /* its position */
    /* the consumer's report on where it ships events (rp_sink_report), for
     * ringctl; informative only: nothing in the ring depends on it */
    uint64_t sink_state;       /* RP_SINK_* */
    uint64_t sink_status;      /* the last answer's status (HTTP), 0 if none */
    uint64_t sink_backoff_ms;  /* the current wait between probes */
    uint64_t sink_next_unix_ms; /* CLOCK_REALTIME of the next probe, 0 if none */
    uint64_t sink_probes;      /* probes sent while failing, since start */
    RP__PAD(pad5, 104);
    /* blocks 6-7: pinned records (see PINS), written by the consumer only */
    rp_pin pins[RP_PINS];
} rp_ring_hdr;

/* One producer slot (RP_SLOT_SIZE bytes, its own cache-line pair). */
typedef struct rp_slot {
    uint64_t intent[RP_SLOT_INTENTS]; /* written by the slot's thread; see SLOTS */
    uint32_t pid;    /* for display: the owner's pid in its own namespace */
    uint32_t tid;
    uint64_t full;   /* puts this slot's threads were refused as full (minor 2):
                        one writer, so a plain add on the slot's own line, not
                        a locked add on a line every producer writes */
    uint8_t pad[RP_SLOT_SIZE - 8 * RP_SLOT_INTENTS - 16];
} rp_slot;

#ifdef __cplusplus
#define RP__STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define RP__STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

RP__STATIC_ASSERT(sizeof(rp_ring_hdr) == 8 * RP_BLOCK, "ring header blocks");
RP__STATIC_ASSERT(sizeof(rp_ring_hdr) <= RP_SLOT_OFF, "slots after the header blocks");
RP__STATIC_ASSERT(sizeof(rp_slot) == RP_SLOT_SIZE, "slot size");
RP__STATIC_ASSERT(RP_HDR_SIZE % 4096 == 0, "data area page-aligned");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, tail) == 1 * RP_BLOCK, "tail block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, head) == 2 * RP_BLOCK, "head block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, sleeping) == 3 * RP_BLOCK, "wake block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, full) == 4 * RP_BLOCK, "counter block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, events_out) == 5 * RP_BLOCK, "consumer block");
RP__STATIC_ASSERT(offsetof(rp_ring_hdr, pins) == 6 * RP_BLOCK, "pin blocks");

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

static inline uint64_t rp__rec_word(uint32_t flags, uint32_t len, uint32_t slot)
{
    return (uint64_t)(flags | len) | ((uint64_t)(RP_REC_TAG | (slot & 0xffffu)) << 32);
}

/* 1 if header word w has the flags of a layout-2 record (CLAIM, COMMIT,
 * COMMIT|DONE or SKIP), our tag and a slot in range. */
static inline int rp__rec_parses(uint64_t w)
{
    uint32_t f = (uint32_t)w & ~RP_REC_LEN_MASK, hi = (uint32_t)(w >> 32);
    return (f == RP_REC_COMMIT || f == (RP_REC_COMMIT | RP_REC_DONE) || f == RP_REC_SKIP || f == RP_REC_CLAIM) &&
           (hi & 0xffff0000u) == RP_REC_TAG && (hi & 0xffffu) < RP_SLOTS;
}

/* 1 if no intent of slot s is set: no reservation can be named by it. */
static inline int rp__slot_idle(const rp_slot *s)
{
    uint64_t any = 0;
    for (unsigned k = 0; k < RP_SLOT_INTENTS; k++)
        any |= __atomic_load_n(&s->intent[k], __ATOMIC_ACQUIRE);
    return any == 0;
}

static inline uint64_t rp__intent(uint64_t pos, uint64_t need)
{
    const uint64_t pmask = ((uint64_t)1 << RP_INTENT_POS_BITS) - 1;
    return RP_INTENT_OPEN | (need / 8) << RP_INTENT_POS_BITS | ((pos / 8) & pmask);
}

/* 1 if intent w names position pos; *need gets the reservation's size. */
static inline int rp__intent_names(uint64_t w, uint64_t pos, uint64_t *need)
{
    const uint64_t pmask = ((uint64_t)1 << RP_INTENT_POS_BITS) - 1;
    if (!(w & RP_INTENT_OPEN) || (w & pmask) != ((pos / 8) & pmask))
        return 0;
    *need = ((w & ~RP_INTENT_OPEN) >> RP_INTENT_POS_BITS) * 8;
    return 1;
}

/* rp_pin.until of a live pin: every image is avoided. */
#define RP_PIN_LIVE UINT64_MAX

/* The first image of a pinned record (pos, size) that ends after position
 * t and is still avoided (below until): its start, or UINT64_MAX. Values
 * come from shared memory: an entry that does not parse has none. */
static inline uint64_t rp__pin_image(uint64_t pos, uint64_t size, uint64_t until, uint64_t cap, uint64_t t)
{
    int64_t d = (int64_t)(t - pos);
    uint64_t img;
    if (((pos | size) & 7u) || size < RP_REC_HDR || size >= cap)
        return UINT64_MAX;
    img = pos + (d < (int64_t)size ? 1 : ((uint64_t)d - size) / cap + 1) * cap;
    return until == RP_PIN_LIVE || (int64_t)(img - until) < 0 ? img : UINT64_MAX;
}

/* Producers: the nearest avoided image that ends after t, over every pin
 * in use (UINT64_MAX: none); *size gets its size. Each entry is read as a
 * seqlock (layout.h, PINS); a retry is bounded, since only a consumer that
 * rewrites an entry changes its state. */
static inline uint64_t rp__pins_next(rp_ring_hdr *h, uint64_t cap, uint64_t t, uint64_t *size)
{
    uint64_t best = UINT64_MAX;
    for (unsigned i = 0; i < RP_PINS; i++) {
        rp_pin *e = &h->pins[i];
        uint64_t s1, s2, pos, sz, until, img;
        unsigned tries = 0;
        do {
            s1 = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
            pos = __atomic_load_n(&e->pos, __ATOMIC_RELAXED);
            sz = __atomic_load_n(&e->size, __ATOMIC_RELAXED);
            until = __atomic_load_n(&e->until, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            s2 = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
        } while (s1 != s2 && ++tries < 64);
        if (!(s1 & 1u))
            continue;
        img = rp__pin_image(pos, sz, until, cap, t);
        if (img != UINT64_MAX && (best == UINT64_MAX || (int64_t)(img - best) < 0)) {
            best = img;
            *size = sz;
        }
    }
    return best;
}

#endif /* RINGPUB_LAYOUT_H */
