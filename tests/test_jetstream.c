/* Into a real distributed log: a 3-node NATS JetStream cluster on 127.0.0.1
 * (three nats-server processes, own ports and storage), a stream with 3
 * replicas, and producer processes -> ring -> `ringpub` -> JetStream, or
 * -> `ringcollect --jetstream` -> JetStream. What arrived is read back with
 * `ringjs dump` (a durable consumer) and every accepted event must be there
 * exactly once after de-duplication; faults are real (kill -9 of a node,
 * the whole cluster down, a subject no stream takes). */
#include "rig.h"

#include "check.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(jetstream, .fini = rig_fini);

#define NODES 3

static int client_port[NODES], route_port[NODES];
static int attempt; /* cluster_up's try: each gets fresh ports and storage */
static pid_t node[NODES];
static char urls[200];

static const char *nats_server(void)
{
    static const char *const where[] = { "/usr/bin/nats-server", "/usr/sbin/nats-server" };
    for (size_t i = 0; i < 2; i++)
        if (access(where[i], X_OK) == 0)
            return where[i];
    cr_assert_fail("nats-server is not installed (tools/setup installs it)");
    return NULL;
}

static void write_node_conf(int i)
{
    char name[32];
    snprintf(name, sizeof name, "n%d.conf", i);
    FILE *f = fopen(path_in(name), "w");
    cr_assert_not_null(f);
    fprintf(f, "server_name: n%d\nlisten: 127.0.0.1:%d\njetstream { store_dir: \"%s/a%d-n%d\" }\n"
               "cluster { name: rp\n listen: 127.0.0.1:%d\n routes: [",
            i, client_port[i], th_dir(), attempt, i, route_port[i]);
    for (int k = 0, first = 1; k < NODES; k++)
        if (k != i) {
            fprintf(f, "%s nats-route://127.0.0.1:%d", first ? "" : ",", route_port[k]);
            first = 0;
        }
    fprintf(f, " ]\n}\n");
    fclose(f);
}

static void start_node(int i)
{
    char conf[32], log[32];
    snprintf(conf, sizeof conf, "n%d.conf", i);
    snprintf(log, sizeof log, "n%d.log", i);
    char *argv[] = { (char *)nats_server(), "-c", (char *)path_in(conf), NULL };
    node[i] = spawn(argv, path_in(log));
}

/* Create stream `name` on `subjects` with 3 replicas, retrying while the
 * cluster elects its leaders. 0, or -1 with err after ms or as soon as a
 * node has exited (free_port() cannot reserve a port: a test running in
 * parallel may take it first). */
typedef struct stream_try {
    char **argv;
    char *err;
    size_t errlen;
    int node_exited;
} stream_try;

/* th_await predicate: the stream is made, or a node has exited (then give up). */
static int stream_made(void *ctx)
{
    stream_try *w = (stream_try *)ctx;
    int status;
    if (run_capture(w->argv, w->err, w->errlen) == 0)
        return 1;
    for (int i = 0; i < NODES; i++)
        if (node[i] > 0 && reap_within(node[i], &status, 0) == node[i]) {
            char log[32];
            snprintf(log, sizeof log, "n%d.log", i);
            snprintf(w->err, w->errlen, "nats-server n%d exited (see %s)", i, path_in(log));
            node[i] = 0;
            w->node_exited = 1;
            return 1;
        }
    return 0;
}

static int try_stream(const char *name, const char *subjects, uint64_t ms, char *err, size_t errlen)
{
    char *argv[] = { (char *)bin("ringjs"), "stream", "--url", urls, "--name", (char *)name,
                     "--subjects", (char *)subjects, "--replicas", "3", NULL };
    stream_try w = { argv, err, errlen, 0 };
    return th_await(stream_made, &w, ms, 250) && !w.node_exited ? 0 : -1;
}

static void await_stream(const char *name, const char *subjects)
{
    char err[2000];
    cr_assert_eq(try_stream(name, subjects, 60000, err, sizeof err), 0, "stream %s never came up: %s", name, err);
}

/* Three nodes and stream EV; a try whose cluster does not come up (a port
 * taken meanwhile) is ended, by PID, and made again on fresh ports. */
