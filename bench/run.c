/* run.c — see run.h. Producer results live in a MAP_SHARED block, so the
 * same code serves threads and processes. */
#include "run.h"

#include "backend.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PRODUCERS 64

typedef struct prod {
    const bench_opts *o;
    const backend *be;
    bench_queue *q;
    int id;
    volatile int *go;
    uint64_t attempts, accepted, full, bytes, full_ns, ctxsw;
    double t0, t1;
    int err;
    hist lat;
} prod;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void produce(prod *p)
{
    const bench_opts *o = p->o;
    uint8_t *ev = (uint8_t *)malloc(o->hi);
    void *h = p->be->open(p->q);
    uint64_t rng = 0x9e3779b97f4a7c15u + (uint64_t)p->id, n = 0;
    double per_producer_rate = o->rate / o->producers;
    struct rusage ru0, ru1;
    if (!ev || !h) {
        p->err = 1;
        free(ev);
        return;
    }
    memset(ev, 'e', o->hi);
    while (!__atomic_load_n(p->go, __ATOMIC_ACQUIRE))
        sched_yield();
    getrusage(RUSAGE_THREAD, &ru0);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9);
    while ((o->events == 0 || p->accepted < o->events)) {
        size_t len = o->lo == o->hi ? o->lo : o->lo + (size_t)(rng_next(&rng) % (o->hi - o->lo + 1));
        if (per_producer_rate > 0) { /* offered load: wait for this event's slot, never past the end */
            uint64_t due = t0 + (uint64_t)((double)p->accepted * 1e9 / per_producer_rate);
            if (due >= end)
                break;
            while (now_ns() < due)
                ;
        } else if ((n & 1023) == 0 && now_ns() >= end) { /* saturating: a clock read per 1024 puts */
            break;
        }
        memcpy(ev, &p->accepted, sizeof p->accepted);
        int timed = (n++ % (uint64_t)o->sample_every) == 0;
        uint64_t a = timed ? now_ns() : 0;
        int rc = p->be->put(h, ev, len);
        p->attempts++;
        if (rc == 0) {
            if (timed)
                hist_add(&p->lat, now_ns() - a);
            p->accepted++;
            p->bytes += len;
        } else if (rc == 1) {
            if (timed)
                p->full_ns += now_ns() - a;
            p->full++;
        } else {
            p->err = 2;
            break;
        }
    }
    p->t1 = (double)(now_ns() - t0) / 1e9;
    getrusage(RUSAGE_THREAD, &ru1);
    p->ctxsw = (uint64_t)(ru1.ru_nvcsw - ru0.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nivcsw);
    p->be->close(h);
    free(ev);
}

static void *produce_thread(void *arg)
{
    produce((prod *)arg);
    return NULL;
}

/* On a TTY, a live line on stderr every 0.5 s: consumed, rate, elapsed,
 * full rejections (read racily: it is a display). */
static void progress(const bench_result *r, const prod *ps, int n, uint64_t t0, uint64_t *next)
{
    static int tty = -1; /* isatty() once: it is an ioctl, and this runs every drain loop */
    uint64_t now, full = 0;
    if (tty < 0)
        tty = isatty(2);
    if (!tty || (now = now_ns()) < *next)
        return;
    for (int i = 0; i < n; i++)
        full += __atomic_load_n(&ps[i].full, __ATOMIC_RELAXED);
    double secs = (double)(now - t0) / 1e9;
    fprintf(stderr, "\r  %s: %llu events, %.0f/s, %.1f s, %llu full   ", r->backend,
            (unsigned long long)r->consumed, (double)r->consumed / secs, secs, (unsigned long long)full);
    *next = now + 500000000u;
}

/* Drain until every producer finished and all they put was consumed. */
static int consume(const backend *be, bench_queue *q, prod *ps, int n, volatile int *done, bench_result *r)
{
    uint64_t t0 = now_ns(), deadline = t0 + 600ull * 1000000000u, next = t0 + 500000000u;
    for (;;) {
        if (be->drain(q, &r->consumed, &r->bytes, 5) != 0)
            return -1;
        progress(r, ps, n, t0, &next);
        if (__atomic_load_n(done, __ATOMIC_ACQUIRE) == n) {
            uint64_t acc = 0;
            for (int i = 0; i < n; i++)
                acc += ps[i].accepted;
            if (r->consumed >= acc)
                return 0;
        }
        if (now_ns() > deadline)
            return -1;
    }
}

