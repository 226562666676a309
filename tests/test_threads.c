/* Many producer threads, one consumer: every event arrives once, whole, and
 * in its producer's order. Also run under ThreadSanitizer. */
#include "helpers.h"

#include "check.h"
#include <pthread.h>

TestSuite(threads, .fini = th_cleanup);

typedef struct {
    rp_queue *q;
    uint32_t id;
    uint64_t count, put;
    size_t lo, hi;
} producer_arg;

static void *producer(void *p)
{
    producer_arg *a = (producer_arg *)p;
    a->put = th_produce(a->q, a->id, 0, a->count, a->lo, a->hi, 1000 + a->id);
    return NULL;
}

static void run_producers(int nthreads, uint64_t per_thread, size_t lo, size_t hi, uint64_t capacity)
{
    rp_queue_opts o = th_opts(capacity);
    rp_queue *q;
    pthread_t t[TH_MAX_PRODUCERS];
    producer_arg a[TH_MAX_PRODUCERS];
    th_sink s;

    cr_assert_eq(rp_queue_open(&q, "mt", &o), 0);
    rp_consumer *c = th_consumer("mt", &o);
    th_tsan_share_mapping(c, q);
    memset(&s, 0, sizeof s);
    for (int i = 0; i < nthreads; i++) {
        a[i] = (producer_arg){ q, (uint32_t)i, per_thread, 0, lo, hi };
        cr_assert_eq(pthread_create(&t[i], NULL, producer, &a[i]), 0);
    }
    int rc = th_drain(c, &s, (uint64_t)nthreads * per_thread, TH_DEADLINE_MS);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(rc, 0, "poll: %s", rp_consumer_why(c));
    for (int i = 0; i < nthreads; i++) {
        cr_assert_eq(a[i].put, per_thread, "producer %d put %llu", i, (unsigned long long)a[i].put);
        cr_assert_eq(s.next[i], per_thread, "producer %d: %llu of %llu arrived", i,
                     (unsigned long long)s.next[i], (unsigned long long)per_thread);
    }
    cr_assert_eq(s.bad, 0, "%llu bad events, first: %s", (unsigned long long)s.bad, s.first_bad);
    cr_assert_eq(s.events, (uint64_t)nthreads * per_thread, "no extra events");
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.events_out, s.events);
    cr_assert_eq(st.head, st.tail);
    cr_assert_eq(st.recovered, 0, "nothing was abandoned");
    rp_consumer_close(c);
    rp_queue_close(q);
}

Test(threads, two_producers_small_ring)
{
    run_producers(2, 100000, TH_EV_MIN, 256, 1 << 16);
}

Test(threads, four_producers_mixed_sizes)
{
    run_producers(4, 30000, TH_EV_MIN, 3000, 1 << 18);
}

/* Producers hammering a ring that is almost always full: "full" must never
 * be reported wrongly as success, nor lose anything. */
Test(threads, four_producers_tiny_ring_mostly_full)
{
    run_producers(4, 20000, TH_EV_MIN, 64, 4096);
}

/* A single-producer handle takes one thread: a second thread is refused
 * with RP_EBUSY (layout 1 let it race on the plain tail store, which left
 * the tail behind the head and the queue dead for good). */
static void *second_thread_put(void *p)
{
    rp_queue *q = (rp_queue *)p;
    uint8_t ev[32];
    th_ev_fill(ev, 2, 0, sizeof ev);
    return (void *)(intptr_t)rp_queue_put(q, ev, sizeof ev);
}

Test(threads, single_producer_handle_refuses_a_second_thread)
{
    rp_queue_opts o = th_opts(1 << 16);
    o.flags = RP_OPT_SINGLE_PRODUCER;
    rp_queue *q;
    pthread_t t;
    void *rc;
    th_sink s;

    cr_assert_eq(rp_queue_open(&q, "sp2", &o), 0);
    rp_consumer *c = th_consumer("sp2", &o);
    th_tsan_share_mapping(c, q);
    cr_assert_eq(th_produce(q, 1, 0, 100, TH_EV_MIN, 200, 1), 100);
    cr_assert_eq(pthread_create(&t, NULL, second_thread_put, q), 0);
    pthread_join(t, &rc);
    cr_assert_eq((int)(intptr_t)rc, RP_EBUSY, "second thread: %s", rp_strerror((int)(intptr_t)rc));
    cr_assert_eq(th_produce(q, 1, 100, 100, TH_EV_MIN, 200, 2), 100, "the first thread goes on");
    memset(&s, 0, sizeof s);
    cr_assert_eq(th_drain(c, &s, 200, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.next[1], 200);
    cr_assert_eq(s.next[2], 0);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    rp_consumer_close(c);
    rp_queue_close(q);
}
