/* A producer that stalls (SIGSTOP, CPU throttling, a page fault on a loaded
 * host) for any time at any point of a put keeps its reservation: its put
 * returns 0 and its event arrives intact, the events behind it keep being
 * delivered meanwhile, and nothing is recovered or reused under it. Also:
 * a consumer in its own PID namespace (the Kubernetes sidecar), and a
 * producer killed in the middle of waking the consumer. */
#include "hook.h"

#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

TestSuite(stall, .fini = th_cleanup);

#define STALL_MS 1500u /* longer than the 1 s recovery timer layout 1 had */
#define AFTER 500u

typedef struct {
    rp_queue *q;
    size_t len;
    int rc;
} stall_arg;

static void *stalling_put(void *p)
{
    stall_arg *a = (stall_arg *)p;
    uint8_t ev[512];
    th_ev_fill(ev, 1, 0, a->len);
    hook_armed = 1;
    a->rc = rp_queue_put(a->q, ev, a->len);
    return NULL;
}

/* Open ring `name` and its consumer, and start a thread whose put parks at
 * hook `where`; returns the consumer once that thread is parked. */
static rp_consumer *start_stall(const char *name, const rp_queue_opts *o, int where, stall_arg *a, pthread_t *t)
{
    hook_setup(where);
    cr_assert_eq(rp_queue_open(&a->q, name, o), 0);
    rp_consumer *c = th_consumer(name, o);
    th_tsan_share_mapping(c, a->q);
    cr_assert_eq(pthread_create(t, NULL, stalling_put, a), 0);
    await_stopped();
    return c;
}

/* Keep polling (and verifying, releasing) for ms milliseconds. */
static void drain_for(rp_consumer *c, th_sink *s, uint64_t ms)
{
    cr_assert_eq(th_drain(c, s, UINT64_MAX, (int)ms), 0, "poll: %s", rp_consumer_why(c));
}

static void await_drained(rp_consumer *c, th_sink *s)
{
    rp_stats st;
    uint64_t t0 = th_now_ms();
    for (rp_consumer_stats(c, &st); st.head != st.tail && th_now_ms() - t0 < TH_DEADLINE_MS;
         rp_consumer_stats(c, &st))
        drain_for(c, s, 10);
    cr_assert_eq(st.head, st.tail, "all space released");
}

static void stall_and_check(int where)
{
    rp_queue_opts o = th_opts(1 << 20);
    rp_queue *q;
    pthread_t t;
    stall_arg a = { NULL, 64, 1 };
    th_sink s;
    rp_stats st;

    rp_consumer *c = start_stall("stall", &o, where, &a, &t);
    q = a.q;
    cr_assert_eq(th_produce(q, 2, 0, AFTER, TH_EV_MIN, 300, 2), AFTER);
    memset(&s, 0, sizeof s);
    cr_assert_eq(th_drain(c, &s, AFTER, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.next[2], AFTER, "the events behind the stalled one are delivered");
    drain_for(c, &s, STALL_MS);
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.stalled, 1, "the stall is reported");
    cr_assert_neq(st.stalled_since_unix_ns, 0);
    cr_assert_eq(st.recovered, 0, "a live producer's reservation is never taken");
    cr_assert_eq(s.next[1], 0);

    hook_resume();
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, 0, "the stalled put succeeds: %d (%s)", a.rc, rp_strerror(a.rc));
    cr_assert_eq(th_drain(c, &s, AFTER + 1, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.next[1], 1, "and its event arrives");
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    await_drained(c, &s);
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.stalled, 0);
    cr_assert_eq(s.events, AFTER + 1, "exactly once each");
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* Stalled between the tail CAS and any write (layout 1 covered it with SKIP
 * after its timer and the put failed, or won a CAS against a later lap). */
Test(stall, after_reserve_keeps_its_reservation)
{
    stall_and_check(RP_HOOK_RESERVED);
}

/* Stalled after copying, before the commit (layout 1 skipped it and
 * recycled the space under the copy). */
Test(stall, after_copy_keeps_its_reservation)
{
    stall_and_check(RP_HOOK_COPIED);
}

/* A poll that begins at a stalled record hands out the events after it in a
 * batch that starts at the record; the record's own event comes later in a
 * batch of its own. Released in the opposite order (the stalled one first),
 * both releases are accepted and the ring is given back whole. */
