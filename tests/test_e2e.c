/* End to end with real processes and real sockets: producer processes ->
 * ring -> the `ringpub` binary -> HTTP on 127.0.0.1 -> the `ringcollect`
 * binary -> JSONL. Every accepted event arrives exactly once: through a
 * collector outage, a full spool, a restart under load (SIGTERM, kill -9),
 * a daemon that waits for the previous one; a bad config is one line. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(e2e, .fini = rig_fini);

/* Collector and daemon on a fresh port. */
static void rig_up(int *port, pid_t *col, pid_t *d)
{
    *port = free_port();
    *col = rig_collector(*port, NULL, NULL);
    rig_config(*port, NULL);
    *d = rig_daemon();
}

Test(e2e, every_event_exactly_once, .init = rig_setup)
{
    int port;
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col, d;
    rig_up(&port, &col, &d);
    start_producers(&p, 3, 20000, 30000);
    join_producers(&p, acc);
    cr_assert_eq(sum(acc, 3), 60000, "producers were refused (full ring?)");
    rig_deliver_and_stop(&t, 3, acc, 60000, d, col);
    cr_assert_eq(t.dups, 0);
}

/* Batches that fill to the last byte of batch.max_bytes are delivered
 * whole. A "2j" batch of 42 events of 100 B is 42 * 101 + 1 bytes; before
 * the fix each such batch was framed empty, refused by the collector (400)
 * and dead-lettered with its empty body: its events lost. */
Test(e2e, batches_filled_to_the_byte_are_delivered_whole, .init = rig_setup)
{
    enum { PER_BATCH = 42, SIZE = 100, EVENTS = PER_BATCH * 10 + 1 };
    int port = free_port();
    pid_t col = rig_collector(port, NULL, NULL);
    rp_queue_opts o;
    rp_queue *q = rig_direct_queue(&o);
    uint64_t acc[MAXP] = { 0 };
    char ev[SIZE + 1];
    tally t;
    rig_config(port, "collector.version = 2j\nbatch.max_bytes = 4243\nbatch.max_age = 10s"); /* by size, then at stop */
    pid_t d = rig_daemon();
    for (uint64_t s = 0; s < EVENTS; s++) {
        int n = snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"pad\":\"", (unsigned long long)s);
        memset(ev + n, 'x', SIZE - 2 - (size_t)n);
        memcpy(ev + SIZE - 2, "\"}", 2);
        cr_assert_eq(rp_queue_put(q, ev, SIZE), 0);
        acc[0]++;
    }
    await_delivered(&t, 1, acc, PER_BATCH * 10); /* the ten full batches; the last event waits for the stop */
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, EVENTS, "delivered %llu of %d", (unsigned long long)t.unique, EVENTS);
    cr_assert_eq(t.bad + t.dups, 0);
    cr_assert_eq(rig_lines_with("ringpub.log", "refused"), 0, "a batch was refused");
    rp_queue_close(q);
}

Test(e2e, collector_down_then_back_spools_and_replays, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    tally t;
    pid_t d = rig_spool_while_down(port, 2, 5000, acc);
    pid_t col = rig_collector(port, NULL, NULL);
    await_delivered(&t, 2, acc, sum(acc, 2));
    th_await(rig_spool_empty, NULL, 20000, 10);
    cr_assert_eq(spool_files(), 0, "the spool was not emptied");
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.unique, sum(acc, 2));
    cr_assert_eq(t.bad, 0);
}

/* A daemon started while the previous one is still exiting (killed with
 * its supervisor, restarted at once) used to exit 1 with "already has a
 * consumer"; CI saw the route suite's kill -9 restart deliver nothing. It
 * now waits (up to 10 s) and takes over. */
Test(e2e, a_daemon_waits_for_the_previous_consumer_to_exit, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, NULL);
    pid_t a = rig_daemon();
    cr_assert_eq(rig_await_lines("ringpub.log", "spooled batches waiting", 1, 10000), 1);
    pid_t b = rig_daemon();
    cr_assert_eq(rig_await_lines("ringpub.log", "waiting up to 10 s for it to exit", 1, 10000), 1);
    stop_clean(a, SIGTERM);
    start_producers(&p, 1, 2000, 20000);
    join_producers(&p, acc);
    await_delivered(&t, 1, acc, acc[0]);
    stop_clean(b, SIGTERM);
    stop(col, SIGTERM);
}

/* Collector down and no spool room: the daemon stops draining, the ring
 * fills, producers get RP_EFULL; then everything accepted is delivered. */
