/*
 * ringpub.h — put events into a shared-memory ring, lock-free, from any
 * number of threads and processes. Header-only; needs nothing but libc.
 * Compiles as C17 and as C++17 (GCC or Clang: it uses the __atomic builtins).
 *
 * EXAMPLE
 *
 *     #include <ringpub.h>
 *
 *     rp_queue *q;
 *     int rc = rp_queue_open(&q, "main", NULL);       // create or attach
 *     if (rc) { fprintf(stderr, "ringpub: %s\n", rp_strerror(rc)); exit(1); }
 *     const char ev[] = "{\"event_type\":\"click\"}";
 *     rc = rp_queue_put(q, ev, sizeof ev - 1);
 *     if (rc == RP_EFULL)   { ... shed or retry later: put never waits ... }
 *     if (rc == RP_ETOOBIG) { ... event over the queue's max size ... }
 *     rp_queue_close(q);
 *
 * WHAT IT DOES
 *   rp_queue_put() reserves space with one CAS on the ring's tail, copies the
 *   event and publishes it with one CAS on the record header. No lock, no
 *   syscall — except FUTEX_WAKE when the consumer is asleep, which it only is
 *   when it has drained everything. The ring lives in RINGPUB_DIR (default
 *   /dev/shm), one file per queue; the layout and its memory-ordering
 *   argument are in ringpub/layout.h.
 *
 * Include it before any system header (it defines _GNU_SOURCE), or build
 * with -D_GNU_SOURCE.
 *
 * CONFIGURATION MACROS (define before including)
 *   RP_TEST_HOOK(where)   called at RP_HOOK_* points inside a put; tests
 *                         use it to stop a producer mid-reservation.
 *
 * THREADS AND PROCESSES
 *   One rp_queue handle may be shared by any number of threads. After fork()
 *   the child may keep using an inherited handle (its records carry the
 *   child's pid); a single-producer handle refuses that with RP_EBUSY.
 */
#ifndef RINGPUB_H
#define RINGPUB_H

/* The ring needs Linux interfaces (OFD locks, futexes, MAP_POPULATE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <features.h>
#ifndef __USE_GNU
#error "ringpub.h needs _GNU_SOURCE: include it before any system header, or compile with -D_GNU_SOURCE"
#endif

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ringpub/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: every function returns 0 or one of these (all negative). */
#define RP_EFULL      (-1)  /* no room in the ring now; put never waits */
#define RP_ETOOBIG    (-2)  /* event longer than the queue's max event size */
#define RP_EINVAL     (-3)  /* bad argument: name, length, option, order */
#define RP_ENOMEM     (-4)  /* out of memory or address space */
#define RP_EIO        (-5)  /* a system call failed (open, mmap, ...) */
#define RP_EPERM      (-6)  /* permission denied, or an unsafe ring file */
#define RP_ENOENT     (-7)  /* no such queue (with RP_OPT_NO_CREATE) */
#define RP_EBUSY      (-8)  /* the consumer or sole-producer role is taken */
#define RP_ECORRUPT   (-9)  /* the ring file is not a valid ring */
#define RP_EVERSION   (-10) /* the ring has a layout version we cannot read */
#define RP_EABANDONED (-11) /* reservation recovered by the consumer: not sent */
#define RP_ETIMEDOUT  (-12) /* nothing arrived before the timeout */
#define RP_EAGAIN     (-13) /* nothing to do now; try again */

#define RP_NAME_MAX 64
#define RP_DEFAULT_CAPACITY ((uint64_t)64 << 20) /* 64 MiB data area */
#define RP_DEFAULT_MAX_EVENT 102400u             /* as baseplate.py */
#define RP_DEFAULT_RECOVER_MS 1000u

/* rp_queue_opts.flags */
#define RP_OPT_SINGLE_PRODUCER 1u /* when creating: one producer, cheaper path */
#define RP_OPT_NO_CREATE       2u /* attach only; RP_ENOENT if absent */
#define RP_OPT_NO_POPULATE     4u /* do not pre-fault the mapping */
#define RP_OPT_GROUP           8u /* share the ring with group `gid` (see below) */

/* Options for opening a queue. Zero-initialise, then set what you need; a
 * zero field means the default. Geometry fields apply only when this call
 * creates the ring: an attacher reads the geometry from the ring. */
