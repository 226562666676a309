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
 *   rp_queue_put() names the space it is about to take in its thread's
 *   producer slot, reserves it with one CAS on the ring's tail, copies the
 *   event and publishes it with one store to the record header. No lock, no
 *   syscall — except FUTEX_WAKE_OP when the consumer is asleep, which it only
 *   is when it has drained everything, and a few on a thread's first put (it
 *   takes a slot: an OFD lock the kernel drops when the process dies, which
 *   is how the consumer knows a reservation is abandoned). A reservation is
 *   never taken from a live producer, however long it stalls. The ring lives
 *   in RINGPUB_DIR (default /dev/shm), one file per queue, allocated in full
 *   when it is created; the layout and its memory-ordering argument are in
 *   ringpub/layout.h.
 *
 * It needs the C library's default interfaces (syscall(), MAP_POPULATE),
 * which compilers give unless a strict -std=c17 hides them: then compile
 * with -D_DEFAULT_SOURCE (`pkg-config --cflags ringpub` says so). It
 * defines no feature macro of its own.
 *
 * CONFIGURATION MACROS (define before including)
 *   RP_TEST_HOOK(where)   called at RP_HOOK_* points inside a put; tests
 *                         use it to stop a producer mid-reservation.
 *
 * THREADS AND PROCESSES
 *   One rp_queue handle may be shared by any number of threads; each thread
 *   that puts holds one of the ring's RP_SLOTS (256) producer slots until it
 *   exits or the handle is closed. After fork() the child may keep using an
 *   inherited handle (it reopens the ring file for slots of its own). A
 *   single-producer handle takes one thread only: a second thread, or a
 *   forked child, gets RP_EBUSY. Do not close the ring's file descriptor
 *   behind the library's back (a close-all-fds loop): that drops the lock
 *   that proves to the consumer that this process is alive.
 */
#ifndef RINGPUB_H
#define RINGPUB_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_POPULATE
#error "ringpub.h needs the C library's default interfaces: compile with -D_DEFAULT_SOURCE (or -std=gnu17, the default)"
#endif
/* Open file description locks (Linux 3.15): the same numbers on every
 * architecture; glibc names them only under _GNU_SOURCE. */
#ifdef F_OFD_SETLK
#define RP__F_OFD_GETLK F_OFD_GETLK
#define RP__F_OFD_SETLK F_OFD_SETLK
#else
#define RP__F_OFD_GETLK 36
#define RP__F_OFD_SETLK 37
#endif

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
#define RP_EBUSY      (-8)  /* a role or every producer slot is taken */
#define RP_ECORRUPT   (-9)  /* the ring file is not a valid ring */
#define RP_EVERSION   (-10) /* the ring has a layout version we cannot read */
#define RP_EABANDONED (-11) /* not returned since layout 2: a live producer's
                               reservation is never taken away */
#define RP_ETIMEDOUT  (-12) /* nothing arrived before the timeout */
#define RP_EAGAIN     (-13) /* nothing to do now; try again */
#define RP_ENOSPC     (-14) /* the ring directory has no room for the ring */
#define RP_ENODIR     (-15) /* the ring directory (RINGPUB_DIR) does not exist */

/* RP_VERSION — ringpub's version: every tool's --version, the Python
 * package's, ringpub.pc's (one source; build.zig and python/setup.py read it
 * from here). */
#define RP_VERSION "0.1.0"

#define RP_NAME_MAX 64
#define RP_DEFAULT_CAPACITY ((uint64_t)16 << 20) /* 16 MiB: four fit in Docker's 64 MiB /dev/shm */
#define RP_DEFAULT_MAX_EVENT 102400u             /* as baseplate.py */

/* rp_queue_opts.flags */
#define RP_OPT_SINGLE_PRODUCER 1u /* when creating: one producer thread, cheaper path */
#define RP_OPT_NO_CREATE       2u /* attach only; RP_ENOENT if absent */
#define RP_OPT_NO_POPULATE     4u /* do not pre-fault the mapping */
#define RP_OPT_GROUP           8u /* share the ring with group `gid` (see below) */

/* Options for opening a queue. Zero-initialise, then set what you need; a
 * zero field means the default. Geometry fields apply only when this call
 * creates the ring: an attacher reads the geometry from the ring. */