static void cluster_up(void)
{
    char err[2000] = "";
    for (attempt = 0; attempt < 3; attempt++) {
        int n = 0;
        for (int i = 0; i < NODES; i++) {
            client_port[i] = free_port();
            route_port[i] = free_port();
            n += snprintf(urls + n, sizeof urls - (size_t)n, "%snats://127.0.0.1:%d", i ? "," : "", client_port[i]);
        }
        for (int i = 0; i < NODES; i++) {
            write_node_conf(i);
            start_node(i);
        }
        if (try_stream("EV", "events.>", 40000, err, sizeof err) == 0)
            return;
        fprintf(stderr, "jetstream: cluster try %d did not come up (%s): again on fresh ports\n", attempt + 1, err);
        for (int i = 0; i < NODES; i++)
            if (node[i] > 0)
                stop(node[i], SIGKILL);
    }
    cr_assert_fail("the JetStream cluster never came up: %s", err);
}

static void write_js_cfg(const char *extra)
{
    char base[1024];
    snprintf(base, sizeof base,
             "sink = jetstream\njetstream.url = %s\nspool.dir = %s\nring.capacity = 8MiB\nring.max_event = 4KiB\n"
             "batch.max_bytes = 64KiB\nbatch.max_age = 50ms\nretry.backoff_cap = 300ms\npost.timeout = 2s\n",
             urls, path_in("spool"));
    rig_write_config(base, extra);
}

/* The cluster with stream EV, and ringpub publishing into it. */
static pid_t js_rig_up(const char *extra)
{
    cluster_up();
    write_js_cfg(extra);
    return rig_daemon();
}

/* Read what the stream holds into rig_out (a durable consumer: each call
 * appends what is new) until `want` unique events are there (bounded). */
static void await_in_stream(tally *t, const char *stream, int np, const uint64_t *acc, uint64_t want)
{
    char err[2000];
    char *argv[] = { (char *)bin("ringjs"), "dump", "--url", urls, "--stream", (char *)stream, "--subject", ">",
                     "--durable", "check", "--out", (char *)path_in(rig_out), "--idle-exit", "700", NULL };
    uint64_t until = th_now_ms() + E2E_WAIT_MS;
    do {
        int rc = run_capture(argv, err, sizeof err);
        cr_assert(rc == 0 || rc == 1, "ringjs dump: %s", err);
        count_delivered(t, np, acc);
        if (t->unique >= want)
            return;
    } while (th_now_ms() < until);
    cr_assert_fail("only %llu of %llu events in stream %s (see %s)", (unsigned long long)t->unique,
                   (unsigned long long)want, stream, path_in("ringpub.log"));
}

static int log_has(const char *file, const char *needle)
{
    char buf[1 << 16];
    FILE *f = fopen(path_in(file), "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void setup(void)
{
    setenv("RINGPUB_DIR", th_dir(), 1);
    rig_out = "js.jsonl";
}

Test(jetstream, ringpub_publishes_every_event_once, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up(NULL);
    uint64_t t0 = th_now_ms();
    start_producers(&p, 3, 20000, 30000);
    join_producers(&p, acc);
    cr_assert_eq(sum(acc, 3), 60000);
    await_in_stream(&t, "EV", 3, acc, 60000);
    fprintf(stderr, "jetstream: 60000 events of ~200 B into a 3-replica stream and read back in %.1f s\n",
            (double)(th_now_ms() - t0) / 1000);
    stop_clean(d, SIGTERM); /* was exit 143: libnats' threads took the signal */
    cr_assert(log_has("ringpub.log", "ringpub: stopped: "), "no shutdown summary in %s", path_in("ringpub.log"));
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.dups, 0, "JetStream de-duplicates by batch id");
    cr_assert_eq(t.unique, 60000);
}

/* docs/operations.md's JetStream example, as written but for the cluster's address
 * (the readme suite runs the other examples): it starts and delivers. */
Test(jetstream, readme_example_delivers, .init = setup)
{
    static char blocks[8][4096];
    char extra[4096 + 256];
    uint64_t acc[MAXP];
    producers p;
    tally t;
    int n = rig_readme_blocks(blocks, 8), b = 0;
    while (b < n && !strstr(blocks[b], "sink = jetstream\n"))
        b++;
    cr_assert_lt(b, n, "the README has a JetStream example");
    const char *url = strstr(blocks[b], "jetstream.url = ");
    cr_assert_not_null(url, "the example names its servers");
    int at = (int)(url - blocks[b]);
    cluster_up(); /* fills urls */
    snprintf(extra, sizeof extra, "%.*sjetstream.url = %s%s", at, blocks[b], urls, strchr(url, '\n'));
    write_js_cfg(extra);
    pid_t d = rig_daemon();
    start_producers(&p, 1, 5000, 30000);
    join_producers(&p, acc);
    await_in_stream(&t, "EV", 1, acc, acc[0]);
    stop_clean(d, SIGTERM);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.unique, acc[0]);
}

