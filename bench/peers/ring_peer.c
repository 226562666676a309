/* ring_peer.c — ringpub's ring under the paired harness: rp_queue_put (a
 * full copy) in the producers, rp_consumer_poll/release in the consumer.
 * --exclusive gives each producer a single-producer ring of its own
 * (NAME.ID, RP_OPT_SINGLE_PRODUCER: the tail moves by a plain store), the
 * consumer polling them in turn: the analogue of Aeron's exclusive
 * publications (one writer each, no locked instruction per offer). */
#include "pair.h"

#include <ringpub.h>
#include <ringpub_consumer.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NAME "peerbench"
#define MAX_RINGS 16

typedef struct rings {
    rp_consumer *c[MAX_RINGS];
    int n, next;
} rings;

/* The ring of producer id: NAME, or NAME.ID with --exclusive. */
static void ring_name(const pair_opts *o, int id, char *name, size_t len)
{
    if (o->exclusive)
        snprintf(name, len, "%s.%d", NAME, id);
    else
        snprintf(name, len, "%s", NAME);
}

static int nrings(const pair_opts *o)
{
    return o->exclusive ? o->producers : 1;
}

static rp_queue_opts opts(const pair_opts *o)
{
    rp_queue_opts q = { 0 };
    q.dir = o->dir;
    q.capacity = o->capacity;
    q.max_event = (uint32_t)o->size;
    if (o->exclusive)
        q.flags |= RP_OPT_SINGLE_PRODUCER;
    return q;
}

static void teardown(const pair_opts *o)
{
    char name[64], path[512];
    for (int i = 0; i < nrings(o); i++) {
        ring_name(o, i, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", o->dir, name);
        unlink(path);
    }
}

static int setup(const pair_opts *o, char *why, size_t whylen)
{
    rp_queue_opts q = opts(o);
    char name[64];
    if (nrings(o) > MAX_RINGS) {
        snprintf(why, whylen, "at most %d rings", MAX_RINGS);
        return -1;
    }
    teardown(o); /* rings left by an earlier run of ours */
    for (int i = 0; i < nrings(o); i++) {
        rp_queue *p;
        ring_name(o, i, name, sizeof name);
        int rc = rp_queue_open(&p, name, &q);
        if (rc != 0) {
            snprintf(why, whylen, "cannot create the ring in %s: %s", o->dir, rp_strerror(rc));
            return -1;
        }
        rp_queue_close(p);
    }
    return 0;
}

static void *consumer(const pair_opts *o, char *why, size_t whylen)
{
    static rings r;
    rp_queue_opts q = opts(o);
    char name[64];
    for (r.n = 0; r.n < nrings(o); r.n++) {
        ring_name(o, r.n, name, sizeof name);
        if (rp_consumer_open(&r.c[r.n], name, &q, why, whylen) != 0)
            return NULL;
    }
    return &r;
}

/* One poll of the next ring in turn; a consumer with nothing in any ring
 * sleeps on the last one for at most 1 ms. */
static int poll_ring(void *h)
{
    static rp_event ev[4096];
    static int empty;
    rings *r = (rings *)h;
    rp_consumer *c = r->c[r->next];
    rp_batch b = { ev, 4096, 0, 0, 0, 0 };
    int n = rp_consumer_poll(c, &b, (size_t)1 << 30);
    if (n < 0)
        return n;
    for (size_t i = 0; i < b.n; i++)
        pair_seen(ev[i].data, ev[i].len);
    rp_consumer_release(c, &b);
    r->next = (r->next + 1) % r->n;
    empty = n == 0 ? empty + 1 : 0;
    if (empty >= r->n) {
        rp_consumer_wait(c, 1);
        empty = 0;
    }
    return n;
}

static void *producer(const pair_opts *o, int id, char *why, size_t whylen)
{
    rp_queue_opts q = opts(o);
    rp_queue *p = NULL;
    char name[64];
    int rc;
    ring_name(o, id, name, sizeof name);
    q.flags |= RP_OPT_NO_CREATE;
    if ((rc = rp_queue_open(&p, name, &q)) != 0)
        snprintf(why, whylen, "cannot open the ring: %s", rp_strerror(rc));
    return p;
}

static int offer(void *p, const void *msg, size_t len)
{
    int rc = rp_queue_put((rp_queue *)p, msg, len);
    return rc == 0 ? 0 : rc == RP_EFULL ? 1 : rc;
}

const pair_transport pair_this = { "ringpub", setup, consumer, poll_ring, producer, offer, teardown };
