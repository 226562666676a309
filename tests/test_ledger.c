/* ledger.h: ring space goes back only in ring order, and only once every
 * batch holding its events is safe; a batch moves only along the state
 * diagram (a move off it aborts a debug build); each sealed batch is handed
 * out for sending exactly once. A real ring underneath: what the ledger
 * releases is what the ring's tail shows. */
#include "check.h"
#include "helpers.h"
#include "ledger.h"

#include "ringpub.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(ledger, .fini = th_cleanup);

static const char no_id[SPOOL_ID_MAX];

typedef struct fixture {
    rp_queue *q;
    rp_consumer *c;
    pub_seals seals; /* not in use (f == NULL): no log file */
    pub_lane lanes[2];
    pub_ledger g;
} fixture;

static void setup(fixture *f, int events)
{
    rp_queue_opts o = th_opts(64 << 10);
    char ev[64];
    memset(f, 0, sizeof *f);
    cr_assert_eq(rp_queue_open(&f->q, "ledger", &o), 0);
    f->c = th_consumer("ledger", &o);
    for (int i = 0; i < events; i++) {
        th_ev_fill(ev, 0, (uint64_t)i, sizeof ev);
        cr_assert_eq(rp_queue_put(f->q, ev, sizeof ev), 0);
    }
    for (int i = 0; i < 2; i++)
        f->lanes[i].index = i;
}

static void teardown(fixture *f)
{
    pub_ledger_free(&f->g);
    rp_consumer_close(f->c);
    rp_queue_close(f->q);
}

/* Poll one event: its chunk records which lane took it (lane < 0: none)
 * and whether that lane's building batch still holds it. */
static void poll_one(fixture *f, int lane, int building)
{
    rp_event ev[1];
    rp_batch b = { ev, 1, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(f->c, &b, 1 << 20), 1, "%s", rp_consumer_why(f->c));
    if (lane >= 0) {
        f->lanes[lane].touched = 1;
        f->lanes[lane].building.count = building ? 1 : 0;
    }
    cr_assert_eq(pub_ledger_chunk(&f->g, &b, f->lanes, 2), 0);
}

/* Lane `lane` seals its building batch: a NEW batch in the FIFO. */
static pub_out *seal(fixture *f, int lane)
{
    pub_out *o = pub_out_new(&f->lanes[lane], no_id);
    cr_assert(o);
    o->seq = pub_ledger_seq(&f->g);
    pub_ledger_tie(&f->g, &f->lanes[lane], o->seq);
    f->lanes[lane].building.count = 0;
    pub_ledger_append(&f->g, o);
    return o;
}

static void deliver(pub_out *o)
{
    pub_out_to(o, OUT_SENDING);
    pub_out_to(o, OUT_SAFE);
}

static uint64_t released_events(fixture *f)
{
    rp_stats s;
    rp_consumer_stats(f->c, &s);
    return s.events_out;
}

Test(ledger, a_chunk_waits_for_the_newest_batch_holding_its_events)
{
    fixture f;
    setup(&f, 2);
    poll_one(&f, 0, 1);                  /* event 0: in lane 0's building batch */
    pub_out *a = seal(&f, 0);            /* batch A holds it */
    poll_one(&f, 0, 1);                  /* event 1: in the next building batch */
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 0, "released before batch A is safe");
    pub_out *b = seal(&f, 0);            /* batch B holds event 1 */
    deliver(b);                          /* B is safe, A is not: nothing may go */
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 0, "released past an unsafe batch");
    cr_assert_eq(released_events(&f), 0);
    deliver(a);
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 2);
    cr_assert_eq(released_events(&f), 2);
    cr_assert_eq(f.g.n_outs, 0);
    teardown(&f);
}

Test(ledger, a_chunk_without_batches_still_waits_for_the_chunks_before_it)
{
    fixture f;
    setup(&f, 3);
    poll_one(&f, 1, 1);                  /* event 0: lane 1's building batch */
    poll_one(&f, -1, 0);                 /* event 1: filtered, in no batch */
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 0, "released out of ring order");
    pub_out *a = seal(&f, 1);
    poll_one(&f, 0, 1);                  /* event 2: lane 0, still building */
    deliver(a);
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 2, "events 0 and 1 go, 2 stays");
    cr_assert_eq(released_events(&f), 2);
    deliver(seal(&f, 0));
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 1);
    cr_assert_eq(released_events(&f), 3);
    teardown(&f);
}

