/* A producer killed (kill -9) or stalled at each point inside a put must not
 * stop the queue, and nothing put() returned 0 for may be lost. A test hook
 * parks the producer at the chosen point; the parent awaits that, then acts. */
#include <unistd.h>

static void th_hook(int where);
#define RP_TEST_HOOK(where) th_hook(where)
#include "helpers.h"

#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

TestSuite(crash, .fini = th_cleanup);

/* The hook: the armed thread, on reaching hook_at, writes one byte to
 * stopped[1], then blocks reading resume[0] (forever, if it is killed). */
static int hook_at;
static __thread int hook_armed;
static int stopped[2], resume[2];

static void th_hook(int where)
{
    char x = 1;
    if (!hook_armed || where != hook_at)
        return;
    hook_armed = 0;
    if (write(stopped[1], &x, 1) != 1 || read(resume[0], &x, 1) != 1)
        _exit(3);
}

static void hook_setup(int where)
{
    hook_at = where;
    cr_assert_eq(pipe(stopped), 0);
    cr_assert_eq(pipe(resume), 0);
}

static void await_stopped(void)
{
    char x;
    cr_assert_eq(read(stopped[0], &x, 1), 1, "the producer never reached the hook");
}

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
 * AFTER events, and check that the consumer delivers all of both, skips the
 * dead reservation once, and does so within `within_ms`. */
static void kill_and_check(int where, uint32_t recover_ms, int reap, int put_after, uint64_t within_ms)
{
    rp_queue_opts o = th_opts(1 << 20); /* BEFORE + AFTER events fit */
    o.recover_ms = recover_ms;
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
    /* the skip happens on the poll after the last event: wait for it */
    rp_stats st;
    for (rp_consumer_stats(c, &st); st.head != st.tail && th_now_ms() - t0 < TH_DEADLINE_MS;
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
    cr_assert_eq(st.recovered, 1, "one reservation recovered, not %llu", (unsigned long long)st.recovered);
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

/* Killed between the tail CAS and the header: no owner is known, so only
 * the timeout (200 ms here) can free the space. */
Test(crash, killed_after_reserve_with_later_events)
{
    kill_and_check(RP_HOOK_RESERVED, 200, 1, 1, 10000);
}

/* Same, with nothing after it: the consumer gives arriving producers a
 * second period, then skips to the tail. */
Test(crash, killed_after_reserve_at_tail)
{
    kill_and_check(RP_HOOK_RESERVED, 200, 1, 0, 10000);
}

/* Killed with a BUSY header: the owner is known dead, so recovery does not
 * wait for the (60 s) timeout. */
Test(crash, killed_after_claim_dead_owner_detected)
{
    kill_and_check(RP_HOOK_CLAIMED, 60000, 1, 1, 10000);
}

Test(crash, killed_after_copy_dead_owner_detected)
{
    kill_and_check(RP_HOOK_COPIED, 60000, 1, 1, 10000);
}

/* A zombie (killed, not yet reaped by its parent) is dead too. */
Test(crash, killed_unreaped_zombie_detected)
{
    kill_and_check(RP_HOOK_COPIED, 60000, 0, 1, 10000);
}

/* A thread stalled inside put past recover_ms: the consumer skips its
 * reservation, and the stalled put then fails with RP_EABANDONED instead of
 * pretending success. */
typedef struct {
    rp_queue *q;
    int rc;
} stall_arg;

static void *stalling_put(void *p)
{
    stall_arg *a = (stall_arg *)p;
    uint8_t ev[64];
    th_ev_fill(ev, 1, 0, sizeof ev);
    hook_armed = 1;
    a->rc = rp_queue_put(a->q, ev, sizeof ev);
    return NULL;
}

static void stall_and_check(int where)
{
    rp_queue_opts o = th_opts(1 << 20);
    o.recover_ms = 100;
    rp_queue *q;
    pthread_t t;
    stall_arg a;
    th_sink s;
    char x = 1;

    hook_setup(where);
    cr_assert_eq(rp_queue_open(&q, "stall", &o), 0);
    rp_consumer *c = th_consumer("stall", &o);
    th_tsan_share_mapping(c, q);
    a.q = q;
    a.rc = 1;
    cr_assert_eq(pthread_create(&t, NULL, stalling_put, &a), 0);
    await_stopped();
    put_seq(q, 2, 0, AFTER);
    memset(&s, 0, sizeof s);
    cr_assert_eq(th_drain(c, &s, AFTER, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.recovered, 1);
    cr_assert_eq(write(resume[1], &x, 1), 1);
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, RP_EABANDONED, "stalled put returned %d (%s)", a.rc, rp_strerror(a.rc));
    /* the abandoned event never appears, later ones do */
    put_seq(q, 3, 0, 10);
    cr_assert_eq(th_drain(c, &s, AFTER + 10, TH_DEADLINE_MS), 0);
    cr_assert_eq(s.next[1], 0, "the abandoned event was not delivered");
    cr_assert_eq(s.next[3], 10);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    rp_consumer_close(c);
    rp_queue_close(q);
}

Test(crash, stalled_after_reserve_gets_abandoned)
{
    stall_and_check(RP_HOOK_RESERVED);
}

Test(crash, stalled_after_copy_gets_abandoned)
{
    stall_and_check(RP_HOOK_COPIED);
}
