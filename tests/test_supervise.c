/* A processor that crashes, end to end: the real `ringpub` binary with a
 * stand-in bug (tests/contain/crashy.c, LD_PRELOADed: a real SIGSEGV inside
 * the processor chain on events holding "__crash_me__"), `ringcollect` on
 * 127.0.0.1. ringpub must stay up (its supervisor restarts the daemon),
 * every other event must be delivered, each crashing event must land in
 * the error stream, counted, and the ring must be released. */
#include "rig.h"

#include "check.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(supervise, .fini = rig_fini);

static void setup(void)
{
    mkdir(path_in("out"), 0700);
    setenv("RINGPUB_DIR", th_dir(), 1);
}

/* ringpub with the stand-in bug preloaded (the collector runs without it). */
static pid_t crashy_daemon(void)
{
    char lib[600];
    snprintf(lib, sizeof lib, "%s/../test/libcrashy.so", getenv("RINGPUB_BIN_DIR") ? getenv("RINGPUB_BIN_DIR")
                                                                                    : "zig-out/bin");
    cr_assert_eq(access(lib, R_OK), 0, "%s is missing", lib);
    setenv("LD_PRELOAD", lib, 1);
    pid_t d = rig_daemon();
    unsetenv("LD_PRELOAD");
    return d;
}

/* `good` numbered events, with a crashing one after every `every` of them
 * (`crashes` in all). */
static void put_events(uint64_t *acc, int good, int every, int crashes)
{
    rp_queue_opts o;
    char ev[200];
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0, c = 0; i < good; i++) {
        int n = snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"event_type\":\"app.x\"}", (unsigned long long)acc[0]++);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
        if ((i + 1) % every == 0 && c < crashes) {
            n = snprintf(ev, sizeof ev, "{\"event_type\":\"bug\",\"__crash_me__\":%d}", c++);
            cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
        }
    }
    rp_queue_close(q);
}


Test(supervise, a_crashing_processor_is_contained_and_counted, .init = setup)
{
    int port = free_port(), status;
    uint64_t acc[MAXP] = { 0 };
    tally t;
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, "processors = validate\nvalidate.required = event_type\n");
    pid_t d = crashy_daemon();
    put_events(acc, 3000, 1000, 3);
    await_delivered(&t, 1, acc, 3000);
    cr_assert_eq(rig_await_lines("spool/e2e.errors.jsonl", "crashed on this event (Segmentation fault)", 3,
                                 E2E_WAIT_MS), 3, "crash reports in the error stream (see ringpub.log)");
    cr_assert_eq(rig_lines_with("spool/e2e.errors.jsonl", "__crash_me__"), 3, "the original event is kept");
    cr_assert_eq(rig_lines_with("spool/e2e.errors.jsonl", "\"processor\":\"validate\""), 3);
    cr_assert_eq(kill(d, 0), 0, "ringpub stayed up");
    cr_assert(th_await(rig_ring_released, NULL, 10000, 10), "every ring byte released");
    kill(d, SIGTERM);
    cr_assert_eq(reap(d, &status), d);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: exit 0 (status %d)", status);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, 3000);
    cr_assert_eq(t.bad, 0, "no crashing event reached the collector");
    cr_assert_eq(rig_lines_with("ringpub.log", "the daemon crashed (Segmentation fault); restarting"), 3);
    cr_assert_eq(rig_lines_with("ringpub.log", "stopped: "), 1, "one clean stop");
    cr_assert_eq(rig_lines_with("ringpub.log", "0 crashed a processor"), 0, "the last run counted its crash");
}

/* A bug that crashes on event after event: after SUPERVISE_MAX_RESTARTS
 * restarts within the window ringpub gives up (exit 1, one line); what it
 * did not get to stays in the ring, nothing is dropped. */
Test(supervise, repeated_crashes_give_up_and_keep_the_rest, .init = setup)
{
    int port = free_port(), status;
    uint64_t acc[MAXP] = { 0 };
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, "processors = validate\n");
    put_events(acc, 80, 10, 8);
    pid_t d = crashy_daemon();
    cr_assert_eq(reap(d, &status), d);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "gives up with exit 1 (status %d)", status);
    cr_assert_eq(rig_lines_with("ringpub.log", "crashed 5 times in 60 s"), 1);
    cr_assert_eq(rig_lines_with("spool/e2e.errors.jsonl", "crashed on this event"), 5,
                 "each restart put the event that crashed the run before into the error stream");
    cr_assert_gt(rig_ring_used(), 0, "the rest stays in the ring for a fixed ringpub");
    stop(col, SIGTERM);
}