/* A split: the second half sits right behind the first, with its seq; the
 * chunk goes only when both are safe. */
Test(ledger, both_halves_of_a_split_hold_the_chunk)
{
    fixture f;
    setup(&f, 1);
    poll_one(&f, 0, 1);
    pub_out *a = seal(&f, 0);
    pub_out_to(a, OUT_SENDING);          /* answered 413: halved */
    pub_out *half = pub_out_new(&f.lanes[0], no_id);
    half->seq = a->seq;
    pub_ledger_insert(&f.g, a, half);
    pub_out_to(a, OUT_SENDING);
    pub_out_to(a, OUT_SAFE);
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 0, "released with half a batch unsafe");
    deliver(half);
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 1);
    cr_assert_eq(f.g.tail, NULL);
    teardown(&f);
}

Test(ledger, each_new_batch_is_handed_out_once_and_rebuilt_safe_ones_never)
{
    fixture f;
    setup(&f, 0);
    pub_out *a = seal(&f, 0), *r = seal(&f, 0), *b = seal(&f, 1);
    (void)a;
    cr_assert_eq(pub_ledger_fresh(&f.g), a);
    pub_out_to(r, OUT_SAFE);             /* rebuilt after a restart, safe in the last run */
    deliver(a);
    cr_assert_eq(pub_ledger_release(&f.g, f.c, &f.seals), 0); /* frees a and r: no chunks */
    cr_assert_eq(f.g.outs, b);
    cr_assert_eq(pub_ledger_fresh(&f.g), b, "the freed rebuilt batch was handed out");
    cr_assert_eq(pub_ledger_fresh(&f.g), NULL, "a batch was handed out twice");
    pub_out *c = seal(&f, 0);
    cr_assert_eq(pub_ledger_fresh(&f.g), c);
    teardown(&f);
}

/* Run moves[n][2] on one batch in a child; its exit status. */
static int moves_in_child(const out_state (*moves)[2], int n)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY); /* the assertion's message: expected, not shown */
        if (null >= 0)
            dup2(null, 2);
        for (int i = 0; i < n; i++) {
            pub_out *o = pub_out_new(NULL, no_id);
            o->state = moves[i][0];
            pub_out_to(o, moves[i][1]);
            pub_out_free(o);
        }
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

Test(ledger, every_edge_of_the_diagram_is_allowed_and_nothing_else)
{
    /* ledger.h's list, edge by edge */
    static const out_state edges[][2] = {
        { OUT_NEW, OUT_SENDING },      { OUT_NEW, OUT_SPOOLING },      { OUT_NEW, OUT_WAITING },
        { OUT_NEW, OUT_SAFE },         { OUT_SENDING, OUT_SENDING },  { OUT_SENDING, OUT_SPOOLING },
        { OUT_SENDING, OUT_WAITING },  { OUT_SENDING, OUT_SAFE },     { OUT_WAITING, OUT_SENDING },
        { OUT_WAITING, OUT_SPOOLING }, { OUT_WAITING, OUT_WAITING },  { OUT_WAITING, OUT_SAFE },
        { OUT_SPOOLING, OUT_WAITING }, { OUT_SPOOLING, OUT_SAFE },
    };
    int n = (int)(sizeof edges / sizeof *edges);
    int st = moves_in_child(edges, n);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an edge of the diagram aborted (status %#x)", st);
    int refused = 0;
    for (int from = OUT_NEW; from <= OUT_SAFE; from++)
        for (int to = OUT_NEW; to <= OUT_SAFE; to++) {
            int listed = 0;
            for (int i = 0; i < n; i++)
                listed |= (int)edges[i][0] == from && (int)edges[i][1] == to;
            if (listed)
                continue;
            const out_state move[1][2] = { { (out_state)from, (out_state)to } };
            st = moves_in_child(move, 1);
            cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "move %d -> %d was allowed (status %#x)", from,
                      to, st);
            refused++;
        }
    cr_assert_eq(refused, 25 - n);
}