static void summarise(const bench_opts *o, prod *ps, bench_result *r, double wall)
{
    uint64_t sampled_full = 0;
    for (int i = 0; i < o->producers; i++) {
        prod *p = &ps[i];
        r->attempts += p->attempts;
        r->accepted += p->accepted;
        r->full += p->full;
        r->ctx_switches += p->ctxsw;
        sampled_full += p->full_ns;
        hist_merge(&r->lat, &p->lat);
        if (p->t1 > r->put_seconds)
            r->put_seconds = p->t1;
    }
    r->puts_per_s = r->put_seconds > 0 ? (double)r->accepted / r->put_seconds : 0;
    r->mb_per_s = r->put_seconds > 0 ? (double)r->bytes / r->put_seconds / 1e6 : 0;
    r->consumer_per_s = wall > 0 ? (double)r->consumed / wall : 0;
    r->full_put_ns = r->full ? (double)sampled_full * o->sample_every / (double)r->full : 0;
    r->counts_ok = r->attempts == r->consumed + r->full && r->consumed == r->accepted;
}

int bench_run(const bench_opts *o, bench_result *r)
{
    const backend *be = backend_find(o->backend);
    pthread_t t[MAX_PRODUCERS];
    pid_t pid[MAX_PRODUCERS];
    memset(r, 0, sizeof *r);
    snprintf(r->backend, sizeof r->backend, "%s", o->backend);
    r->producers = o->producers;
    r->procs = o->procs;
    r->lo = o->lo;
    r->hi = o->hi;
    if (!be || o->producers < 1 || o->producers > MAX_PRODUCERS) {
        snprintf(r->why, sizeof r->why, "unknown backend or bad producer count");
        return -1;
    }
    bench_queue *q = be->create(o->hi, r->why, sizeof r->why);
    if (!q)
        return 0; /* unavailable here: r->why says why */
    r->available = 1;
    r->note = be->note;
    size_t shared = sizeof(prod) * (size_t)o->producers + 2 * sizeof(int);
    prod *ps = (prod *)mmap(NULL, shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ps == MAP_FAILED) {
        be->destroy(q);
        snprintf(r->why, sizeof r->why, "mmap failed");
        return -1;
    }
    volatile int *go = (volatile int *)(ps + o->producers), *done = go + 1;
    for (int i = 0; i < o->producers; i++) {
        ps[i] = (prod){ .o = o, .be = be, .q = q, .id = i, .go = go };
        if (o->procs) {
            if ((pid[i] = fork()) == 0) {
                produce(&ps[i]);
                __atomic_add_fetch(done, 1, __ATOMIC_RELEASE);
                _exit(0);
            }
        } else {
            pthread_create(&t[i], NULL, produce_thread, &ps[i]);
        }
    }
    uint64_t w0 = now_ns();
    __atomic_store_n(go, 1, __ATOMIC_RELEASE);
    int rc;
    if (o->procs) {
        rc = consume(be, q, ps, o->producers, done, r);
        for (int i = 0; i < o->producers; i++)
            waitpid(pid[i], NULL, 0);
    } else {
        rc = 0;
        /* join producers while draining: a full queue needs the consumer */
        uint64_t next = w0 + 500000000u;
        for (int joined = 0; joined < o->producers && rc == 0;) {
            rc = be->drain(q, &r->consumed, &r->bytes, 1);
            progress(r, ps, o->producers, w0, &next);
            if (pthread_tryjoin_np(t[joined], NULL) == 0) {
                joined++;
                __atomic_add_fetch(done, 1, __ATOMIC_RELEASE);
            }
        }
        if (rc == 0)
            rc = consume(be, q, ps, o->producers, done, r);
    }
    double wall = (double)(now_ns() - w0) / 1e9;
    if (isatty(2))
        fputs("\r\033[K", stderr); /* clear the progress line */
    for (int i = 0; i < o->producers; i++)
        if (ps[i].err)
            snprintf(r->why, sizeof r->why, "producer %d failed (%s)", i,
                     ps[i].err == 1 ? "could not open the queue" : "put error");
    summarise(o, ps, r, wall);
    r->wakeups = be->wakeups(q);
    /* ring: the only syscall a put can make is FUTEX_WAKE, counted in the
     * ring; mq and unix: each put attempt is one syscall by construction */
    r->syscalls_per_put = strcmp(o->backend, "ring") == 0
                              ? (r->accepted ? (double)r->wakeups / (double)r->accepted : 0)
                              : (r->accepted ? (double)r->attempts / (double)r->accepted : 0);
    munmap(ps, shared);
    be->destroy(q);
    return rc == 0 && !r->why[0] ? 0 : -1;
}