typedef struct rp_queue_opts {
    uint64_t capacity;    /* data area bytes, rounded up to a power of two; 16 MiB.
                             The file is allocated in full at creation: more than
                             the ring directory has free is RP_ENOSPC. */
    uint32_t max_event;   /* largest event in bytes; 102400 */
    uint32_t reserved;    /* must be 0 */
    uint32_t mode;        /* file mode of a new ring; 0600, or 0660 when shared with a
                             group (RP_OPT_GROUP, or a set-group-ID ring directory);
                             any bit for others is refused */
    uint32_t flags;       /* RP_OPT_* */
    const char *dir;      /* ring directory; NULL: $RINGPUB_DIR, else /dev/shm. One
                             writable by every user without the sticky bit is
                             refused (RP_EPERM). A set-group-ID directory closed to
                             others (mode 2770) shares its rings with its group, as
                             RP_OPT_GROUP with that gid would: the two-user recipe */
    uint32_t gid;         /* with RP_OPT_GROUP: a new ring gets this group, and a
                             ring owned by another user is accepted if it has this
                             group with read-write access for it */
} rp_queue_opts;

/* A reservation made by rp_queue_claim(): write up to len bytes at data. */
typedef struct rp_claim {
    void *data;
    size_t len;
    uint64_t pos;   /* internal */
    uint64_t word;  /* internal: the claiming thread's slot | intent index */
} rp_claim;

/* Points inside a put where RP_TEST_HOOK(where) is called. */
#define RP_HOOK_INTENT   4 /* intent written, tail not yet moved */
#define RP_HOOK_RESERVED 1 /* tail moved, nothing written in the record (header 0) */
#define RP_HOOK_CLAIMED  2 /* CLAIM header written, payload not written */
#define RP_HOOK_COPIED   3 /* payload written, not yet committed */
#define RP_HOOK_WAKE     5 /* committed, the consumer sleeps, not yet woken */
#ifndef RP_TEST_HOOK
#define RP_TEST_HOOK(where) ((void)0)
#endif

#include "ringpub/attach.h"

struct rp_queue;

/* One producer thread's hold on a slot (process-local). */
typedef struct rp__pslot {
    struct rp__pslot *next;  /* the handle's list, under its mutex */
    struct rp_queue *q;
    rp_slot *s;              /* the slot in shared memory */
    uint32_t idx;
    uint32_t open;           /* bit k: a claim using intent k is open on this thread */
    unsigned gen;            /* fork generation it was taken in */
    uint32_t claim_len[RP_SLOT_INTENTS]; /* the open claims' lengths and positions */
    uint64_t claim_pos[RP_SLOT_INTENTS];
} rp__pslot;

/* A producer's handle. Opaque: use the functions below. */
typedef struct rp_queue {
    rp__map m;
    uint64_t cached_head;      /* bound - capacity (rp__refresh_head); shared by threads (acq/rel) */
    uint64_t serial;           /* tells this handle from a later one at the same address */
    const unsigned *fork_gen;  /* the opener's fork generation counter */
    unsigned gen;              /* generation the descriptor and slots belong to */
    unsigned fixing;           /* a thread is redoing them after fork() */
    pthread_mutex_t mu;        /* guards slots (slow path only) */
    pthread_key_t key;         /* this thread's rp__pslot */
    rp__pslot *slots;          /* slots taken by this process's threads */
    dev_t dev;
    ino_t ino;
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
    case RP_EBUSY: return "role or every producer slot already taken";
    case RP_ECORRUPT: return "ring is corrupt";
    case RP_EVERSION: return "unsupported ring layout version";
    case RP_EABANDONED: return "reservation was recovered by the consumer; event not sent";
    case RP_ETIMEDOUT: return "timed out";
    case RP_EAGAIN: return "try again";
    case RP_ENOSPC: return "no room for the ring in its directory";
    case RP_ENODIR: return "the ring directory does not exist";
    default: return "unknown error";
    }
}

/* Fork tracking: each translation unit counts forks it has seen; a handle
 * remembers the counter of the unit that opened it. */
static unsigned rp__fork_gen_tu;
static unsigned rp__serial_tu;
static pthread_once_t rp__fork_once = PTHREAD_ONCE_INIT;
static inline void rp__on_fork_child(void) { __atomic_fetch_add(&rp__fork_gen_tu, 1, __ATOMIC_RELAXED); }
static inline void rp__fork_register(void) { pthread_atfork(NULL, NULL, rp__on_fork_child); }

/* This thread's last handle and slot: the fast path's only lookup. */
static __thread struct {
    rp_queue *q;
    uint64_t serial;
    rp__pslot *ps;
    unsigned gen;
} rp__tls;

