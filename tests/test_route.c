/* The `route` processor end to end: one ring, several sinks. Real
 * producer processes, the `ringpub` binary, `ringcollect` on 127.0.0.1 and
 * a file sink; every accepted event must reach exactly the sink its route
 * names, a dead sink must not hold up the others, and the ring is released
 * only when every sink holding a poll's events has it safe. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

TestSuite(route, .fini = rig_fini);

/* Events of users u-0... to u-4... go to route "low" (a JSONL file); the
 * rest to the queue's own sink, the collector. */
#define ROUTE_LOW "processors = route\nroute.by = payload.user\nroute.low.match = u-[0-4]*\nroute.low.sink = file\n"
#define LOW_FILE "spool/e2e@low.events.jsonl"

/* Lines of file `rel` (under th_dir()) holding a low user, and all lines. */
static uint64_t low_lines(const char *rel, uint64_t *all)
{
    char line[1024];
    uint64_t low = 0;
    FILE *f = fopen(path_in(rel), "r");
    *all = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        const char *u = strstr(line, "\"user\":\"u-");
        (*all)++;
        low += u && u[10] >= '0' && u[10] <= '4';
    }
    fclose(f);
    return low;
}

static void assert_split(const char *collector_out)
{
    uint64_t all, low = low_lines(LOW_FILE, &all);
    cr_assert_gt(all, 0, "route low got nothing");
    cr_assert_eq(low, all, "route low holds only its users (%llu of %llu)", (unsigned long long)low,
                 (unsigned long long)all);
    low = low_lines(collector_out, &all);
    cr_assert_gt(all, 0, "the queue's own sink got nothing");
    cr_assert_eq(low, 0, "%llu events of route low reached the collector", (unsigned long long)low);
}

static void assert_ring_released(void)
{
    cr_assert_eq(rig_ring_used(), 0, "every ring byte released");
}

/* The collector, ringpub with route low; returns ringpub's pid. */
static pid_t up_with_route_low(pid_t *col)
{
    int port = free_port();
    rig_out_also = LOW_FILE; /* both sinks' lines, tallied as one */
    *col = rig_collector(port, NULL, NULL);
    rig_config(port, ROUTE_LOW);
    return rig_daemon();
}

Test(route, each_event_reaches_its_route_exactly_once, .init = rig_setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col, d = up_with_route_low(&col);
    start_producers(&p, 3, 20000, 30000);
    join_producers(&p, acc);
    cr_assert_eq(sum(acc, 3), 60000, "producers were refused (full ring?)");
    rig_deliver_and_stop(&t, 3, acc, 60000, d, col);
    cr_assert_eq(t.dups, 0);
    assert_split("out/e2e.jsonl");
    assert_ring_released();
}

/* kill -9 of ringpub while both sinks are busy, then a restart: nothing is
 * lost (the ring keeps what neither sink had made safe), and the restarted
 * daemon rebuilds the batches the killed one had sealed with the same ranges
 * (the seal log): the collector, which drops a batch id it has, ends with 0
 * duplicates; the file sink, which cannot, repeats at most the one batch it
 * was writing (the daemon was killed between its fdatasync and marking the
 * batch safe) — 64 KiB of lines of at least 100 bytes. */
#define FILE_BATCH_MAX_LINES (64 * 1024 / 100)
Test(route, kill9_with_routes_loses_nothing, .init = rig_setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col, d = up_with_route_low(&col);
    start_producers(&p, 2, 40000, 30000);
    await_delivered(&t, 2, NULL, 5000);
    stop(d, SIGKILL);
    d = rig_daemon();
    join_producers(&p, acc);
    await_delivered(&t, 2, acc, sum(acc, 2));
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.unique, sum(acc, 2), "lost %llu", (unsigned long long)(sum(acc, 2) - t.unique));
    assert_split("out/e2e.jsonl");
    assert_ring_released();
    tally c;
    rig_out_also = NULL; /* the collector's output alone */
    count_delivered(&c, 2, acc);
    cr_assert_eq(c.dups, 0, "%llu duplicates at the collector (see %s)", (unsigned long long)c.dups,
                 path_in("ringpub.log"));
    cr_assert_leq(t.dups, FILE_BATCH_MAX_LINES, "%llu duplicates in the file sink: more than one batch",
                  (unsigned long long)t.dups);
    fprintf(stderr, "route kill -9: %llu accepted, %llu duplicates (collector 0, file sink %llu)\n",
            (unsigned long long)sum(acc, 2), (unsigned long long)t.dups, (unsigned long long)t.dups);
}