typedef struct rp_queue_opts {
    uint64_t capacity;    /* data area bytes, rounded up to a power of two; 64 MiB */
    uint32_t max_event;   /* largest event in bytes; 102400 */
    uint32_t recover_ms;  /* consumer skips a stuck reservation after this; 1000 */
    uint32_t mode;        /* file mode of a new ring; 0600, or 0660 with RP_OPT_GROUP;
                             any bit for others is refused */
    uint32_t flags;       /* RP_OPT_* */
    const char *dir;      /* ring directory; NULL: $RINGPUB_DIR, else /dev/shm */
    uint32_t gid;         /* with RP_OPT_GROUP: a new ring gets this group, and a
                             ring owned by another user is accepted if it has this
                             group with read-write access for it */
} rp_queue_opts;

/* A reservation made by rp_queue_claim(): write up to len bytes at data. */
typedef struct rp_claim {
    void *data;
    size_t len;
    uint64_t pos;   /* internal */
    uint64_t word;  /* internal */
} rp_claim;

/* Points inside a put where RP_TEST_HOOK(where) is called. */
#define RP_HOOK_RESERVED 1 /* tail advanced, header not yet written */
#define RP_HOOK_CLAIMED  2 /* header says BUSY, payload not written */
#define RP_HOOK_COPIED   3 /* payload written, not yet committed */
#ifndef RP_TEST_HOOK
#define RP_TEST_HOOK(where) ((void)0)
#endif

#include "ringpub/attach.h"

/* A producer's handle. Opaque: use the functions below. */
typedef struct rp_queue {
    rp__map m;
    uint64_t cached_head;      /* last head seen; shared by threads (acq/rel) */
    const unsigned *fork_gen;  /* the opener's fork generation counter */
    unsigned gen;
    uint32_t pid;
    int sp_lock_fd;
} rp_queue;

/* rp_strerror — a short English description of an RP_E* code (or "ok"). */
static inline const char *rp_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case RP_EFULL: return "queue full";
    case RP_ETOOBIG: return "event too large for this queue";
    case RP_EINVAL: return "invalid argument";
    case RP_ENOMEM: return "out of memory";
    case RP_EIO: return "system call failed";
    case RP_EPERM: return "permission denied or unsafe ring file";
    case RP_ENOENT: return "no such queue";
    case RP_EBUSY: return "role already taken by another process";
    case RP_ECORRUPT: return "ring is corrupt";
    case RP_EVERSION: return "unsupported ring layout version";
    case RP_EABANDONED: return "reservation was recovered by the consumer; event not sent";
    case RP_ETIMEDOUT: return "timed out";
    case RP_EAGAIN: return "try again";
    default: return "unknown error";
    }
}

/* Fork tracking: each translation unit counts forks it has seen; a handle
 * remembers the counter of the unit that opened it. */
static unsigned rp__fork_gen_tu;
static pthread_once_t rp__fork_once = PTHREAD_ONCE_INIT;
static inline void rp__on_fork_child(void) { rp__fork_gen_tu++; }
static inline void rp__fork_register(void) { pthread_atfork(NULL, NULL, rp__on_fork_child); }

/* Take the sole-producer role: an OFD lock on byte 1 of the ring file
 * (byte 0 is the consumer's), released by the kernel when we die. */
static inline int rp__sp_lock(rp_queue *q)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 1;
    fl.l_len = 1;
    return fcntl(q->m.fd, F_OFD_SETLK, &fl) == 0 ? 0 : RP_EBUSY;
}

/*
 * rp_queue_open_why — as rp_queue_open(), and on failure writes one line
 * saying why (file, field, value) into why[whylen].
 */
static inline int rp_queue_open_why(rp_queue **qp, const char *name, const rp_queue_opts *opts,
                                    char *why, size_t whylen)
{
    rp_queue *q;
    int rc;

    if (!qp)
        return RP_EINVAL;
    *qp = NULL;
    q = (rp_queue *)calloc(1, sizeof *q);
    if (!q)
        return RP_ENOMEM;
    rc = rp__attach(&q->m, name, opts, why, whylen);
    if (rc == 0 && (q->m.flags & RP_RING_SINGLE_PRODUCER) && rp__sp_lock(q) != 0) {
        snprintf(why, whylen, "single-producer ring %s already has a producer", name);
        rc = RP_EBUSY;
    }
    if (rc) {
        rp__unmap(&q->m);
        free(q);
        return rc;
    }
    pthread_once(&rp__fork_once, rp__fork_register);
    q->fork_gen = &rp__fork_gen_tu;
    q->gen = rp__fork_gen_tu;
    q->pid = (uint32_t)getpid();
    q->cached_head = __atomic_load_n(&q->m.hdr->head, __ATOMIC_ACQUIRE);
    *qp = q;
    return 0;
}

