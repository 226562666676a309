/* One producer, one consumer, one thread: the ring's single-threaded
 * contract — byte-exact delivery across wrap-arounds, full, too big,
 * claim/commit/abort. */
#include "helpers.h"

#include "check.h"

TestSuite(put_drain, .fini = th_cleanup);

/* Put a random-sized event whenever there is room, drain in random-sized
 * batches: 200000 events through a 64 KiB ring wraps it hundreds of times. */
Test(put_drain, random_sizes_wrap_byte_exact)
{
    rp_queue_opts o = th_opts(64 << 10);
    o.max_event = 4000;
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "wrap", &o), 0);
    rp_consumer *c = th_consumer("wrap", &o);
    static uint8_t buf[4000];
    rp_event ev[64];
    rp_batch b = { ev, 64, 0, 0, 0, 0 };
    uint64_t rng = 42, put = 0, got = 0, fulls = 0, bytes_in = 0;
    const uint64_t total = 200000;

    while (got < total) {
        while (put < total) {
            size_t len = th_len(&rng, TH_EV_MIN, 4000);
            th_ev_fill(buf, 0, put, len);
            int rc = rp_queue_put(q, buf, len);
            if (rc == RP_EFULL) {
                fulls++;
                break;
            }
            cr_assert_eq(rc, 0, "put: %s", rp_strerror(rc));
            bytes_in += len;
            put++;
        }
        b.max_events = 1 + th_rand(&rng) % 64;
        int n = rp_consumer_poll(c, &b, 1 + th_rand(&rng) % 100000);
        cr_assert_geq(n, 0, "poll: %s", rp_consumer_why(c));
        for (int i = 0; i < n; i++, got++) {
            uint32_t id;
            uint64_t seq;
            cr_assert(th_ev_check(ev[i].data, ev[i].len, &id, &seq), "event %llu corrupt",
                      (unsigned long long)got);
            cr_assert_eq(seq, got);
        }
        cr_assert_eq(rp_consumer_release(c, &b), 0);
    }
    rp_stats s;
    rp_consumer_stats(c, &s);
    cr_expect_eq(s.events_out, total);
    cr_expect_eq(s.bytes_out, bytes_in);
    cr_expect_eq(s.full, fulls);
    cr_expect_eq(s.head, s.tail);
    cr_expect_gt(s.tail / s.capacity, 100, "ring wrapped only %llu times",
                 (unsigned long long)(s.tail / s.capacity));
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* "Full" is exact: the ring takes events until the next one does not fit,
 * rejects without waiting, and takes one again as soon as space is freed. */
Test(put_drain, full_is_exact_and_recovers)
{
    rp_queue_opts o = th_opts(4096);
    o.max_event = 100;
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "full", &o), 0);
    uint8_t ev[56] = {0}; /* 8-byte header + 56 = 64 bytes per record */
    int n = 0;
    while (rp_queue_put(q, ev, sizeof ev) == 0)
        n++;
    cr_assert_eq(n, 4096 / 64, "took %d records of 64 bytes into 4096", n);
    cr_assert_eq(rp_queue_put(q, ev, sizeof ev), RP_EFULL);
    cr_assert_eq(rp_queue_put(q, ev, 0), RP_EFULL, "even an empty event needs 8 bytes");

    rp_consumer *c = th_consumer("full", &o);
    rp_event e[1];
    rp_batch b = { e, 1, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(c, &b, 1000), 1);
    cr_assert_eq(rp_queue_put(q, ev, sizeof ev), RP_EFULL, "polled but not released: still full");
    cr_assert_eq(rp_consumer_release(c, &b), 0);
    cr_assert_eq(rp_queue_put(q, ev, sizeof ev), 0);
    cr_assert_eq(rp_queue_put(q, ev, sizeof ev), RP_EFULL);
    rp_stats s;
    rp_consumer_stats(c, &s);
    cr_expect_eq(s.full, 5, "five puts were rejected");
    rp_consumer_close(c);
    rp_queue_close(q);
}

static void *put_once_refused(void *q)
{
    uint8_t ev[56] = {0};
    return (void *)(intptr_t)rp_queue_put((rp_queue *)q, ev, sizeof ev);
}

/* Each producer slot counts its own refusals (layout 3.2: no locked add on a
 * line every producer writes); readers add up the slots and the header's
 * counter, which producers of layout 3.1 still increment. */
Test(put_drain, full_counted_per_slot_and_summed)
{
    rp_queue_opts o = th_opts(4096);
    o.max_event = 100;
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "fullslots", &o), 0);
    uint8_t ev[56] = {0};
    while (rp_queue_put(q, ev, sizeof ev) == 0)
        ;
    for (int i = 0; i < 2; i++) { /* two more threads: two more slots */
        pthread_t t;
        void *rc;
        cr_assert_eq(pthread_create(&t, NULL, put_once_refused, q), 0);
        cr_assert_eq(pthread_join(t, &rc), 0);
        cr_assert_eq((int)(intptr_t)rc, RP_EFULL);
    }
    cr_expect_eq(__atomic_load_n(&q->m.hdr->full, __ATOMIC_RELAXED), 0, "a refusal wrote the shared counter line");
    __atomic_fetch_add(&q->m.hdr->full, 3, __ATOMIC_RELAXED); /* as a 3.1 producer counts */
    rp_stats s;
    char why[128];
    cr_assert_eq(rp_ring_stat("fullslots", &o, &s, why, sizeof why), 0, "%s", why);
    cr_expect_eq(s.full, 1 + 2 + 3, "full counted %llu times", (unsigned long long)s.full);
    rp_queue_close(q);
}

