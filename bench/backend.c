/* backend.c — ring, mq and unix backends for the harness. */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

struct bench_queue {
    /* ring */
    char dir[512];
    rp_consumer *c;
    rp_queue_opts o;
    /* mq */
    char mqname[64];
    mqd_t mq;
    long msgsize;
    /* unix */
    int sv[2];
    char *buf;
    /* memcpy: counters shared with producer processes */
    uint64_t *copied; /* [0] events, [1] bytes, in a MAP_SHARED page */
    uint64_t seen, seen_bytes;
};

static bench_queue *alloc_queue(void)
{
    bench_queue *q = (bench_queue *)calloc(1, sizeof *q);
    if (q) {
        q->mq = (mqd_t)-1;
        q->sv[0] = q->sv[1] = -1;
    }
    return q;
}

uint64_t backend_ring_capacity;

/* ---- ring ------------------------------------------------------------------ */

static bench_queue *ring_create(size_t max_event, char *why, size_t whylen)
{
    bench_queue *q = alloc_queue();
    if (!q)
        return NULL;
    const char *base = getenv("RINGPUB_DIR");
    if ((size_t)snprintf(q->dir, sizeof q->dir, "%s/ringbench.XXXXXX", base && base[0] ? base : "/dev/shm") >=
            sizeof q->dir ||
        !mkdtemp(q->dir)) {
        snprintf(why, whylen, "cannot make a ring directory under %s: %s", base && base[0] ? base : "/dev/shm",
                 strerror(errno));
        free(q);
        return NULL;
    }
    q->o.dir = q->dir;
    q->o.capacity = backend_ring_capacity;
    q->o.max_event = max_event < 1024 ? 1024 : (uint32_t)max_event;
    int rc = rp_consumer_open(&q->c, "bench", &q->o, why, whylen);
    if (rc) {
        rmdir(q->dir);
        free(q);
        return NULL;
    }
    return q;
}

static void *ring_open(bench_queue *q)
{
    rp_queue *p = NULL;
    return rp_queue_open(&p, "bench", &q->o) == 0 ? p : NULL;
}

static int ring_put(void *h, const void *ev, size_t len)
{
    int rc = rp_queue_put((rp_queue *)h, ev, len);
    return rc == 0 ? 0 : rc == RP_EFULL ? 1 : -1;
}

static void ring_close(void *h) { rp_queue_close((rp_queue *)h); }

static int ring_drain(bench_queue *q, uint64_t *events, uint64_t *bytes, int wait_ms)
{
    static __thread rp_event ev[4096];
    rp_batch b = { ev, 4096, 0, 0, 0, 0 };
    int n = rp_consumer_poll(q->c, &b, (size_t)1 << 30);
    if (n < 0)
        return -1;
    *events += b.n;
    *bytes += b.bytes;
    rp_consumer_release(q->c, &b);
    if (n == 0 && wait_ms > 0)
        rp_consumer_wait(q->c, wait_ms);
    return 0;
}

static uint64_t ring_wakeups(bench_queue *q)
{
    rp_stats s;
    rp_consumer_stats(q->c, &s);
    return s.wakeups;
}

static void ring_destroy(bench_queue *q)
{
    char path[128];
    rp_consumer_close(q->c);
    snprintf(path, sizeof path, "%s/bench", q->dir);
    unlink(path);
    rmdir(q->dir);
    free(q);
}

/* ---- POSIX mq ------------------------------------------------------------------ */