/* jetstream.unit = event: one message per event, ids BATCH.N; a batch's
 * ring space goes only when all its events are acked. */
Test(jetstream, one_message_per_event_when_asked, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up("jetstream.unit = event\n");
    start_producers(&p, 2, 5000, 30000);
    join_producers(&p, acc);
    await_in_stream(&t, "EV", 2, acc, sum(acc, 2));
    stop_clean(d, SIGINT); /* was exit 130 */
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(t.unique, 10000);
    cr_assert_eq(t.lines, 10000, "one message per event, no batch wrappers");
}

/* jetstream.by_stream: each event on SUBJECT.<meta.stream>, so consumers
 * can filter by stream; an event without one stays on SUBJECT. */
Test(jetstream, per_event_subject_follows_meta_stream, .init = setup)
{
    rp_queue *q;
    rp_queue_opts o;
    char err[2000], ev[200], out[64];
    pid_t d = js_rig_up("jetstream.unit = event\njetstream.by_stream = true\n");
    memset(&o, 0, sizeof o);
    o.dir = th_dir();
    o.capacity = 8 << 20;
    o.max_event = 4096;
    cr_assert_eq(rp_queue_open(&q, "e2e", &o), 0);
    for (int i = 0; i < 300; i++) {
        int n = snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%d,\"meta\":{\"stream\":\"%s\"}}", i,
                         i % 3 == 0 ? "app.click" : i % 3 == 1 ? "app view*" : "");
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    rp_queue_close(q);
    static const struct { const char *subject; int want; } subjects[] = {
        { "events.e2e.app.click", 100 }, { "events.e2e.app_view_", 100 }, { "events.e2e", 100 },
    };
    for (size_t k = 0; k < 3; k++) {
        snprintf(out, sizeof out, "sub%zu.jsonl", k);
        char durable[16];
        snprintf(durable, sizeof durable, "by%zu", k);
        char *argv[] = { (char *)bin("ringjs"), "dump", "--url", urls, "--stream", "EV", "--subject",
                         (char *)subjects[k].subject, "--durable", durable, "--out", (char *)path_in(out),
                         "--idle-exit", "700", NULL };
        uint64_t until = th_now_ms() + E2E_WAIT_MS;
        int lines = 0;
        do {
            cr_assert_eq(run_capture(argv, err, sizeof err), 0, "%s", err);
            char line[512];
            FILE *f = fopen(path_in(out), "r");
            lines = 0;
            while (f && fgets(line, sizeof line, f))
                lines++;
            if (f)
                fclose(f);
        } while (lines < subjects[k].want && th_now_ms() < until);
        cr_assert_eq(lines, subjects[k].want, "subject %s", subjects[k].subject);
    }
    stop(d, SIGTERM);
}

Test(jetstream, collector_forwards_and_answers_after_the_ack, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    char listen[64], cfg[600];
    int port = free_port();
    cluster_up();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *cargv[] = { (char *)bin("ringcollect"), "--listen", listen, "--jetstream", urls, "--no-files", NULL };
    pid_t col = spawn(cargv, path_in("collect.log"));
    snprintf(cfg, sizeof cfg, "[event-publisher:e2e]\ncollector.hostname = %s\ncollector.scheme = http\n"
                              "key.name = ringpub-dev\nkey.secret = " DEV_SECRET "\nspool.dir = %s\n"
                              "batch.max_age = 50ms\nretry.backoff_cap = 300ms\nring.capacity = 8MiB\n"
                              "signature.timestamp = true\n",
             listen, path_in("spool"));
    FILE *f = fopen(path_in("ringpub.ini"), "w");
    fputs(cfg, f);
    fclose(f);
    cr_assert_eq(chmod(path_in("ringpub.ini"), 0600), 0, "it holds the secret");
    pid_t d = rig_daemon(); /* the collector may still be starting: ringpub retries */
    start_producers(&p, 2, 20000, 30000);
    join_producers(&p, acc);
    await_in_stream(&t, "EV", 2, acc, sum(acc, 2));
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(t.unique, 40000);
    cr_assert(access(path_in("out"), F_OK) != 0 || access(path_in("out/e2e.jsonl"), F_OK) != 0,
              "--no-files wrote files");
}

