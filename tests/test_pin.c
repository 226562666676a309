/* A stalled producer costs the ring only the space its record holds: head
 * moves past the record (a pin), the tail goes around its bytes on every
 * later lap, and the other producers keep putting through many laps. The
 * record's bytes are never touched meanwhile: when it commits, its event
 * arrives intact. The pin survives a consumer restart, and is given up when
 * the claim is aborted or its owner dies (layout.h, PINS). Without pins
 * every put fails with RP_EFULL once the tail wraps to the stalled record. */
#include "helpers.h"

#include "check.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(pin, .fini = th_cleanup);

#define CAP (1u << 16)
#define LAPS 8u

/* A claim of producer id, seq 0, len bytes, with only the first half of its
 * payload written (the rest comes after the laps). */
static void claim_half(rp_queue *q, uint32_t id, size_t len, rp_claim *cl, uint8_t *ev)
{
    cr_assert_eq(rp_queue_claim(q, len, cl), 0);
    th_ev_fill(ev, id, 0, len);
    memcpy(cl->data, ev, len / 2);
}

static void finish(rp_queue *q, rp_claim *cl, const uint8_t *ev, size_t len)
{
    memcpy((uint8_t *)cl->data + len / 2, ev + len / 2, len - len / 2);
    cr_assert_eq(rp_queue_commit(q, cl, len), 0);
}

/* Put events id, seq first.. until `bytes` of ring space went through,
 * draining into s whenever the ring is full. A put that stays refused
 * while the consumer drains everything it can fails the test: that is a
 * stall holding the ring, not the space. Returns the next seq. */
static uint64_t laps(rp_queue *q, rp_consumer *c, th_sink *s, uint32_t id, uint64_t first, uint64_t bytes)
{
    uint8_t ev[300];
    uint64_t rng = first + 1, seq = first, done = 0;
    while (done < bytes) {
        size_t len = th_len(&rng, TH_EV_MIN, sizeof ev);
        uint64_t t0 = th_now_ms();
        int rc;
        th_ev_fill(ev, id, seq, len);
        while ((rc = rp_queue_put(q, ev, len)) == RP_EFULL && th_now_ms() - t0 < 5000)
            cr_assert_eq(th_drain(c, s, UINT64_MAX, 2), 0, "poll: %s", rp_consumer_why(c));
        cr_assert_eq(rc, 0, "put %llu after %llu bytes: %s: the stalled record holds the ring",
                     (unsigned long long)seq, (unsigned long long)done, rp_strerror(rc));
        seq++;
        done += len + 8;
    }
    return seq;
}

/* Open queue `name` (64 KiB, creation flags `flags`), its consumer and an
 * empty sink. */
static rp_consumer *open_pair(const char *name, uint32_t flags, rp_queue_opts *o, rp_queue **q, th_sink *s)
{
    *o = th_opts(CAP);
    o->flags |= flags;
    cr_assert_eq(rp_queue_open(q, name, o), 0);
    rp_consumer *c = th_consumer(name, o);
    th_tsan_share_mapping(c, *q);
    memset(s, 0, sizeof *s);
    return c;
}

