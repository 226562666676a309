#include "helpers.h"

#include "check.h"
#include "consumer_internal.h"
#include <ftw.h>
#include <sys/wait.h>
#include <sched.h>

static char dir[64];

const char *th_dir(void)
{
    if (!dir[0]) {
        strcpy(dir, "/dev/shm/rptest.XXXXXX");
        cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    }
    return dir;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

void th_cleanup(void)
{
    if (dir[0] && getenv("RINGPUB_TEST_KEEP")) /* debugging: keep the files, say where */
        fprintf(stderr, "kept %s\n", dir);
    else if (dir[0])
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    dir[0] = '\0';
}

rp_queue_opts th_opts(uint64_t capacity)
{
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.capacity = capacity;
    if (capacity < 4 * (uint64_t)RP_DEFAULT_MAX_EVENT)
        o.max_event = (uint32_t)(capacity / 4); /* the default would not fit */
    o.dir = th_dir();
    return o;
}

uint64_t th_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

uint64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint8_t ev_byte(uint32_t id, uint64_t seq, size_t i)
{
    return (uint8_t)(id * 131u + seq * 7u + i * 13u + (i >> 8));
}

void th_ev_fill(void *buf, uint32_t id, uint64_t seq, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    uint32_t l = (uint32_t)len;
    memcpy(p, &id, 4);
    memcpy(p + 4, &l, 4);
    memcpy(p + 8, &seq, 8);
    for (size_t i = TH_EV_MIN; i < len; i++)
        p[i] = ev_byte(id, seq, i);
}

int th_ev_check(const void *data, size_t len, uint32_t *id, uint64_t *seq)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t l;
    if (len < TH_EV_MIN)
        return 0;
    memcpy(id, p, 4);
    memcpy(&l, p + 4, 4);
    memcpy(seq, p + 8, 8);
    if (l != len || *id >= TH_MAX_PRODUCERS)
        return 0;
    for (size_t i = TH_EV_MIN; i < len; i++)
        if (p[i] != ev_byte(*id, *seq, i))
            return 0;
    return 1;
}

size_t th_len(uint64_t *rng, size_t lo, size_t hi)
{
    return lo + (size_t)(th_rand(rng) % (hi - lo + 1));
}

uint64_t th_produce(rp_queue *q, uint32_t id, uint64_t first, uint64_t count, size_t lo, size_t hi,
                    uint64_t seed)
{
    static __thread uint8_t buf[1 << 17];
    uint64_t deadline = th_now_ms() + TH_DEADLINE_MS, rng = seed, n = 0;
    while (n < count && th_now_ms() < deadline) {
        size_t len = th_len(&rng, lo, hi);
        th_ev_fill(buf, id, first + n, len);
        int rc = rp_queue_put(q, buf, len);
        if (rc == 0)
            n++;
        else if (rc == RP_EFULL)
            sched_yield();
        else
            break;
    }
    return n;
}

static void sink_bad(th_sink *s, const char *what, uint32_t id, uint64_t seq)
{
    if (s->bad++ == 0)
        snprintf(s->first_bad, sizeof s->first_bad, "%s (producer %u, seq %llu, expected %llu)", what,
                 (unsigned)id, (unsigned long long)seq,
                 (unsigned long long)(id < TH_MAX_PRODUCERS ? s->next[id] : 0));
}

int th_drain(rp_consumer *c, th_sink *s, uint64_t want, int timeout_ms)
{
    rp_event ev[256];
    rp_batch b = { ev, 256, 0, 0, 0, 0 };
    uint64_t deadline = th_now_ms() + (uint64_t)timeout_ms;
    while (s->events < want && th_now_ms() < deadline) {
        int n = rp_consumer_poll(c, &b, 1 << 20);
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++) {
            uint32_t id;
            uint64_t seq;
            if (!th_ev_check(ev[i].data, ev[i].len, &id, &seq))
                sink_bad(s, "malformed event", 0, 0);
            else if (seq != s->next[id])
                sink_bad(s, "out of order or lost", id, seq);
            else
                s->next[id]++;
            s->events++;
            s->bytes += ev[i].len;
        }
        cr_assert_eq(rp_consumer_release(c, &b), 0);
        if (n == 0)
            rp_consumer_wait(c, 50);
    }
    return 0;
}

void *th_wait_thread(void *p)
{
    th_waiter *w = (th_waiter *)p;
    uint64_t t0 = th_now_ms();
    w->rc = rp_consumer_wait(w->c, 20000);
    w->waited_ms = th_now_ms() - t0;
    return NULL;
}

void th_reap_ok(int pid, const char *what)
{
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid, "%s: waitpid: %s", what, strerror(errno));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x", what, status);
}

rp_consumer *th_consumer(const char *name, const rp_queue_opts *o)
{
    char why[256];
    rp_consumer *c = NULL;
    int rc = rp_consumer_open(&c, name, o, why, sizeof why);
    cr_assert_eq(rc, 0, "consumer open: %s: %s", rp_strerror(rc), why);
    return c;
}

#if defined(__SANITIZE_THREAD__)
#define TH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TH_TSAN 1
#endif
#endif

void th_tsan_share_mapping(rp_consumer *c, const rp_queue *q)
{
#ifdef TH_TSAN
    munmap((void *)c->m.hdr, c->m.map_len);
    c->m.hdr = q->m.hdr;
    c->m.data = q->m.data;
    c->m.map_len = 0; /* rp__unmap's munmap(.., 0) then fails harmlessly */
#else
    (void)c; (void)q;
#endif
}

int th_await(int (*done)(void *ctx), void *ctx, uint64_t ms, unsigned poll_ms)
{
    uint64_t until = th_now_ms() + ms;
    int r;
    while (!(r = done(ctx)) && th_now_ms() < until)
        usleep(poll_ms * 1000u);
    return r;
}