/* An OFD lock on one byte of the ring file: F_WRLCK to take, F_UNLCK to drop. */
static inline struct flock rp__byte_lock(short type, off_t at)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = at;
    fl.l_len = 1;
    return fl;
}

static inline int rp__lock_byte(int fd, short type, off_t at)
{
    struct flock fl = rp__byte_lock(type, at);
    return fcntl(fd, RP__F_OFD_SETLK, &fl) == 0 ? 0 : -1;
}

/* 1 if another open file description holds a lock on byte `at` (its
 * holder lives), 0 if not; -1 if the kernel cannot tell. */
static inline int rp__lock_held(int fd, off_t at)
{
    struct flock fl = rp__byte_lock(F_WRLCK, at);
    if (fcntl(fd, RP__F_OFD_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}

static inline rp_slot *rp__slot(const rp__map *m, uint32_t i)
{
    return (rp_slot *)(void *)((uint8_t *)m->hdr + RP_SLOT_OFF + (size_t)i * RP_SLOT_SIZE);
}

/* Give a slot back: no claim may be open (one is aborted first). */
static inline void rp__slot_drop(rp__pslot *ps, int unlock);

/* pthread key destructor: the thread exits; its slot goes back. */
static inline void rp__slot_dtor(void *p)
{
    rp__pslot *ps = (rp__pslot *)p;
    rp_queue *q = ps->q;
    rp__pslot **pp;
    pthread_mutex_lock(&q->mu);
    for (pp = &q->slots; *pp; pp = &(*pp)->next)
        if (*pp == ps) {
            *pp = ps->next;
            break;
        }
    pthread_mutex_unlock(&q->mu);
    if (ps->gen == q->gen)
        rp__slot_drop(ps, 1);
    free(ps);
}

/*
 * rp_queue_open_why — as rp_queue_open(), and on failure writes one line
 * saying why (file, field, value) into why[whylen].
 */
static inline int rp_queue_open_why(rp_queue **qp, const char *name, const rp_queue_opts *opts,
                                    char *why, size_t whylen)
{
    rp_queue *q;
    struct stat st;
    struct timespec ts;
    int rc;

    if (!qp || !why || whylen == 0)
        return RP_EINVAL;
    *qp = NULL;
    if (opts && opts->reserved) {
        snprintf(why, whylen, "rp_queue_opts.reserved must be 0");
        return RP_EINVAL;
    }
    q = (rp_queue *)calloc(1, sizeof *q);
    if (!q)
        return RP_ENOMEM;
    rc = rp__attach(&q->m, name, opts, why, whylen);
    if (rc == 0 && (q->m.flags & RP_RING_SINGLE_PRODUCER) && rp__lock_byte(q->m.fd, F_WRLCK, RP_LOCK_SOLE) != 0) {
        snprintf(why, whylen, "single-producer ring %s already has a producer", name);
        rc = RP_EBUSY;
    }
    if (rc == 0 && fstat(q->m.fd, &st) != 0) {
        snprintf(why, whylen, "cannot stat ring %s: %s", name, strerror(errno));
        rc = RP_EIO;
    }
    if (rc == 0 && pthread_key_create(&q->key, rp__slot_dtor) != 0) {
        snprintf(why, whylen, "no thread-specific key left for ring %s", name);
        rc = RP_ENOMEM;
    }
    if (rc) {
        rp__unmap(&q->m);
        free(q);
        return rc;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_once(&rp__fork_once, rp__fork_register);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    q->serial = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                ((uint64_t)__atomic_add_fetch(&rp__serial_tu, 1, __ATOMIC_RELAXED) << 40);
    q->fork_gen = &rp__fork_gen_tu;
    q->gen = __atomic_load_n(&rp__fork_gen_tu, __ATOMIC_RELAXED);
    q->dev = st.st_dev;
    q->ino = st.st_ino;
    /* a bound of head: the first put takes the slow path, which sees the pins */
    q->cached_head = __atomic_load_n(&q->m.hdr->head, __ATOMIC_ACQUIRE) - q->m.capacity;
    *qp = q;
    return 0;
}

/*
 * rp_queue_open — attach to the ring of queue `name`, creating it if absent.
 *
 * name: 1-64 chars of [A-Za-z0-9._-], not starting with '.'.
 * opts: NULL for defaults; see rp_queue_opts. The creator sets the geometry.
 * The ring file is created with O_EXCL|O_NOFOLLOW under a temporary name,
 * allocated in full and linked into place fully built; an existing file
 * must be a regular file closed to others, with a valid header of layout 2.
 * Returns 0 and sets *q, or RP_EINVAL, RP_EPERM, RP_ENOENT, RP_EBUSY,
 * RP_ECORRUPT, RP_EVERSION, RP_ENOSPC, RP_ENOMEM, RP_EIO.
 */
static inline int rp_queue_open(rp_queue **q, const char *name, const rp_queue_opts *opts)
{
    char why[256];
    return rp_queue_open_why(q, name, opts, why, sizeof why);
}

/* rp_queue_close — give back this process's producer slots, unmap and free
 * the handle. No other thread may be inside a put on it, and claims must be
 * committed or aborted first. NULL is allowed. */
static inline void rp_queue_close(rp_queue *q)
{
    rp__pslot *ps, *next;
    if (!q)
        return;
    pthread_key_delete(q->key);
    for (ps = q->slots; ps; ps = next) {
        next = ps->next;
        if (ps->gen == q->gen)
            rp__slot_drop(ps, 0); /* closing the descriptor drops every lock */
        free(ps);
    }
    pthread_mutex_destroy(&q->mu);
    rp__unmap(&q->m);
    free(q);
}

/* rp_queue_name_ok — 1 if name is a valid queue name: 1-64 characters of
 * [A-Za-z0-9._-], not starting with '.' (the rule rp_queue_open applies;
 * tools check it with this before they do anything else). */
static inline int rp_queue_name_ok(const char *name) { return rp__valid_name(name); }

/* rp_queue_dir — the ring directory opts names: opts->dir, else
 * $RINGPUB_DIR, else /dev/shm (opts may be NULL). */
static inline const char *rp_queue_dir(const rp_queue_opts *opts) { return rp__dir(opts); }

/* rp_queue_max_event — the largest event this queue accepts, in bytes. */
static inline size_t rp_queue_max_event(const rp_queue *q) { return q->m.max_event; }

/* In a forked child: a descriptor of our own (a new open file description,
 * so our slot locks are ours, not shared with the parent), and no slots
 * yet. Falls back to the inherited descriptor (safe: the parent's locks
 * then also cover us; only recovery after our death waits for the parent). */
static inline void rp__after_fork(rp_queue *q, unsigned g)
{
    char path[64];
    struct stat st;
    int fd;

    snprintf(path, sizeof path, "/proc/self/fd/%d", q->m.fd);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == q->dev && st.st_ino == q->ino)
        syscall(SYS_dup3, fd, q->m.fd, O_CLOEXEC); /* drops our reference to the parent's description (dup3: GNU-only in libc) */
    if (fd >= 0)
        close(fd);
    pthread_mutex_init(&q->mu, NULL); /* the parent's state of it means nothing here */
    q->slots = NULL;                  /* the parent's threads' slots (their memory is left) */
    __atomic_store_n(&q->gen, g, __ATOMIC_RELEASE);
}

/* Find and lock a free slot. Returns its index or RP_EBUSY. */
static inline int rp__slot_find(rp_queue *q, uint32_t tid)
{
    uint32_t start = tid * 2654435761u % RP_SLOTS;
    for (uint32_t k = 0; k < RP_SLOTS; k++) {
        uint32_t i = (start + k) % RP_SLOTS;
        rp__pslot *ps;
        int mine = 0;
        for (ps = q->slots; ps; ps = ps->next)
            mine |= ps->idx == i;
        if (mine || rp__lock_byte(q->m.fd, F_WRLCK, RP_LOCK_SLOT0 + i) != 0)
            continue; /* ours already (a lock of our description), or held */
        if (!rp__slot_idle(rp__slot(&q->m, i))) {
            /* a dead owner's intent: may name a reservation; the consumer reaps it */
            rp__lock_byte(q->m.fd, F_UNLCK, RP_LOCK_SLOT0 + i);
            continue;
        }
        return (int)i;
    }
    return RP_EBUSY;
}

/* Slow path: this thread has no slot for q in its cache. */
static inline int rp__slot_slow(rp_queue *q, rp__pslot **out)
{
    unsigned g = __atomic_load_n(q->fork_gen, __ATOMIC_ACQUIRE);
    rp__pslot *ps;
    uint32_t tid;
    int i;

    if (__atomic_load_n(&q->gen, __ATOMIC_ACQUIRE) != g) {
        if (q->m.flags & RP_RING_SINGLE_PRODUCER)
            return RP_EBUSY; /* the sole-producer lock is the parent's */
        while (__atomic_load_n(&q->gen, __ATOMIC_ACQUIRE) != g) {
            unsigned idle = 0;
            if (__atomic_compare_exchange_n(&q->fixing, &idle, 1u, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
                if (__atomic_load_n(&q->gen, __ATOMIC_ACQUIRE) != g)
                    rp__after_fork(q, g);
                __atomic_store_n(&q->fixing, 0u, __ATOMIC_RELEASE);
            } else {
                sched_yield();
            }
        }
    }
    ps = (rp__pslot *)pthread_getspecific(q->key);
    if (!ps || ps->gen != g) {
        pthread_mutex_lock(&q->mu);
        if ((q->m.flags & RP_RING_SINGLE_PRODUCER) && q->slots) {
            pthread_mutex_unlock(&q->mu);
            return RP_EBUSY; /* a single-producer ring takes one thread only */
        }
        ps = (rp__pslot *)calloc(1, sizeof *ps);
        tid = (uint32_t)syscall(SYS_gettid);
        i = ps ? rp__slot_find(q, tid) : RP_ENOMEM;
        if (i < 0) {
            pthread_mutex_unlock(&q->mu);
            free(ps);
            if (i == RP_EBUSY)
                __atomic_fetch_add(&q->m.hdr->noslot, 1, __ATOMIC_RELAXED);
            return i;
        }
        ps->q = q;
        ps->idx = (uint32_t)i;
        ps->s = rp__slot(&q->m, (uint32_t)i);
        ps->gen = g;
        __atomic_store_n(&ps->s->pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
        __atomic_store_n(&ps->s->tid, tid, __ATOMIC_RELAXED);
        ps->next = q->slots;
        q->slots = ps;
        pthread_mutex_unlock(&q->mu);
        pthread_setspecific(q->key, ps);
    }
    rp__tls.q = q;
    rp__tls.serial = q->serial;
    rp__tls.ps = ps;
    rp__tls.gen = g;
    *out = ps;
    return 0;
}

/* This thread's slot for q: one thread-local compare in steady state. */
static inline int rp__slot_get(rp_queue *q, rp__pslot **out)
{
    if (__builtin_expect(rp__tls.q == q && rp__tls.serial == q->serial &&
                         rp__tls.gen == __atomic_load_n(q->fork_gen, __ATOMIC_RELAXED), 1)) {
        *out = rp__tls.ps;
        return 0;
    }
    return rp__slot_slow(q, out);
}

/* Move the tail from *t to `to`: CAS, or a plain store for the sole
 * producer. 1 on success; on failure *t is the tail now. The sole producer
 * also checks that the tail is still *t (nobody else moves it: a load from
 * its own cache line), so a stale *t is a retry, as a lost CAS is, and can
 * never move the tail back over records the consumer has stepped past. */
static inline int rp__tail_move(rp_ring_hdr *h, int single, uint64_t *t, uint64_t to)
{
    if (single) {
        uint64_t now = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
        if (__builtin_expect(now != *t, 0)) {
            *t = now;
            return 0;
        }
        __atomic_store_n(&h->tail, to, __ATOMIC_SEQ_CST);
        return 1;
    }
    return __atomic_compare_exchange_n(&h->tail, t, to, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* Go around the image of a pinned record at img (layout.h, PINS): from t <
 * img, reserve [t, img) as padding (a claim that is aborted at once); from
 * img itself, move the tail past the image, which nobody writes. *t is then
 * the tail as this call left it: a single producer's tail moves by a plain
 * store, and its next reservation starts exactly there (a stale *t would
 * move the tail back over the padding or into the image). */
static inline void rp__go_around(rp_queue *q, rp__pslot *ps, unsigned k, uint64_t *t, uint64_t img, uint64_t isz)
{
    rp_ring_hdr *h = q->m.hdr;
    int single = (q->m.flags & RP_RING_SINGLE_PRODUCER) != 0;
    uint64_t from = *t;
    if (from == img) {
        if (rp__tail_move(h, single, t, img + isz))
            *t = img + isz;
        return;
    }
    __atomic_store_n(&ps->s->intent[k], rp__intent(from, img - from), __ATOMIC_RELEASE);
    if (!rp__tail_move(h, single, t, img))
        return;
    __atomic_store_n((uint64_t *)(void *)(q->m.data + (from & (q->m.capacity - 1))),
                     rp__rec_word(RP_REC_SKIP, (uint32_t)(img - from - RP_REC_HDR), ps->idx), __ATOMIC_RELEASE);
    __atomic_store_n(&ps->s->intent[k], 0, __ATOMIC_RELEASE);
    *t = img;
}

/* Slow path of a reservation: the cached bound says "full". The bound is
 * head + capacity, or the start of the first image of a pinned record
 * after t if that comes first; q->cached_head keeps bound - capacity, so
 * the fast path stays one compare. Returns 0 (room: retry), RP_EFULL,
 * RP_ECORRUPT, or 1 (the tail moved: *t reloaded, retry). */
static inline int rp__refresh_head(rp_queue *q, rp__pslot *ps, unsigned k, uint64_t *t, uint64_t need)
{
    rp_ring_hdr *h = q->m.hdr;
    uint64_t cap = q->m.capacity, head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE), img, isz = 0, bound;
    if ((int64_t)(head - *t) > 0) {
        uint64_t now = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
        if (now == *t)
            return RP_ECORRUPT; /* not stale: the tail is behind the head */
        *t = now;
        return 1;
    }
    if (!rp__positions_ok(head, *t, cap))
        return RP_ECORRUPT;
    bound = head + cap;
    img = rp__pins_next(h, cap, *t, &isz); /* after head: the pins are seen (rule 6) */
    if (img != UINT64_MAX && (int64_t)(img - *t) < 0)
        return RP_ECORRUPT; /* the tail inside an image: never, unless the pins were forged */
    if (img != UINT64_MAX && (int64_t)(bound - img) > 0)
        bound = img;
    __atomic_store_n(&q->cached_head, bound - cap, __ATOMIC_RELEASE);
    if (need <= bound - *t)
        return 0;
    if (bound == img && isz <= head + cap - img && need <= head + cap - img - isz) {
        rp__go_around(q, ps, k, t, img, isz);
        return 1;
    }
    __atomic_store_n(&ps->s->full, __atomic_load_n(&ps->s->full, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    return RP_EFULL;
}

/* A spin-wait hint to the CPU: lets a sibling hyperthread run and keeps a
 * waiting core off the bus (x86 pause, ~26 ns on this project's AMD Zen 4
 * test machine, ~40 ns on Intel since Skylake; Arm isb). */
static inline void rp__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("isb" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* After a lost tail CAS: wait 4, 8, ... up to 64 spin hints (about 0.1 to
 * 1.7 us here), doubling with each loss in a row. A loser that retries at
 * once takes the tail's cache line away from the winner on every put, and
 * both producers then pay a line transfer per event; backing off lets the
 * winner put a run of events with the line in its own cache. Timing only:
 * a put still never blocks and makes no syscall (bench/README.md has the
 * two-producer figures with and without it: tools/bench-peers). */
static inline void rp__backoff(unsigned *losses)
{
    unsigned n = 4u << (*losses < 4u ? *losses : 4u);
    for (unsigned i = 0; i < n; i++)
        rp__cpu_relax();
    ++*losses;
}

/* Reserve need bytes for slot ps; on success *pos is the record's position
 * and ps's intent names it (layout.h, SLOTS). Many producers: CAS on tail
 * (exact "full"). Single producer: plain store (one thread, enforced). */
static inline int rp__reserve(rp_queue *q, rp__pslot *ps, unsigned k, uint64_t need, uint64_t *pos)
{
    rp_ring_hdr *h = q->m.hdr;
    int single = (q->m.flags & RP_RING_SINGLE_PRODUCER) != 0;
    uint64_t t = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
    unsigned losses = 0;

    for (;;) {
        uint64_t ch = __atomic_load_n(&q->cached_head, __ATOMIC_ACQUIRE);
        if (__builtin_expect(t & 7u, 0))
            return RP_ECORRUPT; /* a record header must be 8-byte aligned */
        if (__builtin_expect(t - ch > q->m.capacity - need, 0)) {
            int rc = rp__refresh_head(q, ps, k, &t, need);
            if (rc < 0) {
                __atomic_store_n(&ps->s->intent[k], 0, __ATOMIC_RELEASE); /* no stale claimant */
                return rc;
            }
            continue;
        }
        /* the intent first: from the tail move on, it names our record */
        __atomic_store_n(&ps->s->intent[k], rp__intent(t, need), __ATOMIC_RELEASE);
        RP_TEST_HOOK(RP_HOOK_INTENT);
        if (rp__tail_move(h, single, &t, t + need))
            break;
        rp__backoff(&losses);
    }
    *pos = t;
    return 0;
}

/* Wake the consumer if, and only if, it sleeps: FUTEX_WAKE_OP sets
 * sleeping to 0 and wakes it in one system call (layout.h, rule 4). */
static inline void rp__wake(rp_ring_hdr *h)
{
    if (__builtin_expect(__atomic_load_n(&h->sleeping, __ATOMIC_SEQ_CST) != 0, 0)) {
        RP_TEST_HOOK(RP_HOOK_WAKE);
        if (syscall(SYS_futex, &h->wake_spare, FUTEX_WAKE_OP, 0, (void *)(uintptr_t)1, &h->sleeping,
                    FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 0)) > 0)
            __atomic_fetch_add(&h->wakeups, 1, __ATOMIC_RELAXED);
    }
}

/* The first steps of a claim and of a put: check the length, find this
 * thread's slot and a free intent (*k) in it, reserve the record (at ring
 * position *pos, header word *hw) and store its CLAIM header. 0, or an
 * rp_queue_claim() error. */
static inline int rp__reserve_claimed(rp_queue *q, size_t len, rp__pslot **ps, unsigned *k, uint64_t *pos,
                                      uint64_t **hw)
{
    int rc;
    if (__builtin_expect(len > q->m.max_event, 0)) {
        __atomic_fetch_add(&q->m.hdr->toobig, 1, __ATOMIC_RELAXED);
        return RP_ETOOBIG;
    }
    if ((rc = rp__slot_get(q, ps)) != 0)
        return rc;
    *k = (unsigned)__builtin_ctz(~(*ps)->open | (1u << RP_SLOT_INTENTS)); /* first free intent */
    if (__builtin_expect(*k == RP_SLOT_INTENTS, 0))
        return RP_EINVAL;
    if ((rc = rp__reserve(q, *ps, *k, rp__rec_size(len), pos)) != 0)
        return rc;
    RP_TEST_HOOK(RP_HOOK_RESERVED);
    *hw = (uint64_t *)(void *)(q->m.data + (*pos & q->m.mask));
    /* before any payload byte: a 0 header then proves an untouched reservation */
    __atomic_store_n(*hw, rp__rec_word(RP_REC_CLAIM, (uint32_t)len, (*ps)->idx), __ATOMIC_RELAXED);
    return 0;
}

/*
 * rp_queue_claim — reserve room for an event of up to len bytes and return
 * where to write it (c->data, c->len). Finish with rp_queue_commit() or
 * rp_queue_abort(), from the same thread (at most RP_SLOT_INTENTS, 8, open
 * at once per thread and queue). A claim is never taken away, however long
 * it is held; while it is open, the consumer delivers the events after it
 * and the other producers' tail goes around its bytes (layout.h, PINS),
 * so it costs the ring the space it holds (up to 8 held at once per ring;
 * beyond that, the ring from the ninth onwards until one commits).
 * Returns 0, RP_EFULL, RP_ETOOBIG, RP_EINVAL (8 claims are already open on
 * this thread), RP_EBUSY (every producer slot is taken, or a
 * single-producer queue used from a second thread or after fork),
 * RP_ENOMEM, RP_ECORRUPT (the ring's positions are invalid).
 */
static inline int rp_queue_claim(rp_queue *q, size_t len, rp_claim *c)
{
    rp__pslot *ps;
    uint64_t pos, *hw;
    unsigned k;
    int rc = rp__reserve_claimed(q, len, &ps, &k, &pos, &hw);
    if (rc)
        return rc;
    ps->open |= 1u << k;
    ps->claim_pos[k] = pos;
    ps->claim_len[k] = (uint32_t)len;
    c->data = hw + 1;
    c->len = len;
    c->pos = pos;
    c->word = (uint64_t)(uintptr_t)ps | k; /* rp__pslot is 8-aligned: k fits below */
    RP_TEST_HOOK(RP_HOOK_CLAIMED);
    return 0;
}

/* The slot of claim c, if the calling process holds it open (NULL if not). */
static inline rp__pslot *rp__claim_slot(rp_queue *q, const rp_claim *c)
{
    rp__pslot *ps = (rp__pslot *)(uintptr_t)(c->word & ~(uint64_t)7);
    unsigned k = (unsigned)(c->word & 7u);
    if (!ps || ps->q != q || !(ps->open & (1u << k)) || ps->claim_pos[k] != c->pos)
        return NULL;
    return ps;
}

/*
 * rp_queue_commit — publish the first len bytes (len <= c->len) of a claim.
 * The rest of the claimed space is turned into padding the consumer skips.
 * Returns 0 (the event will reach the consumer), or RP_EINVAL (len > c->len,
 * or c is not a claim this thread holds open).
 */
static inline int rp_queue_commit(rp_queue *q, rp_claim *c, size_t len)
{
    uint64_t *hw = (uint64_t *)c->data - 1;
    uint64_t used = rp__rec_size(len), room = rp__rec_size(c->len);
    rp__pslot *ps = rp__claim_slot(q, c);

    if (len > c->len || !ps)
        return RP_EINVAL;
    RP_TEST_HOOK(RP_HOOK_COPIED);
    if (used < room) /* padding first: the consumer reaches it only after our commit */
        __atomic_store_n((uint64_t *)(void *)((uint8_t *)hw + used),
                         rp__rec_word(RP_REC_SKIP, (uint32_t)(room - used - RP_REC_HDR), ps->idx),
                         __ATOMIC_RELAXED);
    /* a release store, not seq_cst (an xchg: ~20% of a contended put's
     * cycles); why no wake-up is lost without the full fence: layout.h, rule 4 */
    __atomic_store_n(hw, rp__rec_word(RP_REC_COMMIT, (uint32_t)len, ps->idx), __ATOMIC_RELEASE);
    ps->open &= ~(1u << (c->word & 7u));
    rp__wake(q->m.hdr);
    return 0;
}

/* rp_queue_abort — discard a claim (same thread); the consumer steps over
 * its space. */
static inline void rp_queue_abort(rp_queue *q, rp_claim *c)
{
    uint64_t *hw = (uint64_t *)c->data - 1;
    rp__pslot *ps = rp__claim_slot(q, c);
    if (!ps)
        return;
    __atomic_store_n(hw, rp__rec_word(RP_REC_SKIP, (uint32_t)c->len, ps->idx), __ATOMIC_RELEASE);
    ps->open &= ~(1u << (c->word & 7u));
    rp__wake(q->m.hdr);
}

static inline void rp__slot_drop(rp__pslot *ps, int unlock)
{
    rp_queue *q = ps->q;
    for (unsigned k = 0; k < RP_SLOT_INTENTS; k++) {
        if (ps->open & (1u << k)) { /* the thread ended inside a claim: abort it */
            rp_claim c = { q->m.data + (ps->claim_pos[k] & q->m.mask) + RP_REC_HDR, ps->claim_len[k],
                           ps->claim_pos[k], (uint64_t)(uintptr_t)ps | k };
            rp_queue_abort(q, &c);
        }
        __atomic_store_n(&ps->s->intent[k], 0, __ATOMIC_RELEASE);
    }
    if (unlock)
        rp__lock_byte(q->m.fd, F_UNLCK, RP_LOCK_SLOT0 + ps->idx);
}

/*
 * rp_queue_put — copy one event of len bytes into the queue.
 * Thread-safe; never blocks; no syscall unless the consumer sleeps (and a
 * few on a thread's first put, to take a producer slot).
 * Returns 0 (the event is in the ring and will reach the consumer intact),
 * RP_EFULL (no room now), RP_ETOOBIG (len > rp_queue_max_event(q)),
 * RP_EBUSY (no producer slot free; or a single-producer queue used from a
 * second thread or after fork), RP_ENOMEM, RP_ECORRUPT.
 */
static inline int rp_queue_put(rp_queue *q, const void *event, size_t len)
{
    rp__pslot *ps;
    uint64_t pos, *hw;
    unsigned k;
    /* A claim and its commit without the claim's bookkeeping: a put holds
     * its reservation only inside this call, so nothing about it is
     * recorded in ps (its intent k names it, as for any reservation). */
    int rc = rp__reserve_claimed(q, len, &ps, &k, &pos, &hw);
    if (rc)
        return rc;
    RP_TEST_HOOK(RP_HOOK_CLAIMED);
    memcpy(hw + 1, event, len);
    RP_TEST_HOOK(RP_HOOK_COPIED);
    /* release, not seq_cst: layout.h, rule 4 */
    __atomic_store_n(hw, rp__rec_word(RP_REC_COMMIT, (uint32_t)len, ps->idx), __ATOMIC_RELEASE);
    rp__wake(q->m.hdr);
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* RINGPUB_H */