/* Drain until every event so far arrived and the ring is empty. */
static void drain_all(rp_consumer *c, th_sink *s, uint64_t want)
{
    rp_stats st;
    uint64_t t0 = th_now_ms();
    cr_assert_eq(th_drain(c, s, want, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    for (rp_consumer_stats(c, &st); st.head != st.tail && th_now_ms() - t0 < TH_DEADLINE_MS; rp_consumer_stats(c, &st))
        cr_assert_eq(th_drain(c, s, UINT64_MAX, 10), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(st.head, st.tail, "all space released (head %llu, tail %llu)", (unsigned long long)st.head,
                 (unsigned long long)st.tail);
    cr_assert_eq(s->events, want, "every event exactly once: %llu of %llu", (unsigned long long)s->events,
                 (unsigned long long)want);
    cr_assert_eq(s->bad, 0, "%s", s->first_bad);
}

static void expect_pinned(rp_consumer *c, uint64_t n)
{
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.pinned, n, "pinned records: %llu, expected %llu", (unsigned long long)st.pinned,
                 (unsigned long long)n);
}

/* Two claims held open (two pins, two sizes) while other puts go through
 * the ring LAPS times; then they commit, intact. */
static void stalled_claims(const char *name, uint32_t flags)
{
    rp_queue_opts o;
    rp_queue *q;
    rp_claim c1, c2;
    uint8_t e1[200], e2[72];
    th_sink s;
    uint64_t n;

    rp_consumer *c = open_pair(name, flags, &o, &q, &s);
    claim_half(q, 1, sizeof e1, &c1, e1);
    n = laps(q, c, &s, 3, 0, CAP / 3);
    claim_half(q, 2, sizeof e2, &c2, e2);
    n = laps(q, c, &s, 3, n, LAPS * CAP);
    expect_pinned(c, 2);
    finish(q, &c2, e2, sizeof e2);
    finish(q, &c1, e1, sizeof e1);
    drain_all(c, &s, n + 2);
    expect_pinned(c, 0);
    n = laps(q, c, &s, 3, n, 2 * CAP); /* the pinned bytes are free space again */
    drain_all(c, &s, n + 2);
    rp_consumer_close(c);
    rp_queue_close(q);
}

Test(pin, stalled_claims_cost_only_their_space)
{
    stalled_claims("pin", 0);
}

/* The same from the one thread of a single-producer queue, whose tail moves
 * by plain stores: going around an image must leave the put at the moved
 * tail, not at the position it started from. */
Test(pin, single_producer_goes_around_pinned_claims, .timeout = 60)
{
    stalled_claims("pin1", RP_OPT_SINGLE_PRODUCER);
}

enum { RESTART_CONSUMER, ABORT_CLAIM };

/* One claim held open while other puts go round the ring twice; then
 * `what` happens and two more laps go round; then the claim is committed
 * (RESTART_CONSUMER) or aborted (ABORT_CLAIM). */
static void hold_then(const char *name, int what)
{
    rp_queue_opts o;
    rp_queue *q;
    rp_claim cl;
    uint8_t ev[200];
    th_sink s;
    uint64_t n;

    rp_consumer *c = open_pair(name, 0, &o, &q, &s);
    claim_half(q, 1, sizeof ev, &cl, ev);
    n = laps(q, c, &s, 3, 0, 2 * CAP);
    expect_pinned(c, 1);
    if (what == RESTART_CONSUMER) {
        rp_consumer_close(c);
        c = th_consumer(name, &o);
        th_tsan_share_mapping(c, q);
        expect_pinned(c, 1);
    } else {
        rp_queue_abort(q, &cl);
    }
    n = laps(q, c, &s, 3, n, 2 * CAP);
    if (what == RESTART_CONSUMER)
        finish(q, &cl, ev, sizeof ev);
    drain_all(c, &s, n + (what == RESTART_CONSUMER));
    expect_pinned(c, 0);
    cr_assert_eq(s.next[1], what == RESTART_CONSUMER, "the held event arrives, unless aborted");
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* The consumer is closed and reopened mid-stall: the next one finds the pin
 * in the ring, keeps the tail going around it, and delivers the event. */
Test(pin, pin_survives_a_consumer_restart)
{
    hold_then("pinre", RESTART_CONSUMER);
}

/* An aborted pinned claim gives its space back; nothing is delivered for it. */
Test(pin, aborted_pinned_claim_gives_its_space_back)
{
    hold_then("pinab", ABORT_CLAIM);
}

/* The owner of a pinned claim is killed (kill -9 in a forked process): the
 * consumer sees its slot lock free, gives the space back, and later laps
 * use it. */
Test(pin, killed_owner_of_a_pinned_claim_is_recovered)
{
    rp_queue_opts o = th_opts(CAP);
    rp_queue *q;
    th_sink s;
    rp_stats st;
    uint64_t n, t0;
    int ready[2];
    char x;

    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        rp_queue *cq;
        rp_claim cl;
        uint8_t ev[96];
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves no child behind */
        alarm(TH_DEADLINE_MS / 1000);
        if (rp_queue_open(&cq, "pinkill", &o) != 0 || rp_queue_claim(cq, sizeof ev, &cl) != 0)
            _exit(1);
        th_ev_fill(ev, 1, 0, sizeof ev);
        memcpy(cl.data, ev, 40);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    cr_assert_eq(read(ready[0], &x, 1), 1, "the child holds its claim");
    cr_assert_eq(rp_queue_open(&q, "pinkill", &o), 0);
    rp_consumer *c = th_consumer("pinkill", &o);
    th_tsan_share_mapping(c, q);
    memset(&s, 0, sizeof s);
    n = laps(q, c, &s, 3, 0, 3 * CAP);
    expect_pinned(c, 1);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    t0 = th_now_ms();
    for (rp_consumer_stats(c, &st); st.pinned != 0 && th_now_ms() - t0 < TH_DEADLINE_MS; rp_consumer_stats(c, &st))
        cr_assert_eq(th_drain(c, &s, UINT64_MAX, 10), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(st.pinned, 0, "the dead owner's pin is given up");
    cr_assert_geq(st.recovered, 1);
    n = laps(q, c, &s, 3, n, 3 * CAP);
    drain_all(c, &s, n);
    cr_assert_eq(s.next[1], 0, "the dead owner's event is never delivered");
    rp_consumer_close(c);
    rp_queue_close(q);
    close(ready[0]);
    close(ready[1]);
}