/*
 * rp_queue_open — attach to the ring of queue `name`, creating it if absent.
 *
 * name: 1-64 chars of [A-Za-z0-9._-], not starting with '.'.
 * opts: NULL for defaults; see rp_queue_opts. The creator sets the geometry.
 * The ring file is created with O_EXCL|O_NOFOLLOW under a temporary name and
 * linked into place fully built; an existing file must be a regular file
 * that is not world-writable, with a valid header.
 * Returns 0 and sets *q, or RP_EINVAL, RP_EPERM, RP_ENOENT, RP_EBUSY,
 * RP_ECORRUPT, RP_EVERSION, RP_ENOMEM, RP_EIO.
 */
static inline int rp_queue_open(rp_queue **q, const char *name, const rp_queue_opts *opts)
{
    char why[256];
    return rp_queue_open_why(q, name, opts, why, sizeof why);
}

/* rp_queue_close — unmap and free a handle. Pending claims must be
 * committed or aborted first. NULL is allowed. */
static inline void rp_queue_close(rp_queue *q)
{
    if (!q)
        return;
    rp__unmap(&q->m);
    free(q);
}

/* rp_queue_max_event — the largest event this queue accepts, in bytes. */
static inline size_t rp_queue_max_event(const rp_queue *q) { return q->m.max_event; }

