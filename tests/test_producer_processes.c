/* Producer processes, one consumer process: the ring shared across
 * processes, including a handle inherited through fork(). */
#include "helpers.h"

#include "check.h"
#include <sys/wait.h>

TestSuite(producer_processes, .fini = th_cleanup);

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

Test(producer_processes, two_producer_processes_one_consumer)
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

/* The slot a claim was made through: its CLAIM header says. */
static uint32_t claim_slot(const rp_claim *cl)
{
    uint64_t w = __atomic_load_n((const uint64_t *)cl->data - 1, __ATOMIC_ACQUIRE);
    return (uint32_t)(w >> 32) & 0xffffu;
}

/* A forked child that puts through an inherited handle takes a slot of its
 * own, locked through a descriptor of its own: the parent's lock does not
 * cover it, so its death is visible while the parent lives (pre-fork
 * servers: open in the master, put in the workers). */
Test(producer_processes, forked_child_holds_its_own_slot_lock)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    rp_claim cl;
    int rel[2], go[2];
    char x = 0;

    cr_assert_eq(rp_queue_open(&q, "pid", &o), 0);
    cr_assert_eq(rp_queue_claim(q, 16, &cl), 0);
    uint32_t parent_slot = claim_slot(&cl);
    rp_queue_abort(q, &cl);
    cr_assert_eq(pipe(rel), 0);
    cr_assert_eq(pipe(go), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        if (rp_queue_claim(q, 16, &cl) != 0)
            _exit(2);
        x = (char)claim_slot(&cl);
        if (write(rel[1], &x, 1) != 1 || read(go[0], &x, 1) != 1) /* hold the claim until told */
            _exit(3);
        _exit(claim_slot(&cl) != parent_slot ? 0 : 1);
    }
    cr_assert_eq(read(rel[0], &x, 1), 1);
    uint32_t child_slot = (uint8_t)x;
    cr_assert_neq(child_slot, parent_slot, "the child has a slot of its own");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", q->m.fd);
    int fd = open(path, O_RDWR | O_CLOEXEC); /* a description of our own, as the consumer has */
    cr_assert_geq(fd, 0);
    cr_assert_eq(rp__lock_held(fd, RP_LOCK_SLOT0 + child_slot), 1, "the child's slot is locked while it lives");
    cr_assert_eq(write(go[1], &x, 1), 1);
    th_reap_ok(child, "child");
    cr_assert_eq(rp__lock_held(fd, RP_LOCK_SLOT0 + child_slot), 0, "and free once it died, though its parent lives");
    close(fd);
    rp_queue_close(q);
}

/* A single-producer handle must not be shared with a forked child. */
Test(producer_processes, single_producer_handle_refused_after_fork)
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