Test(e2e, spool_full_pushes_back_to_producers, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    tally t;
    rig_config(port, "spool.max_bytes = 0\ninflight.max = 2\n");
    pid_t d = rig_daemon();
    start_producers(&p, 1, 200000, 3000); /* gives up after 3 s of RP_EFULL */
    join_producers(&p, acc);
    cr_assert_lt(acc[0], 200000, "the ring never filled");
    cr_assert_gt(acc[0], 1000);
    pid_t col = rig_collector(port, NULL, NULL);
    rig_deliver_and_stop(&t, 1, acc, acc[0], d, col);
    cr_assert_eq(spool_files(), 0);
}

/* Stop the daemon (SIGTERM, or kill -9) under load, start it again: every
 * accepted event arrives, once: after a kill -9 the restarted daemon
 * rebuilds the batches the killed one sealed with the same ranges, so the
 * same ids, and the collector drops the copies (seals.h). */
static void restart_under_load(int sig)
{
    int port, status;
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col, d;
    rig_up(&port, &col, &d);
    start_producers(&p, 2, 40000, 30000);
    await_delivered(&t, 2, NULL, 5000);
    kill(d, sig);
    cr_assert_eq(reap(d, &status), d);
    if (sig == SIGTERM)
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ringpub exit status %#x", status);
    d = rig_daemon();
    join_producers(&p, acc);
    await_delivered(&t, 2, acc, sum(acc, 2));
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.unique, sum(acc, 2), "lost %llu", (unsigned long long)(sum(acc, 2) - t.unique));
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.dups, 0, "%llu duplicates after signal %d (see %s)", (unsigned long long)t.dups, sig,
                 path_in("ringpub.log"));
    fprintf(stderr, "e2e: restart after signal %d: %llu events, %llu duplicates\n", sig,
            (unsigned long long)t.unique, (unsigned long long)t.dups);
}

Test(e2e, sigterm_under_load_loses_nothing, .init = rig_setup)
{
    restart_under_load(SIGTERM);
}

Test(e2e, kill9_under_load_loses_nothing, .init = rig_setup)
{
    restart_under_load(SIGKILL);
}

/* Run argv to completion; return its exit status and stderr in err. */
Test(e2e, bad_config_one_line_exit_2, .init = rig_setup)
{
    char err[2000];
    FILE *f = fopen(path_in("bad.ini"), "w");
    fputs("[event-publisher:e2e]\ncollector.version = 9\n", f);
    fclose(f);
    char *a1[] = { (char *)bin("ringpub"), "--queue", "e2e", "--config", (char *)path_in("bad.ini"), NULL };
    cr_assert_eq(run_capture(a1, err, sizeof err), 2);
    cr_assert_not_null(strstr(err, "collector.version"), "%s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
    char *a2[] = { (char *)bin("ringpub"), "--queue", "../x", NULL };
    cr_assert_eq(run_capture(a2, err, sizeof err), 2);
    char *a3[] = { (char *)bin("ringpub"), "--queue-name", "e2e", (char *)path_in("missing.ini"), NULL };
    cr_assert_eq(run_capture(a3, err, sizeof err), 2, "baseplate's form, missing file");
    cr_assert_not_null(strstr(err, "missing.ini"), "%s", err);
    char *a4[] = { (char *)bin("ringcollect"), "--fail-rate", "2", NULL };
    cr_assert_eq(run_capture(a4, err, sizeof err), 2);
    cr_assert_not_null(strstr(err, "--fail-rate"), "%s", err);
    char *a5[] = { (char *)bin("ringpub"), "--version", NULL };
    cr_assert_eq(run_capture(a5, err, sizeof err), 0);

    /* secrets in files only their owner may read */
    char keys[300];
    snprintf(keys, sizeof keys, "%s", path_in("keys"));
    f = fopen(keys, "w");
    fputs("# comment\nk1=aHVudGVyMg==\n", f);
    fclose(f);
    chmod(keys, 0644);
    char *a6[] = { (char *)bin("ringcollect"), "--keys", keys, "--listen", "127.0.0.1:0", NULL };
    cr_assert_eq(run_capture(a6, err, sizeof err), 2);
    cr_assert_not_null(strstr(err, "chmod 600"), "%s", err);
    f = fopen(keys, "w");
    fputs("k1 has no equals sign\n", f);
    fclose(f);
    chmod(keys, 0600);
    cr_assert_eq(run_capture(a6, err, sizeof err), 2);
    cr_assert_not_null(strstr(err, "line 1: want NAME=BASE64"), "%s", err);
    rig_config(1, "");
    chmod(path_in("ringpub.ini"), 0644);
    char *a7[] = { (char *)bin("ringpub"), "--queue", "e2e", "--config", (char *)path_in("ringpub.ini"), NULL };
    cr_assert_eq(run_capture(a7, err, sizeof err), 2, "a config with the secret, readable by others");
    cr_assert_not_null(strstr(err, "readable by group or others"), "%s", err);
}