Test(stall, batch_beginning_at_a_hole_released_after_the_hole)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    pthread_t t;
    stall_arg a = { NULL, 64, 1 };
    rp_event ev[64], hev[4];
    rp_batch b = { ev, 64, 0, 0, 0, 0 }, hb = { hev, 4, 0, 0, 0, 0 };
    rp_stats st;

    rp_consumer *c = start_stall("holefirst", &o, RP_HOOK_COPIED, &a, &t);
    q = a.q;
    cr_assert_eq(th_produce(q, 2, 0, 10, TH_EV_MIN, 100, 2), 10);
    uint64_t t0 = th_now_ms();
    int n = 0;
    while ((n = rp_consumer_poll(c, &b, 1 << 20)) == 0 && th_now_ms() - t0 < TH_DEADLINE_MS)
        rp_consumer_wait(c, 10);
    cr_assert_eq(n, 10, "the events behind the stalled one: %d (%s)", n, rp_consumer_why(c));
    rp_consumer_stats(c, &st);
    cr_assert_eq(b.start, st.head, "the batch begins at the stalled record");
    hook_resume();
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, 0);
    t0 = th_now_ms();
    while ((n = rp_consumer_poll(c, &hb, 1 << 20)) == 0 && th_now_ms() - t0 < TH_DEADLINE_MS)
        rp_consumer_wait(c, 10);
    cr_assert_eq(n, 1, "then the stalled event alone");
    cr_assert_eq(hb.start, b.start);
    cr_assert_eq(rp_consumer_release(c, &hb), 0);
    cr_assert_eq(rp_consumer_release(c, &b), 0, "the batch that began at it is still released");
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, st.tail, "all space given back");
    cr_assert_eq(st.events_out, 11);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* Adversarial payloads, many laps of attempts, same lengths, same process:
 * a thread stalls inside its put while another thread of
 * the same process fills the ring again and again with events of the same
 * length whose every word looks like a ring control word (free words of
 * layout 1, headers of layout 2, zeros). The stalled put must succeed and
 * arrive; every accepted event arrives once, intact; none is damaged. */
#define FORGE_LEN 96u

static uint64_t forged_word(uint64_t seq, size_t i, uint32_t slot)
{
    switch ((seq + i) % 6) {
    case 0: return 0;
    case 1: return (uint64_t)((seq + i) % 8) << 32;                        /* FREE(lap), layout 1 */
    case 2: return rp__rec_word(RP_REC_COMMIT, FORGE_LEN, slot);            /* a committed header */
    case 3: return rp__rec_word(RP_REC_SKIP, (uint32_t)(i * 8), slot);      /* padding */
    case 4: return rp__intent(seq * rp__rec_size(FORGE_LEN), rp__rec_size(FORGE_LEN));
    default: return (uint64_t)(1u << 31 | FORGE_LEN) | (uint64_t)getpid() << 32; /* BUSY, layout 1 */
    }
}

static void forge(uint8_t *ev, uint64_t seq, uint32_t slot)
{
    uint64_t w[FORGE_LEN / 8];
    w[0] = 0xf0f0000000000000ull | seq;
    for (size_t i = 1; i < FORGE_LEN / 8; i++)
        w[i] = forged_word(seq, i, slot);
    memcpy(ev, w, FORGE_LEN);
}