Test(put_drain, too_big_rejected_and_counted)
{
    rp_queue_opts o = th_opts(1 << 20);
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "big", &o), 0);
    cr_assert_eq(rp_queue_max_event(q), 102400, "baseplate's MAX_EVENT_SIZE is the default");
    static uint8_t ev[102401];
    cr_assert_eq(rp_queue_put(q, ev, 102400), 0);
    cr_assert_eq(rp_queue_put(q, ev, 102401), RP_ETOOBIG);
    rp_claim cl;
    cr_assert_eq(rp_queue_claim(q, 102401, &cl), RP_ETOOBIG);
    rp_stats s;
    char why[256];
    cr_assert_eq(rp_ring_stat("big", &o, &s, why, sizeof why), 0, "%s", why);
    cr_expect_eq(s.toobig, 2);
    cr_expect_eq(s.used_bytes, rp__rec_size(102400));
    rp_queue_close(q);
}

/* Zero-copy: a claim can be committed shorter than claimed, or aborted;
 * the consumer sees exactly the committed events and skips the rest. */
Test(put_drain, claim_commit_abort)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "claim", &o), 0);
    rp_claim a, b2, d;
    cr_assert_eq(rp_queue_claim(q, 1000, &a), 0);
    cr_assert_eq(rp_queue_claim(q, 50, &b2), 0);
    cr_assert_eq(rp_queue_claim(q, 300, &d), 0);
    th_ev_fill(a.data, 1, 0, 100);
    th_ev_fill(d.data, 1, 1, 300);
    cr_assert_eq(rp_queue_commit(q, &d, 300), 0, "commit out of order is fine");
    rp_queue_abort(q, &b2);
    cr_assert_eq(rp_queue_commit(q, &a, 1001), RP_EINVAL, "cannot commit more than claimed");
    cr_assert_eq(rp_queue_commit(q, &a, 100), 0);

    rp_consumer *c = th_consumer("claim", &o);
    th_sink s;
    memset(&s, 0, sizeof s);
    s.next[1] = 0;
    cr_assert_eq(th_drain(c, &s, 2, 2000), 0);
    cr_assert_eq(s.events, 2);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.bytes, 400);
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_expect_eq(st.head, st.tail, "skipped space released too");
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* An empty ring polls as 0 events; release of an empty batch is harmless;
 * batches may be released in any order, and space comes back up to the
 * first event not released; a range never handed out is refused. */
Test(put_drain, empty_poll_and_release_order)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "order", &o), 0);
    rp_consumer *c = th_consumer("order", &o);
    rp_event e[4];
    rp_batch b1 = { e, 1, 0, 0, 0, 0 }, b2 = { e + 1, 1, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(c, &b1, 100), 0);
    cr_assert_eq(rp_consumer_release(c, &b1), 0);
    cr_assert_eq(rp_queue_put(q, "one", 3), 0);
    cr_assert_eq(rp_queue_put(q, "two", 3), 0);
    cr_assert_eq(rp_consumer_poll(c, &b1, 100), 1);
    cr_assert_eq(rp_consumer_poll(c, &b2, 100), 1);
    cr_assert_eq(memcmp(b2.events[0].data, "two", 3), 0);
    rp_batch never = b2;
    never.start = b2.end;
    never.end = b2.end + 8;
    cr_assert_eq(rp_consumer_release(c, &never), RP_EINVAL, "beyond what was handed out");
    rp_stats st;
    cr_assert_eq(rp_consumer_release(c, &b2), 0, "second batch before the first");
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, b1.start, "the first batch still holds its space");
    cr_assert_eq(rp_consumer_release(c, &b1), 0);
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, b2.end, "both released: head moves past both");
    cr_assert_eq(rp_consumer_poll(c, &b1, 100), 0);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* A single-producer ring takes the cheaper path and refuses a second
 * producer; events still arrive whole and in order. */
Test(put_drain, single_producer_ring)
{
    rp_queue_opts o = th_opts(1 << 16);
    o.flags = RP_OPT_SINGLE_PRODUCER;
    rp_queue *q, *q2;
    cr_assert_eq(rp_queue_open(&q, "sp", &o), 0);
    cr_assert_eq(rp_queue_open(&q2, "sp", &o), RP_EBUSY, "a second producer is refused");
    rp_consumer *c = th_consumer("sp", &o);
    th_sink s;
    memset(&s, 0, sizeof s);
    for (uint64_t round = 0; round < 100; round++) {
        cr_assert_eq(th_produce(q, 3, round * 100, 100, TH_EV_MIN, 300, round + 1), 100);
        cr_assert_eq(th_drain(c, &s, (round + 1) * 100, 2000), 0);
    }
    cr_assert_eq(s.events, 10000);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    rp_queue_close(q);
    cr_assert_eq(rp_queue_open(&q2, "sp", &o), 0, "the role is free again after close");
    rp_queue_close(q2);
    rp_consumer_close(c);
}
