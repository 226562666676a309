/* ring_peer.c — ringpub's ring under the paired harness: rp_queue_put (a
 * full copy) in the producers, rp_consumer_poll/release in the consumer. */
#include "pair.h"

#include <ringpub.h>
#include <ringpub_consumer.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NAME "peerbench"

static rp_queue_opts opts(const pair_opts *o)
{
    rp_queue_opts q = { 0 };
    q.dir = o->dir;
    q.capacity = o->capacity;
    q.max_event = (uint32_t)o->size;
    return q;
}

static int setup(const pair_opts *o, char *why, size_t whylen)
{
    rp_queue_opts q = opts(o);
    rp_queue *p;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", o->dir, NAME);
    unlink(path); /* a ring left by an earlier run of ours */
    int rc = rp_queue_open(&p, NAME, &q);
    if (rc != 0) {
        snprintf(why, whylen, "cannot create the ring in %s: %s", o->dir, rp_strerror(rc));
        return -1;
    }
    rp_queue_close(p);
    return 0;
}

static void *consumer(const pair_opts *o, char *why, size_t whylen)
{
    rp_queue_opts q = opts(o);
    rp_consumer *c = NULL;
    return rp_consumer_open(&c, NAME, &q, why, whylen) == 0 ? c : NULL;
}

static int poll_ring(void *h)
{
    static rp_event ev[4096];
    rp_consumer *c = (rp_consumer *)h;
    rp_batch b = { ev, 4096, 0, 0, 0, 0 };
    int n = rp_consumer_poll(c, &b, (size_t)1 << 30);
    if (n < 0)
        return n;
    for (size_t i = 0; i < b.n; i++)
        pair_seen(ev[i].data, ev[i].len);
    rp_consumer_release(c, &b);
    if (n == 0)
        rp_consumer_wait(c, 1);
    return n;
}

static void *producer(const pair_opts *o, int id, char *why, size_t whylen)
{
    rp_queue_opts q = opts(o);
    rp_queue *p = NULL;
    int rc;
    (void)id;
    q.flags |= RP_OPT_NO_CREATE;
    if ((rc = rp_queue_open(&p, NAME, &q)) != 0)
        snprintf(why, whylen, "cannot open the ring: %s", rp_strerror(rc));
    return p;
}

static int offer(void *p, const void *msg, size_t len)
{
    int rc = rp_queue_put((rp_queue *)p, msg, len);
    return rc == 0 ? 0 : rc == RP_EFULL ? 1 : rc;
}

static void teardown(const pair_opts *o)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", o->dir, NAME);
    unlink(path);
}

const pair_transport pair_this = { "ringpub", setup, consumer, poll_ring, producer, offer, teardown };