static void forge_across_laps(int where)
{
    rp_queue_opts o = th_opts(1 << 14);
    rp_queue *q;
    pthread_t t;
    stall_arg a = { NULL, FORGE_LEN, 1 };
    uint64_t put = 0, full = 0, got = 0, stalled_got = 0, attempts;
    uint8_t ev[FORGE_LEN], want[FORGE_LEN];

    rp_consumer *c = start_stall("forge", &o, where, &a, &t);
    q = a.q;
    /* four laps' worth of attempts, over at least STALL_MS */
    attempts = 4 * (1 << 14) / rp__rec_size(FORGE_LEN);
    uint64_t t0 = th_now_ms();
    for (uint64_t k = 0; (k < attempts || th_now_ms() - t0 < STALL_MS) && th_now_ms() - t0 < TH_DEADLINE_MS; k++) {
        forge(ev, put, 7);
        int rc = rp_queue_put(q, ev, FORGE_LEN);
        cr_assert(rc == 0 || rc == RP_EFULL, "put: %s", rp_strerror(rc));
        put += rc == 0;
        full += rc == RP_EFULL;
        rp_event evs[64];
        rp_batch b = { evs, 64, 0, 0, 0, 0 };
        int n = rp_consumer_poll(c, &b, 1 << 20);
        cr_assert_geq(n, 0, "poll: %s", rp_consumer_why(c));
        for (int i = 0; i < n; i++) {
            cr_assert_eq(evs[i].len, FORGE_LEN);
            forge(want, got, 7);
            cr_assert_eq(memcmp(evs[i].data, want, FORGE_LEN), 0, "event %llu intact", (unsigned long long)got);
            got++;
        }
        cr_assert_eq(rp_consumer_release(c, &b), 0);
        if (rc == RP_EFULL)
            sched_yield();
    }
    /* Either the stalled reservation held the ring (later puts refused) or,
     * once it counted as stalled, puts went around its pinned image for four
     * laps: which one depends on how long the set-up took (a loaded machine:
     * the latter). Neither may lose or damage an event (checked above and below). */
    cr_assert(full > 0 || put >= attempts, "%llu puts, %llu refused: the ring was not exercised across laps",
              (unsigned long long)put, (unsigned long long)full);
    hook_resume();
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, 0, "the stalled put succeeds: %s", rp_strerror(a.rc));
    t0 = th_now_ms();
    while ((got < put || stalled_got == 0) && th_now_ms() - t0 < TH_DEADLINE_MS) {
        rp_event evs[64];
        rp_batch b = { evs, 64, 0, 0, 0, 0 };
        int n = rp_consumer_poll(c, &b, 1 << 20);
        cr_assert_geq(n, 0, "poll: %s", rp_consumer_why(c));
        for (int i = 0; i < n; i++) {
            uint32_t id;
            uint64_t seq;
            if (evs[i].len == FORGE_LEN && ((const uint64_t *)evs[i].data)[0] >> 52 == 0xf0f) {
                forge(want, got, 7);
                cr_assert_eq(memcmp(evs[i].data, want, FORGE_LEN), 0, "event %llu intact", (unsigned long long)got);
                got++;
            } else {
                cr_assert(th_ev_check(evs[i].data, evs[i].len, &id, &seq) && id == 1 && seq == 0,
                          "the stalled event, intact");
                stalled_got++;
            }
        }
        cr_assert_eq(rp_consumer_release(c, &b), 0);
        if (n == 0)
            rp_consumer_wait(c, 10);
    }
    cr_assert_eq(got, put, "every accepted event once: %llu of %llu", (unsigned long long)got,
                 (unsigned long long)put);
    cr_assert_eq(stalled_got, 1);
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.recovered, 0);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* Stalled after its tail CAS, before any write (layout 1: its header CAS
 * later won against a payload word of the next lap that equalled FREE). */
Test(stall, forged_control_words_across_laps_cannot_hurt)
{
    forge_across_laps(RP_HOOK_RESERVED);
}

/* Stalled after its header, same length, same process as the other
 * producer thread (layout 1: its commit CAS later won against that
 * thread's claim one lap on, and the other put was told RP_EABANDONED for
 * an event that was delivered). */
Test(stall, stalled_commit_cannot_land_on_a_later_claim)
{
    forge_across_laps(RP_HOOK_COPIED);
}

/* The Kubernetes sidecar: the consumer runs in its own PID namespace, where
 * the producer's pid means nothing (layout 1 probed it with kill(), took the
 * live producer for dead and recovered its reservation under the copy).
 * The producer stalls mid-put; the consumer, in a new PID namespace, must
 * report the stall, not recover it, and deliver the event when it commits. */