Test(jetstream, node_killed_mid_stream_loses_nothing, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up(NULL);
    start_producers(&p, 3, 30000, 30000);
    usleep(300000); /* fault timing, not synchronisation: mid-stream */
    kill(node[1], SIGKILL);
    reap(node[1], NULL);
    usleep(1000000); /* fault timing: the node stays down 1 s */
    start_node(1);
    join_producers(&p, acc);
    await_in_stream(&t, "EV", 3, acc, sum(acc, 3));
    stop(d, SIGTERM);
    fprintf(stderr, "jetstream: node kill -9: %llu events, %llu duplicates\n", (unsigned long long)t.unique,
            (unsigned long long)t.dups);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.unique, sum(acc, 3));
}

Test(jetstream, cluster_down_spools_then_delivers_everything, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up(NULL);
    for (int i = 0; i < NODES; i++)
        stop(node[i], SIGKILL);
    start_producers(&p, 2, 10000, 30000);
    join_producers(&p, acc);
    await_spooled("nothing was spooled with the cluster down");
    for (int i = 0; i < NODES; i++)
        start_node(i);
    await_in_stream(&t, "EV", 2, acc, sum(acc, 2));
    stop(d, SIGTERM);
    cr_assert_eq(t.bad, 0);
    cr_assert_eq(t.unique, 20000);
}

Test(jetstream, subject_without_stream_is_a_clear_error_and_waits, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up("jetstream.subject = nostream.e2e\nretry.backoff_base = 1s\nretry.backoff_cap = 2s\n");
    start_producers(&p, 1, 2000, 30000);
    join_producers(&p, acc);
    await_spooled("nothing was spooled without a stream");
    cr_assert(log_has("ringpub.log", "no JetStream stream takes subject nostream.e2e"),
              "no clear error in %s", path_in("ringpub.log"));
    /* a refusing stream gets the collector's backoff: one publish at a
     * time, 1-2 s apart (issue 19) */
    long before = rig_probes();
    for (uint64_t t0 = th_now_ms(); th_now_ms() - t0 < 5000;) /* a measurement window */
        usleep(50000);
    long probes = rig_probes() - before;
    cr_assert_leq(probes, 6, "%ld publishes in 5 s to a subject no stream takes", probes);
    await_stream("NS", "nostream.>");
    await_in_stream(&t, "NS", 1, acc, acc[0]);
    stop(d, SIGTERM);
    cr_assert_eq(t.unique, 2000);
}

/* Producer p's users u-N with N = n * 7919 % 100000 (tests/rig.c): how
 * many of the accepted events have a first digit 0-4. */
static uint64_t low_users(int np, const uint64_t *acc)
{
    uint64_t low = 0;
    for (int p = 0; p < np; p++)
        for (uint64_t n = 0; n < acc[p]; n++) {
            char u[24];
            snprintf(u, sizeof u, "%llu", (unsigned long long)(n * 7919 % 100000));
            low += u[0] <= '4';
        }
    return low;
}

/* A route into JetStream while the queue's own sink is a file: each event
 * in exactly one of them, the stream holding exactly the route's. */
Test(jetstream, a_route_publishes_its_events_the_rest_go_to_the_file, .init = setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t d = js_rig_up("sink = file\nprocessors = route\nroute.by = payload.user\nroute.js.match = u-[0-4]*\n"
                        "route.js.sink = jetstream\nroute.js.jetstream.subject = events.e2e.low\n");
    start_producers(&p, 2, 5000, 30000);
    join_producers(&p, acc);
    uint64_t low = low_users(2, acc);
    cr_assert_gt(low, 0);
    await_in_stream(&t, "EV", 2, acc, low);
    rig_out = "spool/e2e.events.jsonl";
    await_delivered(&t, 2, acc, sum(acc, 2) - low);
    stop(d, SIGTERM);
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.unique, sum(acc, 2) - low, "the file holds the rest");
    cr_assert_eq(t.dups, 0);
    rig_out = "js.jsonl";
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.unique, low, "the stream holds the route's events only");
    cr_assert_eq(t.lines, low, "each once");
    cr_assert(log_has("ringpub.log", "route js -> JetStream"), "the route is named at start");
}
