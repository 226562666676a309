/*
 * sproducer — one stress producer process: puts events (id, 0..count-1) and
 * records each put's outcome in STATUS (a file mapped shared, so kill -9
 * loses nothing): 3 = put started, 1 = returned 0, 2 = returned an error.
 *
 *   sproducer QUEUE ID COUNT STATUS [SEED]
 *
 * RP_EFULL is an outcome like any other (the event must then never be
 * delivered); on it the producer yields and goes on with the next event.
 *
 * STRESS_HOLD=N: about one put in N stalls half-way. On a single-producer
 * ring (STRESS_SINGLE) the one thread cannot stall inside a put, so a held
 * event is a claim left open while the thread goes on putting: once the
 * consumer pins it, this producer's own tail goes around its image. Held
 * events are a stream of their own, ID + SE_HELD_ID, with their own status
 * file, STATUS.held (their order against ID's events is not defined).
 */
#include <ringpub.h>

#include "event.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* How long a held event stays half-written: 10-800 ms. */
static uint64_t hold_ms(uint64_t *rng)
{
    return 10 + se_rand(rng) % 790;
}

/* Claim len bytes and copy the first half of buf: a put stalled half-way. */
static int claim_half(rp_queue *q, rp_claim *c, const uint8_t *buf, size_t len)
{
    int rc = rp_queue_claim(q, len, c);
    if (rc == 0)
        memcpy(c->data, buf, len / 2);
    return rc;
}

/* Copy the rest of buf into claim c and commit it. */
static int commit_rest(rp_queue *q, rp_claim *c, const uint8_t *buf, size_t len)
{
    memcpy((uint8_t *)c->data + len / 2, buf + len / 2, len - len / 2);
    return rp_queue_commit(q, c, len);
}

/* A put that stalls half-way: claim, copy half, stop writing for 10-800 ms
 * (a live thread that does not run: the consumer pins the record), then
 * copy the rest and commit. */
static int held_put(rp_queue *q, const uint8_t *buf, size_t len, uint64_t *rng)
{
    rp_claim c;
    int rc = claim_half(q, &c, buf, len);
    if (rc)
        return rc;
    uint64_t ms = hold_ms(rng);
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    return commit_rest(q, &c, buf, len);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The open claim of a single producer's held event (see the top). */
typedef struct held {
    rp_claim c;
    uint8_t buf[SE_MAX];
    size_t len;
    uint64_t seq, due_ms;
    uint8_t *st;
    int open;
} held;

static void held_done(held *h, int rc)
{
    __atomic_store_n(&h->st[h->seq++], rc == 0 ? 1 : 2, __ATOMIC_SEQ_CST);
    h->open = 0;
}

/* Claim the next held event, copy half of it, keep it open 10-800 ms. */
static void held_open(rp_queue *q, held *h, uint32_t id, uint64_t *rng)
{
    h->len = se_fill(h->buf, id + SE_HELD_ID, h->seq, rng);
    __atomic_store_n(&h->st[h->seq], 3, __ATOMIC_SEQ_CST);
    int rc = claim_half(q, &h->c, h->buf, h->len);
    if (rc) {
        held_done(h, rc);
        return;
    }
    h->due_ms = now_ms() + hold_ms(rng);
    h->open = 1;
}

static void held_close(rp_queue *q, held *h)
{
    held_done(h, commit_rest(q, &h->c, h->buf, h->len));
}

/* STATUS, count bytes, mapped shared; NULL (said on stderr) if it fails. */
static uint8_t *status_map(const char *path, uint64_t count)
{
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)count) != 0) {
        perror("sproducer: status file");
        return NULL;
    }
    uint8_t *st = (uint8_t *)mmap(NULL, count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (st == MAP_FAILED) {
        perror("sproducer: mmap");
        return NULL;
    }
    return st;
}

int main(int argc, char **argv)
{
    /* STRESS_HOLD=N: one put in N (about) stalls half-way (held_put) */
    uint64_t hold = getenv("STRESS_HOLD") ? strtoull(getenv("STRESS_HOLD"), NULL, 10) : 0;
    rp_queue *q;
    uint8_t buf[SE_MAX];
    char why[256];
    if (argc < 5) {
        fprintf(stderr, "usage: sproducer QUEUE ID COUNT STATUS [SEED]\n");
        return 2;
    }
    uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t count = strtoull(argv[3], NULL, 10), rng = argc > 5 ? strtoull(argv[5], NULL, 10) : id;
    int single = getenv("STRESS_SINGLE") != NULL;
    static held h;
    char hpath[4096];
    uint8_t *st = status_map(argv[4], count);
    snprintf(hpath, sizeof hpath, "%s.held", argv[4]);
    if (!st || (single && hold && !(h.st = status_map(hpath, count))))
        return 2;
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.flags = RP_OPT_NO_CREATE;
    int rc = rp_queue_open_why(&q, argv[1], &o, why, sizeof why);
    if (rc) {
        fprintf(stderr, "sproducer: %s\n", why);
        return 2;
    }
    for (uint64_t seq = 0; seq < count; seq++) {
        size_t len = se_fill(buf, id, seq, &rng);
        int stall = hold && se_rand(&rng) % hold == 0;
        if (single && h.open && now_ms() >= h.due_ms)
            held_close(q, &h);
        else if (single && stall && !h.open && h.seq < count)
            held_open(q, &h, id, &rng);
        __atomic_store_n(&st[seq], 3, __ATOMIC_SEQ_CST);
        rc = stall && !single ? held_put(q, buf, len, &rng) : rp_queue_put(q, buf, len);
        __atomic_store_n(&st[seq], rc == 0 ? 1 : 2, __ATOMIC_SEQ_CST);
        if (rc == RP_EFULL)
            sched_yield();
        else if (rc != 0) {
            fprintf(stderr, "sproducer %u: put: %s\n", id, rp_strerror(rc));
            return 1;
        }
    }
    if (h.open)
        held_close(q, &h);
    rp_queue_close(q);
    return 0;
}