Test(stall, consumer_in_its_own_pid_namespace)
{
    rp_queue_opts o = th_opts(1 << 20);
    int seen[2];
    char x;
    int status;

    hook_setup(RP_HOOK_COPIED);
    cr_assert_eq(pipe(seen), 0);
    rp_queue *q0;
    cr_assert_eq(rp_queue_open(&q0, "ns", &o), 0);
    rp_queue_close(q0);
    pid_t prod = fork();
    cr_assert_neq(prod, -1);
    if (prod == 0) {
        rp_queue *q;
        uint8_t ev[64];
        close(seen[1]); /* only the consumer may hold it: its exit reads as EOF */
        if (rp_queue_open(&q, "ns", &o) != 0 || th_produce(q, 1, 0, AFTER, TH_EV_MIN, 300, 1) != AFTER)
            _exit(2);
        th_ev_fill(ev, 1, AFTER, sizeof ev);
        hook_armed = 1;
        _exit(rp_queue_put(q, ev, sizeof ev) == 0 ? 0 : 1);
    }
    await_stopped();
    pid_t cons = fork();
    cr_assert_neq(cons, -1);
    if (cons == 0) {
        if (unshare(CLONE_NEWPID) != 0)
            _exit(77);
        pid_t g = fork(); /* pid 1 of the new namespace */
        if (g == 0) {
            rp_consumer *c;
            th_sink s;
            rp_stats st;
            char why[256], one = 1;
            if (rp_consumer_open(&c, "ns", &o, why, sizeof why) != 0)
                _exit(10);
            memset(&s, 0, sizeof s);
            if (th_drain(c, &s, AFTER, TH_DEADLINE_MS) != 0 || s.next[1] != AFTER)
                _exit(11);
            uint64_t t0 = th_now_ms();
            do {
                th_drain(c, &s, AFTER + 1, 10);
                rp_consumer_stats(c, &st);
            } while (st.stalled == 0 && th_now_ms() - t0 < TH_DEADLINE_MS);
            if (st.stalled != 1 || st.recovered != 0 || write(seen[1], &one, 1) != 1)
                _exit(12);
            if (th_drain(c, &s, AFTER + 1, TH_DEADLINE_MS) != 0 || s.next[1] != AFTER + 1 || s.bad)
                _exit(13);
            rp_consumer_stats(c, &st);
            _exit(st.recovered == 0 ? 0 : 14);
        }
        if (g < 0 || waitpid(g, &status, 0) != g)
            _exit(15);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 16);
    }
    close(seen[1]);
    struct pollfd pf = { seen[0], POLLIN, 0 };
    if (poll(&pf, 1, 2 * TH_DEADLINE_MS) != 1 || read(seen[0], &x, 1) != 1) { /* the consumer gave up: say why */
        kill(cons, SIGKILL);
        kill(prod, SIGKILL);
        waitpid(prod, NULL, 0);
        cr_assert_eq(waitpid(cons, &status, 0), cons);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
            cr_skip_test("no PID namespaces here (unshare: not root?)");
        cr_assert(0, "consumer in its namespace failed before seeing the stall: status %#x", status);
    }
    usleep(300 * 1000); /* the stall goes on a while after the consumer saw it */
    hook_resume();
    cr_assert_eq(waitpid(prod, &status, 0), prod);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the stalled put returned 0: status %#x", status);
    cr_assert_eq(waitpid(cons, &status, 0), cons);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the consumer got every event intact: status %#x",
              status);
}

/* A producer killed in the middle of waking the sleeping consumer (after it
 * saw `sleeping`, before its wake-up) must not leave it asleep for good:
 * the next put wakes it (layout 1 cleared `sleeping` first, so later
 * producers saw 0 and woke no one). */
Test(stall, producer_killed_mid_wake_leaves_the_consumer_wakeable)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    pthread_t t;
    th_waiter w;
    th_sink s;

    hook_setup(RP_HOOK_WAKE);
    cr_assert_eq(rp_queue_open(&q, "wake", &o), 0);
    w.c = th_consumer("wake", &o);
    cr_assert_eq(pthread_create(&t, NULL, th_wait_thread, &w), 0);
    uint64_t deadline = th_now_ms() + TH_DEADLINE_MS;
    while (!__atomic_load_n(&q->m.hdr->sleeping, __ATOMIC_SEQ_CST) && th_now_ms() < deadline)
        sched_yield();
    pid_t victim = fork();
    cr_assert_neq(victim, -1);
    if (victim == 0) {
        rp_queue *vq;
        uint8_t ev[64];
        th_ev_fill(ev, 1, 0, sizeof ev);
        hook_armed = 1;
        if (rp_queue_open(&vq, "wake", &o) != 0)
            _exit(2);
        rp_queue_put(vq, ev, sizeof ev);
        _exit(4); /* not reached: killed at the hook */
    }
    close(stopped[1]);
    await_stopped();
    cr_assert_eq(kill(victim, SIGKILL), 0);
    cr_assert_eq(waitpid(victim, NULL, 0), victim);
    uint8_t ev[64];
    th_ev_fill(ev, 2, 0, sizeof ev);
    cr_assert_eq(rp_queue_put(q, ev, sizeof ev), 0);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, 0);
    cr_assert_lt(w.waited_ms, 10000, "woken by the next put, after %llu ms", (unsigned long long)w.waited_ms);
    memset(&s, 0, sizeof s);
    cr_assert_eq(th_drain(w.c, &s, 2, TH_DEADLINE_MS), 0);
    cr_assert_eq(s.next[1], 1, "the killed producer's committed event arrives");
    cr_assert_eq(s.next[2], 1);
    rp_consumer_close(w.c);
    rp_queue_close(q);
}
