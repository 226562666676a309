/* A producer killed (kill -9) at each point inside a put must not stop the
 * queue, and nothing put() returned 0 for may be lost. A test hook parks
 * the producer at the chosen point; the parent awaits that, then acts.
 * (Stalls: test_stall.c.) */
#include "hook.h"

#include <signal.h>
#include <sys/wait.h>

TestSuite(crash, .fini = th_cleanup);

static void put_seq(rp_queue *q, uint32_t id, uint64_t first, uint64_t n)
{
    cr_assert_eq(th_produce(q, id, first, n, TH_EV_MIN, 300, id), n);
}

#define BEFORE 500u /* events the victim puts before it is stopped */
#define AFTER 500u  /* events another producer puts after */

/* Fork a producer that puts BEFORE events as id 1, then parks at the hook in
 * its next put. Returns its pid once it is parked. */
static pid_t spawn_victim(const rp_queue_opts *o)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        rp_queue *q;
        uint8_t ev[64];
        if (rp_queue_open(&q, "crash", o) != 0 || th_produce(q, 1, 0, BEFORE, TH_EV_MIN, 300, 1) != BEFORE)
            _exit(2);
        th_ev_fill(ev, 1, BEFORE, sizeof ev);
        hook_armed = 1;
        rp_queue_put(q, ev, sizeof ev);
        _exit(4); /* resumed: never, the parent kills us */
    }
    close(stopped[1]); /* so a child that dies early reads as EOF, not a hang */
    await_stopped();
    return pid;
}

/* Kill the parked victim (reaped or left a zombie), let another producer put
 * AFTER events, and check that the consumer delivers all of both, covers
 * the dead reservation (`recovered` of them: 0 if the victim died before it
 * reserved), and does so within `within_ms`. Death is proven by the
 * victim's slot lock, which the kernel drops: no timer is involved. */
static void kill_and_check(int where, int reap, int put_after, uint64_t recovered, uint64_t within_ms)
{
    rp_queue_opts o = th_opts(1 << 20); /* BEFORE + AFTER events fit */
    rp_queue *q;
    th_sink s;
    int status;

    hook_setup(where);
    cr_assert_eq(rp_queue_open(&q, "crash", &o), 0);
    rp_consumer *c = th_consumer("crash", &o);
    pid_t victim = spawn_victim(&o);
    cr_assert_eq(kill(victim, SIGKILL), 0);
    if (reap)
        cr_assert_eq(waitpid(victim, &status, 0), victim);
    if (put_after)
        put_seq(q, 2, 0, AFTER);

    uint64_t t0 = th_now_ms();
    memset(&s, 0, sizeof s);
    int rc = th_drain(c, &s, BEFORE + (put_after ? AFTER : 0), TH_DEADLINE_MS);
    cr_assert_eq(rc, 0, "poll: %s", rp_consumer_why(c));
    /* the cover happens on a poll after the last event: await it. A victim
     * still exiting when the consumer first looks (kill(2) returns before
     * its files are closed: an ASan process unmaps its shadow first) is
     * judged alive, and its record is stepped past and pinned, so head
     * reaches tail before the record is covered: await the cover too. */
    rp_stats st;
    for (rp_consumer_stats(c, &st);
         (st.head != st.tail || st.recovered < recovered) && th_now_ms() - t0 < TH_DEADLINE_MS;
         rp_consumer_stats(c, &st)) {
        rp_event ev[4];
        rp_batch b = { ev, 4, 0, 0, 0, 0 };
        cr_assert_eq(rp_consumer_poll(c, &b, 1 << 20), 0, "no extra events");
        rp_consumer_wait(c, 20);
    }
    uint64_t took = th_now_ms() - t0;
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.next[1], BEFORE, "victim's events: %llu", (unsigned long long)s.next[1]);
    cr_assert_eq(s.next[2], put_after ? AFTER : 0);
    cr_assert_eq(st.head, st.tail, "the queue is moving again");
    cr_assert_eq(st.recovered, recovered, "%llu reservations recovered, not %llu", (unsigned long long)st.recovered,
                 (unsigned long long)recovered);
    cr_assert_eq(st.stalled, 0, "nothing reported stalled");
    cr_assert_lt(took, within_ms, "recovery took %llu ms", (unsigned long long)took);

    /* and the queue keeps working */
    put_seq(q, 3, 0, 10);
    cr_assert_eq(th_drain(c, &s, s.events + 10, TH_DEADLINE_MS), 0);
    cr_assert_eq(s.next[3], 10);
    if (!reap)
        waitpid(victim, &status, 0);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* Killed after naming its reservation, before the tail CAS: nothing was
 * reserved; its stale intent names the tail, which the next put takes. */
Test(crash, killed_before_reserve_leaves_nothing)
{
    kill_and_check(RP_HOOK_INTENT, 1, 1, 0, 5000);
}

/* Killed between the tail CAS and any write: its intent names the record,
 * its slot lock is free: covered at once. */
Test(crash, killed_after_reserve_with_later_events)
{
    kill_and_check(RP_HOOK_RESERVED, 1, 1, 1, 5000);
}

Test(crash, killed_after_reserve_at_tail)
{
    kill_and_check(RP_HOOK_RESERVED, 1, 0, 1, 5000);
}

Test(crash, killed_after_claim)
{
    kill_and_check(RP_HOOK_CLAIMED, 1, 1, 1, 5000);
}

Test(crash, killed_after_copy)
{
    kill_and_check(RP_HOOK_COPIED, 1, 1, 1, 5000);
}

/* A zombie (killed, not yet reaped by its parent) has closed its files:
 * its locks are gone, so it is dead too. */
Test(crash, killed_unreaped_zombie_detected)
{
    kill_and_check(RP_HOOK_COPIED, 0, 1, 1, 5000);
}