static long read_long(const char *path, long dflt)
{
    FILE *f = fopen(path, "r");
    long v = dflt;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

static char mq_note[200];

static bench_queue *mq_create(size_t max_event, char *why, size_t whylen)
{
    bench_queue *q = alloc_queue();
    struct mq_attr a;
    long msg_max = read_long("/proc/sys/fs/mqueue/msg_max", 10);
    long size_max = read_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
    if (!q)
        return NULL;
    /* baseplate wants 10000 x 102400; the system limits and RLIMIT_MSGQUEUE
     * (819200 bytes) allow far less: take what fits and say so */
    q->msgsize = (long)max_event < 64 ? 64 : (long)max_event;
    if (q->msgsize > size_max) {
        snprintf(why, whylen, "events of %zu bytes exceed msgsize_max %ld", max_event, size_max);
        free(q);
        return NULL;
    }
    memset(&a, 0, sizeof a);
    a.mq_maxmsg = msg_max;
    while (a.mq_maxmsg > 1 && a.mq_maxmsg * (q->msgsize + 64) > 819200)
        a.mq_maxmsg--;
    a.mq_msgsize = q->msgsize;
    snprintf(mq_note, sizeof mq_note, "queue of %ld x %ld B (baseplate: 10000 x 102400; limited by "
             "msg_max %ld and RLIMIT_MSGQUEUE)", a.mq_maxmsg, a.mq_msgsize, msg_max);
    snprintf(q->mqname, sizeof q->mqname, "/events-ringbench-%d", (int)getpid());
    mq_unlink(q->mqname);
    q->mq = mq_open(q->mqname, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &a);
    if (q->mq == (mqd_t)-1) {
        snprintf(why, whylen, "mq_open: %s", strerror(errno));
        free(q);
        return NULL;
    }
    q->buf = (char *)malloc((size_t)q->msgsize);
    return q;
}

static void *mq_popen(bench_queue *q) { return q; }

static int mq_put(void *h, const void *ev, size_t len)
{
    bench_queue *q = (bench_queue *)h;
    if (mq_send(q->mq, (const char *)ev, len, 0) == 0)
        return 0;
    return errno == EAGAIN ? 1 : -1;
}

static void noop_close(void *h) { (void)h; }

/* Receive everything waiting on fd with recv_one; if there was nothing,
 * wait up to wait_ms for it to become readable. */
static int drain_fd(bench_queue *q, int fd, ssize_t (*recv_one)(bench_queue *), uint64_t *events,
                    uint64_t *bytes, int wait_ms)
{
    for (int got = 0;; got++) {
        ssize_t n = recv_one(q);
        if (n >= 0) {
            (*events)++;
            *bytes += (uint64_t)n;
            continue;
        }
        if (errno != EAGAIN)
            return -1;
        if (got == 0 && wait_ms > 0) {
            struct pollfd p = { fd, POLLIN, 0 };
            poll(&p, 1, wait_ms);
        }
        return 0;
    }
}

static ssize_t mq_recv_one(bench_queue *q)
{
    return mq_receive(q->mq, q->buf, (size_t)q->msgsize, NULL);
}

static int mq_drain(bench_queue *q, uint64_t *events, uint64_t *bytes, int wait_ms)
{
    return drain_fd(q, (int)q->mq, mq_recv_one, events, bytes, wait_ms); /* an mqd_t is an fd */
}

static uint64_t no_wakeups(bench_queue *q) { (void)q; return 0; }

static void mq_destroy(bench_queue *q)
{
    mq_close(q->mq);
    mq_unlink(q->mqname);
    free(q->buf);
    free(q);
}

/* ---- unix datagram socket ---------------------------------------------------- */

static bench_queue *unix_create(size_t max_event, char *why, size_t whylen)
{
    bench_queue *q = alloc_queue();
    int sz = 4 << 20;
    if (!q)
        return NULL;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, q->sv) != 0) {
        snprintf(why, whylen, "socketpair: %s", strerror(errno));
        free(q);
        return NULL;
    }
    setsockopt(q->sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(q->sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    q->msgsize = (long)max_event + 1;
    q->buf = (char *)malloc((size_t)q->msgsize);
    return q;
}

static int unix_put(void *h, const void *ev, size_t len)
{
    bench_queue *q = (bench_queue *)h;
    if (send(q->sv[0], ev, len, MSG_DONTWAIT) == (ssize_t)len)
        return 0;
    return errno == EAGAIN || errno == ENOBUFS ? 1 : -1;
}

static ssize_t unix_recv_one(bench_queue *q)
{
    return recv(q->sv[1], q->buf, (size_t)q->msgsize, MSG_DONTWAIT);
}

static int unix_drain(bench_queue *q, uint64_t *events, uint64_t *bytes, int wait_ms)
{
    return drain_fd(q, q->sv[1], unix_recv_one, events, bytes, wait_ms);
}

static void unix_destroy(bench_queue *q)
{
    close(q->sv[0]);
    close(q->sv[1]);
    free(q->buf);
    free(q);
}

/* ---- memcpy: the floor for large events (a copy into private memory) ---- */

typedef struct { bench_queue *q; char *dst; } copy_handle;

static bench_queue *copy_create(size_t max_event, char *why, size_t whylen)
{
    bench_queue *q = alloc_queue();
    if (!q)
        return NULL;
    q->msgsize = (long)max_event;
    q->copied = (uint64_t *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q->copied == MAP_FAILED) {
        snprintf(why, whylen, "mmap: %s", strerror(errno));
        free(q);
        return NULL;
    }
    return q;
}

static void *copy_open(bench_queue *q)
{
    copy_handle *h = (copy_handle *)calloc(1, sizeof *h);
    if (h && !(h->dst = (char *)malloc((size_t)q->msgsize))) {
        free(h);
        return NULL;
    }
    if (h)
        h->q = q;
    return h;
}

static int copy_put(void *hp, const void *ev, size_t len)
{
    copy_handle *h = (copy_handle *)hp;
    memcpy(h->dst, ev, len);
    __asm__ __volatile__("" : : "r"(h->dst) : "memory"); /* keep the copy */
    __atomic_fetch_add(&h->q->copied[0], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->q->copied[1], len, __ATOMIC_RELAXED);
    return 0;
}

static void copy_close(void *hp)
{
    copy_handle *h = (copy_handle *)hp;
    free(h->dst);
    free(h);
}

static int copy_drain(bench_queue *q, uint64_t *events, uint64_t *bytes, int wait_ms)
{
    uint64_t n = __atomic_load_n(&q->copied[0], __ATOMIC_RELAXED);
    uint64_t b = __atomic_load_n(&q->copied[1], __ATOMIC_RELAXED);
    *bytes += b - q->seen_bytes;
    *events += n - q->seen;
    q->seen = n;
    q->seen_bytes = b;
    if (wait_ms > 0)
        usleep((useconds_t)wait_ms * 1000u); /* nothing to wait for: pace the poll */
    return 0;
}

static void copy_destroy(bench_queue *q)
{
    munmap(q->copied, 4096);
    free(q);
}

static const backend backends[] = {
    { "ring", ring_create, ring_open, ring_put, ring_close, ring_drain, ring_wakeups, ring_destroy, NULL },
    { "mq", mq_create, mq_popen, mq_put, noop_close, mq_drain, no_wakeups, mq_destroy, mq_note },
    { "unix", unix_create, mq_popen, unix_put, noop_close, unix_drain, no_wakeups, unix_destroy, NULL },
    { "memcpy", copy_create, copy_open, copy_put, copy_close, copy_drain, no_wakeups, copy_destroy,
      "memcpy into private memory, no queue: the floor for large events" },
};

const backend *backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (strcmp(backends[i].name, name) == 0)
            return &backends[i];
    return NULL;
}