/* Events p=0, s = from..to-1 straight into the ring: even s to route low
 * (user u-1...), odd s to the collector (user u-9...). */
static void put_range(rp_queue *q, int from, int to)
{
    char ev[256];
    for (int s = from; s < to; s++) {
        int len = snprintf(ev, sizeof ev,
                           "{\"p\":0,\"s\":%d,\"event_type\":\"e2e.test\",\"payload\":{\"user\":\"u-%d%d\","
                           "\"pad\":\"....................................................................\"}}",
                           s, s % 2 ? 9 : 1, s);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)len), 0);
    }
}

/* The seal log, made to matter (seals.h). Route low's batch is in its file
 * (safe), but its ring space is held by the queue's own batch, which the
 * collector keeps unanswered (--delay 4 s; post.timeout 10 s). kill -9 now,
 * 100 more events, restart: low's batch is rebuilt with its range, found
 * safe, and not written again (without the log the file holds those 50
 * events twice); the collector's batch is rebuilt with its range, so its id,
 * and the collector keeps one copy (from the ring alone it would take the
 * new events too: a new id, 50 duplicates). */
Test(route, a_restart_repeats_no_batch, .init = rig_setup)
{
    uint64_t acc[MAXP] = { 200 };
    rp_queue_opts o;
    tally t;
    int port = free_port();
    rig_out_also = LOW_FILE;
    pid_t col = rig_collector(port, "--delay", "4000");
    rig_config(port, ROUTE_LOW "post.timeout = 10s\n");
    pid_t d = rig_daemon();
    rp_queue *q = rig_direct_queue(&o);
    put_range(q, 0, 100);
    cr_assert_eq(rig_await_lines(LOW_FILE, "\"user\":\"u-1", 50, 10000), 50, "route low's batch never arrived");
    stop(d, SIGKILL);
    cr_assert_gt(rig_ring_used(), 0, "the collector answered before the kill: the test lost its race");
    put_range(q, 100, 200);
    rp_queue_close(q);
    d = rig_daemon();
    await_delivered(&t, 1, acc, 200);
    stop_clean(d, SIGTERM);
    stop_clean(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.unique, 200);
    cr_assert_eq(t.dups, 0, "%llu events delivered twice (see %s)", (unsigned long long)t.dups,
                 path_in("ringpub.log"));
    assert_split("out/e2e.jsonl");
    assert_ring_released();
    rig_out_also = NULL;
}

/* Await predicates of the dead route: its spool holds a batch; the near
 * half arrived (none of it far's); everything arrived and far's spool is
 * empty. ctx: the events accepted. */
static int far_spooled(void *unused) { return (void)unused, rig_files_in("spool/e2e@far") > 0; }
static int near_half_in(void *total)
{
    uint64_t all;
    return low_lines("out/e2e.jsonl", &all) == 0 && all >= *(uint64_t *)total / 2;
}
static int all_in_far_replayed(void *total)
{
    uint64_t far_all, near_all;
    low_lines("out2/e2e.jsonl", &far_all);
    low_lines("out/e2e.jsonl", &near_all);
    return far_all + near_all >= *(uint64_t *)total && rig_files_in("spool/e2e@far") == 0;
}

/* Route "far" goes to a collector that is not there yet: its batches are
 * spooled in their own spool while the queue's own sink keeps delivering;
 * once that collector comes up, the route's spool is replayed to it. */
