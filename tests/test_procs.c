/* Producer processes, one consumer process: the ring shared across
 * processes, including a handle inherited through fork(). */
#include "helpers.h"

#include "check.h"
#include <sys/wait.h>

TestSuite(procs, .fini = th_cleanup);

#define PER_CHILD 100000u

/* Child: produce PER_CHILD events as producer id; exit 0 if all were put. */
static pid_t spawn(rp_queue *inherited, uint32_t id, const rp_queue_opts *o)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid)
        return pid;
    rp_queue *q = inherited;
    if (!q && rp_queue_open(&q, "mp", o) != 0)
        _exit(2);
    _exit(th_produce(q, id, 0, PER_CHILD, TH_EV_MIN, 512, id + 77) == PER_CHILD ? 0 : 1);
}

Test(procs, two_producer_processes_one_consumer)
{
    rp_queue_opts o = th_opts(1 << 18);
    rp_queue *q;
    th_sink s;

    cr_assert_eq(rp_queue_open(&q, "mp", &o), 0);
    rp_consumer *c = th_consumer("mp", &o);
    pid_t a = spawn(q, 1, &o);    /* uses the handle inherited across fork */
    pid_t b = spawn(NULL, 2, &o); /* opens its own */
    memset(&s, 0, sizeof s);
    int rc = th_drain(c, &s, 2 * PER_CHILD, TH_DEADLINE_MS);
    th_reap_ok(a, "producer 1");
    th_reap_ok(b, "producer 2");
    cr_assert_eq(rc, 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.next[1], PER_CHILD);
    cr_assert_eq(s.next[2], PER_CHILD);
    cr_assert_eq(s.events, 2 * PER_CHILD);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* Records carry the pid of the process that wrote them, also through an
 * inherited handle: that is what dead-owner recovery relies on. */
Test(procs, forked_child_stamps_its_own_pid)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    rp_claim cl;

    cr_assert_eq(rp_queue_open(&q, "pid", &o), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        if (rp_queue_claim(q, 16, &cl) != 0)
            _exit(2);
        _exit((pid_t)(cl.word >> 32) == getpid() ? 0 : 1);
    }
    th_reap_ok(child, "child");
    cr_assert_eq(rp_queue_claim(q, 16, &cl), 0);
    cr_assert_eq((pid_t)(cl.word >> 32), getpid());
    rp_queue_abort(q, &cl);
    rp_queue_close(q);
}

/* A single-producer handle must not be shared with a forked child. */
Test(procs, single_producer_handle_refused_after_fork)
{
    rp_queue_opts o = th_opts(1 << 16);
    o.flags = RP_OPT_SINGLE_PRODUCER;
    rp_queue *q;

    cr_assert_eq(rp_queue_open(&q, "spfork", &o), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0)
        _exit(rp_queue_put(q, "x", 1) == RP_EBUSY ? 0 : 1);
    th_reap_ok(child, "child");
    cr_assert_eq(rp_queue_put(q, "x", 1), 0, "the parent keeps its role");
    rp_queue_close(q);
}