/* The pid stamped into records; refreshed in a forked child. */
static inline int rp__pid(rp_queue *q, uint32_t *pid)
{
    unsigned g = __atomic_load_n(q->fork_gen, __ATOMIC_RELAXED);
    if (__builtin_expect(g != __atomic_load_n(&q->gen, __ATOMIC_RELAXED), 0)) {
        if (q->m.flags & RP_RING_SINGLE_PRODUCER)
            return RP_EBUSY;
        __atomic_store_n(&q->pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
        __atomic_store_n(&q->gen, g, __ATOMIC_RELAXED);
    }
    *pid = __atomic_load_n(&q->pid, __ATOMIC_RELAXED);
    return 0;
}

/* Slow path of a reservation: the cached head says "full"; look at the real
 * head. Returns 0 (room: retry), RP_EFULL, RP_ECORRUPT, or 1 (our tail
 * snapshot was stale: reloaded, retry). */
static inline int rp__refresh_head(rp_queue *q, uint64_t *t, uint64_t need)
{
    rp_ring_hdr *h = q->m.hdr;
    uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
    if ((int64_t)(head - *t) > 0) {
        uint64_t now = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
        if (now == *t)
            return RP_ECORRUPT; /* not stale: the tail is behind the head */
        *t = now;
        return 1;
    }
    if (!rp__positions_ok(head, *t, q->m.capacity))
        return RP_ECORRUPT;
    __atomic_store_n(&q->cached_head, head, __ATOMIC_RELEASE);
    if (*t - head > q->m.capacity - need) {
        __atomic_fetch_add(&h->full, 1, __ATOMIC_RELAXED);
        return RP_EFULL;
    }
    return 0;
}

/* Reserve need bytes; on success *pos is the record's position. Many
 * producers: CAS on tail (exact "full"). Single producer: plain store. */
static inline int rp__reserve(rp_queue *q, uint64_t need, uint64_t *pos)
{
    rp_ring_hdr *h = q->m.hdr;
    int single = (q->m.flags & RP_RING_SINGLE_PRODUCER) != 0;
    uint64_t t = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);

    for (;;) {
        uint64_t ch = __atomic_load_n(&q->cached_head, __ATOMIC_ACQUIRE);
        if (__builtin_expect(t & 7u, 0))
            return RP_ECORRUPT; /* a record header must be 8-byte aligned */
        if (__builtin_expect(t - ch > q->m.capacity - need, 0)) {
            int rc = rp__refresh_head(q, &t, need);
            if (rc < 0)
                return rc;
            continue;
        }
        if (single) {
            __atomic_store_n(&h->tail, t + need, __ATOMIC_RELEASE);
            break;
        }
        if (__atomic_compare_exchange_n(&h->tail, &t, t + need, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            break;
    }
    *pos = t;
    return 0;
}

/* Wake the consumer if, and only if, it went to sleep. */
static inline void rp__wake(rp_ring_hdr *h)
{
    if (__builtin_expect(__atomic_load_n(&h->sleeping, __ATOMIC_SEQ_CST) != 0, 0) &&
        __atomic_exchange_n(&h->sleeping, 0, __ATOMIC_SEQ_CST) != 0) {
        __atomic_fetch_add(&h->wake_seq, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&h->wakeups, 1, __ATOMIC_RELAXED);
        syscall(SYS_futex, &h->wake_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

/*
 * rp_queue_claim — reserve room for an event of up to len bytes and return
 * where to write it (c->data, c->len). Finish with rp_queue_commit() or
 * rp_queue_abort(), promptly: a claim held longer than the ring's recovery
 * time may be recovered by the consumer (commit then says RP_EABANDONED).
 * Returns 0, RP_EFULL, RP_ETOOBIG, RP_EBUSY (single-producer handle used
 * after fork), RP_ECORRUPT (the ring's positions are invalid), RP_EABANDONED
 * (this thread stalled past the recovery time between reserving and
 * claiming; nothing was enqueued).
 */
static inline int rp_queue_claim(rp_queue *q, size_t len, rp_claim *c)
{
    uint64_t pos, word, free_w, *hw;
    uint32_t pid;
    int rc;

    if (__builtin_expect(len > q->m.max_event, 0)) {
        __atomic_fetch_add(&q->m.hdr->toobig, 1, __ATOMIC_RELAXED);
        return RP_ETOOBIG;
    }
    if ((rc = rp__pid(q, &pid)) != 0 || (rc = rp__reserve(q, rp__rec_size(len), &pos)) != 0)
        return rc;
    RP_TEST_HOOK(RP_HOOK_RESERVED);
    hw = (uint64_t *)(void *)(q->m.data + (pos & q->m.mask));
    word = rp__rec_word(RP_REC_BUSY, (uint32_t)len, pid);
    /* CAS, not a store: if we stalled here past recover_ms, the consumer
     * has covered our space with SKIP, or even recycled it (layout.h, 4). */
    free_w = rp__free_word(pos, q->m.shift);
    if (!__atomic_compare_exchange_n(hw, &free_w, word, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return RP_EABANDONED;
    RP_TEST_HOOK(RP_HOOK_CLAIMED);
    c->data = hw + 1;
    c->len = len;
    c->pos = pos;
    c->word = word;
    return 0;
}

/*
 * rp_queue_commit — publish the first len bytes (len <= c->len) of a claim.
 * The rest of the claimed space is turned into padding the consumer skips.
 * Returns 0, RP_EINVAL (len > c->len), or RP_EABANDONED (the consumer gave
 * up on this claim: the event was NOT enqueued).
 */
static inline int rp_queue_commit(rp_queue *q, rp_claim *c, size_t len)
{
    uint64_t *hw = (uint64_t *)c->data - 1;
    uint64_t expect = c->word, used = rp__rec_size(len), room = rp__rec_size(c->len);
    uint32_t pid = (uint32_t)(c->word >> 32);

    if (len > c->len)
        return RP_EINVAL;
    RP_TEST_HOOK(RP_HOOK_COPIED);
    if (used < room) /* padding first: the consumer reaches it only after our commit */
        __atomic_store_n((uint64_t *)(void *)((uint8_t *)hw + used),
                         rp__rec_word(RP_REC_SKIP, (uint32_t)(room - used - RP_REC_HDR), pid),
                         __ATOMIC_RELAXED);
    if (!__atomic_compare_exchange_n(hw, &expect, rp__rec_word(0, (uint32_t)len, pid), 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return RP_EABANDONED;
    rp__wake(q->m.hdr);
    return 0;
}

/* rp_queue_abort — discard a claim; the consumer steps over its space. */
static inline void rp_queue_abort(rp_queue *q, rp_claim *c)
{
    uint64_t *hw = (uint64_t *)c->data - 1;
    uint64_t expect = c->word;
    uint64_t skip = rp__rec_word(RP_REC_SKIP, (uint32_t)c->len, (uint32_t)(c->word >> 32));
    if (__atomic_compare_exchange_n(hw, &expect, skip, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        rp__wake(q->m.hdr);
}

/*
 * rp_queue_put — copy one event of len bytes into the queue.
 * Thread-safe; never blocks; no syscall unless the consumer sleeps.
 * Returns 0 (the event is in the ring and will reach the consumer),
 * RP_EFULL (no room now), RP_ETOOBIG (len > rp_queue_max_event(q)),
 * RP_EABANDONED (this thread stalled past the recovery time mid-put; the
 * event was not enqueued), RP_EBUSY, RP_ECORRUPT.
 */
static inline int rp_queue_put(rp_queue *q, const void *event, size_t len)
{
    rp_claim c;
    int rc = rp_queue_claim(q, len, &c);
    if (rc)
        return rc;
    memcpy(c.data, event, len);
    return rp_queue_commit(q, &c, len);
}

#ifdef __cplusplus
}
#endif

#endif /* RINGPUB_H */