Test(route, a_dead_route_spools_alone_and_replays, .init = rig_setup)
{
    int port = free_port(), far = free_port();
    uint64_t acc[MAXP], all;
    producers p;
    tally t;
    char extra[512], listen[64];
    pid_t col = rig_collector(port, NULL, NULL);
    snprintf(extra, sizeof extra,
             "processors = route\nroute.by = payload.user\nroute.far.match = u-[0-4]*\n"
             "route.far.collector.hostname = 127.0.0.1:%d\nretry.budget = 200ms\n", far);
    rig_config(port, extra);
    pid_t d = rig_daemon();
    start_producers(&p, 2, 10000, 30000);
    join_producers(&p, acc);
    uint64_t total = sum(acc, 2);
    cr_assert(th_await(far_spooled, NULL, 20000, 10), "route far spooled nothing");
    /* the near half arrives although route far is down */
    th_await(near_half_in, &total, 20000, 20);
    cr_assert_eq(low_lines("out/e2e.jsonl", &all), 0);
    cr_assert_geq(all, sum(acc, 2) / 2, "the queue's own sink was held up (%llu arrived)", (unsigned long long)all);

    mkdir(path_in("out2"), 0700);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", far);
    char *argv[] = { (char *)bin("ringcollect"), "--listen", listen, "--out", (char *)path_in("out2"), NULL };
    pid_t col2 = spawn(argv, path_in("collect2.log"));
    rig_out = "out/e2e.jsonl";
    th_await(all_in_far_replayed, &total, E2E_WAIT_MS, 20);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    stop(col2, SIGTERM);
    cr_assert_eq(rig_files_in("spool/e2e@far"), 0, "route far's spool was not emptied");
    uint64_t far_low = low_lines("out2/e2e.jsonl", &all);
    cr_assert_eq(far_low, all, "route far's collector got other events");
    rig_out = "out2/e2e.jsonl";
    count_delivered(&t, 2, acc);
    uint64_t far_unique = t.unique;
    cr_assert_eq(t.dups, 0);
    rig_out = "out/e2e.jsonl";
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(far_unique + t.unique, sum(acc, 2), "lost %lld",
                 (long long)sum(acc, 2) - (long long)(far_unique + t.unique));
    assert_ring_released();
}

/* A route to an EventGate-style endpoint (ringcollect's /v1/events) while
 * the queue's own sink is a file: EventGate's partial success (207) is
 * handled per route — its refusals land in the error stream — and every
 * event ends up in exactly one place. */
Test(route, eventgate_route_with_partial_success, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP] = { 0 };
    rp_queue_opts o;
    tally t;
    char ev[200], extra[400];
    pid_t col = rig_collector(port, NULL, NULL);
    snprintf(extra, sizeof extra,
             "sink = file\nprocessors = route\nroute.eg.match = eg.*\nroute.eg.sink = eventgate\n"
             "route.eg.eventgate.url = http://127.0.0.1:%d/v1/events\n", port);
    rig_config(port, extra);
    pid_t d = rig_daemon();
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0; i < 300; i++) {
        unsigned long long s = acc[0]++;
        int n = i % 3 == 0 ? snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"$schema\":\"/t/1\","
                                                     "\"meta\":{\"stream\":\"eg.click\"}}", s)
              : i % 3 == 1 ? snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"meta\":{\"stream\":\"eg.bad\"}}", s)
                           : snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"event_type\":\"app\"}", s);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    rp_queue_close(q);
    rig_out = "out/e2e.jsonl";
    await_delivered(&t, 1, acc, 100);
    rig_out = "spool/e2e.events.jsonl";
    await_delivered(&t, 1, acc, 100);
    rig_await_lines("spool/e2e.errors.jsonl", "\"processor\":\"eventgate\"", 100, E2E_WAIT_MS);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.lines, 100, "the file holds the unrouted third");
    cr_assert_eq(t.unique, 100);
    rig_out = "out/e2e.jsonl";
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.lines, 100, "EventGate stored the valid third");
    cr_assert_eq(t.unique, 100);
    cr_assert_eq(rig_lines_with("spool/e2e.errors.jsonl", "\"processor\":\"eventgate\""), 100,
                 "EventGate's refusals are in the error stream");
    cr_assert_eq(rig_lines_with("spool/e2e.errors.jsonl", "eg.bad"), 100, "the refused events themselves");
    assert_ring_released();
}

/* A route taken out of the config while its spool still holds batches:
 * ringpub says so at start (one line per directory) and leaves them. */
Test(route, a_removed_routes_spool_is_reported_not_dropped, .init = rig_setup)
{
    int port = free_port();
    char batch[600];
    mkdir(path_in("spool"), 0700);
    mkdir(path_in("spool/e2e@gone"), 0700);
    snprintf(batch, sizeof batch, "%s", path_in("spool/e2e@gone/0000000000000001.rpb"));
    FILE *f = fopen(batch, "w");
    cr_assert_not_null(f);
    fputs("a spooled batch", f);
    fclose(f);
    rig_config(port, NULL);
    pid_t d = rig_daemon();
    rig_await_lines("ringpub.log", "queue e2e ->", 1, 10000);
    stop(d, SIGTERM);
    cr_assert_eq(rig_lines_with("ringpub.log", "e2e@gone holds 1 batches of route gone, which is no longer configured"),
                 1, "see %s", path_in("ringpub.log"));
    cr_assert_eq(access(batch, F_OK), 0, "the batch is left where it was");
}
