/* A failing collector, with the real binaries: Retry-After is honoured,
 * one probe at a time while it fails, a spooled batch past the replay
 * window is signed afresh, a second signal spools what is in flight,
 * ringctl stat shows the sink's state, hasty delivery drops and counts. */
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

TestSuite(retry, .fini = rig_fini);

/* Read a counter from ringcollect's /stats over HTTP (plain sockets). */
static long collector_stat(int port, const char *key)
{
    char req[128], buf[2048], *p;
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n, got = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    snprintf(req, sizeof req, "GET /stats HTTP/1.0\r\nHost: x\r\n\r\n");
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while ((n = read(fd, buf + got, sizeof buf - 1 - (size_t)got)) > 0)
        got += n;
    close(fd);
    buf[got] = '\0';
    p = strstr(buf, key);
    cr_assert_not_null(p, "no %s in %s", key, buf);
    return strtol(p + strlen(key) + 2, NULL, 10);
}

/* th_await predicates */
static int collector_failed(void *port) { return collector_stat(*(int *)port, "\"failed_on_purpose\"") != 0; }

static int released_500(void *st)
{
    char why[200];
    cr_assert_eq(rp_ring_stat("e2e", NULL, (rp_stats *)st, why, sizeof why), 0, "%s", why);
    return ((rp_stats *)st)->events_out >= 500;
}

Test(retry, retry_after_is_honoured, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    tally t;
    pid_t col = rig_collector(port, "--fail-rate=1", "--retry-after=2");
    rig_config(port, NULL);
    pid_t d = rig_daemon();
    start_producers(&p, 1, 10, 10000); /* one small batch */
    join_producers(&p, acc);
    th_await(collector_failed, &port, 10000, 10);
    uint64_t t0 = th_now_ms();
    while (th_now_ms() - t0 < 3000) /* a measurement window, not a synchronisation */
        usleep(50000);
    long attempts = collector_stat(port, "\"failed_on_purpose\"");
    /* honoured: ~2 per batch in 3 s; ignored (backoff capped at 300 ms): 10+ */
    cr_assert_leq(attempts, 6, "%ld attempts in ~3 s despite Retry-After: 2", attempts);
    stop(col, SIGTERM);
    col = rig_collector(port, NULL, NULL);
    await_delivered(&t, 1, acc, 10);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
}

/* A batch spooled longer than the collector's replay window is signed
 * afresh when replayed (same id, new time): delivered, not refused. */
Test(retry, spooled_past_the_replay_window_is_signed_afresh, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    tally t;
    pid_t d = rig_spool_while_down(port, 1, 300, acc);
    uint64_t t0 = th_now_ms();
    while (th_now_ms() - t0 < 2500) /* the spooled batches' first signatures age past the 1 s window */
        usleep(50000);
    pid_t col = rig_collector(port, "--replay-window=1", NULL);
    await_delivered(&t, 1, acc, sum(acc, 1));
    cr_assert_eq(collector_stat(port, "\"rejected\""), 0, "the collector refused a replayed batch");
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    cr_assert_eq(rig_lines_with("spool/e2e.deadletter.jsonl", ""), 0, "dead-lettered");
}

/* Accept connections on 127.0.0.1:port and close them at once (a
 * collector that is there and answers nothing) for ms; returns how many
 * came. */
static int count_connects(int port, uint64_t ms)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n = 0;
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind 127.0.0.1:%d", port);
    cr_assert_eq(listen(fd, 64), 0);
    for (uint64_t until = th_now_ms() + ms, now; (now = th_now_ms()) < until;) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, (int)(until - now)) == 1) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0) {
                n++;
                close(c);
            }
        }
    }
    close(fd);
    return n;
}

/* Requests a collector failing everything gets in ms (after the first). */
static long failing_for(int port, const char *retry_after, uint64_t ms)
{
    pid_t col = rig_collector(port, "--fail-rate=1", retry_after);
    uint64_t t0;
    th_await(collector_failed, &port, 10000, 10);
    for (t0 = th_now_ms(); th_now_ms() - t0 < ms;) /* a measurement window, not a synchronisation */
        usleep(50000);
    long n = collector_stat(port, "\"failed_on_purpose\"");
    stop(col, SIGTERM);
    return n;
}

/* A failing collector gets one probe at a time, with backoff that belongs
 * to the collector, not to a batch (issue 19), while a producer keeps
 * putting 1000 events/s: 503 for 8 s, then 6 s of connections that get no
 * answer, then 503 + Retry-After: 3 for 6 s (the spool's replay must honour
 * it). Before, every new batch was posted, retried 100-300 ms apart, and
 * spooled batches were replayed 100-300 ms apart whatever the collector
 * said: dozens of requests in each phase. Then the collector comes back and
 * the backlog is delivered within seconds. */
Test(retry, failing_collector_gets_one_probe_at_a_time, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP], t0;
    producers p;
    tally t;
    rig_config(port, "retry.backoff_base = 1s\nretry.backoff_cap = 5s");
    pid_t d = rig_daemon();
    start_producers(&p, 1, 22000, 22000);
    long failed = failing_for(port, NULL, 8000);
    /* waits of 1-2, 1-4, 1-5, 1-5 s: at most 6 probes in 8 s */
    cr_assert_leq(failed, 7, "%ld requests in 8 s of 503 (one probe at a time, backing off)", failed);
    int connects = count_connects(port, 6000);
    cr_assert_leq(connects, 6, "%d connections in 6 s to a collector that does not answer", connects);
    failed = failing_for(port, "--retry-after=3", 6000);
    cr_assert_leq(failed, 4, "%ld requests in 6 s of 503 with Retry-After: 3", failed);
    join_producers(&p, acc);
    pid_t col = rig_collector(port, NULL, NULL);
    t0 = th_now_ms();
    await_delivered(&t, 1, acc, acc[0]);
    cr_assert_leq(th_now_ms() - t0, 10000, "the backlog arrived %llu ms after the collector came back",
                  (unsigned long long)(th_now_ms() - t0));
    cr_assert_eq(t.unique, acc[0], "nothing lost");
    stop(d, SIGTERM);
    stop(col, SIGTERM);
}

/* A listener on 127.0.0.1:port that takes one connection and reads until
 * a request arrives, never answering. Returns the connection (the caller
 * closes it and listen_fd). */
static int take_unanswered_request(int port, int *listen_fd)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
    char buf[4096];
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind 127.0.0.1:%d", port);
    cr_assert_eq(listen(fd, 64), 0);
    struct pollfd pf = { fd, POLLIN, 0 };
    cr_assert_eq(poll(&pf, 1, 10000), 1, "ringpub never connected");
    c = accept(fd, NULL, NULL);
    cr_assert_geq(c, 0);
    pf.fd = c;
    cr_assert_eq(poll(&pf, 1, 10000), 1, "no request came");
    cr_assert_gt(read(c, buf, sizeof buf), 0);
    *listen_fd = fd;
    return c;
}

/* SIGTERM waits up to post.timeout + 2 s for the requests in flight; a
 * second signal spools them at once. The shutdown path used to free the
 * HTTP client and then keep polling its sockets (a segfault, seen under
 * ASan with the collector unreachable): here a request is in flight when
 * the client is freed, the daemon must exit 0 within seconds, and after a
 * restart against a real collector every event arrives. */
Test(retry, second_signal_spools_requests_in_flight_and_exits_clean, .init = rig_setup)
{
    int port = free_port(), lfd, status;
    uint64_t acc[MAXP];
    producers p;
    tally t;
    rig_config(port, "post.timeout = 60s");
    pid_t d = rig_daemon();
    start_producers(&p, 1, 1000, 10000);
    join_producers(&p, acc);
    int conn = take_unanswered_request(port, &lfd);
    kill(d, SIGTERM);
    cr_assert_eq(rig_await_lines("ringpub.log", "signal received", 1, 10000), 1);
    kill(d, SIGTERM);
    close(conn); /* a hang-up on the socket of the freed client */
    cr_assert_eq(reap_within(d, &status, 10000), d, "ringpub still waits for its request 10 s after a second SIGTERM");
    close(lfd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ringpub ended with status %#x (see %s)", status,
              path_in("ringpub.log"));
    cr_assert_gt(spool_files(), 0, "the batch in flight was not spooled");
    pid_t col = rig_collector(port, NULL, NULL);
    d = rig_daemon();
    rig_deliver_and_stop(&t, 1, acc, acc[0], d, col);
}

/* The daemon's view of its sink is in the ring, for `ringctl stat`:
 * failing (no answer, the wait, the next probe), then healthy again. */
Test(retry, ringctl_stat_shows_the_sink_state, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    tally t;
    static char out[1 << 14];
    rig_config(port, "retry.backoff_base = 1s\nretry.backoff_cap = 2s");
    pid_t d = rig_daemon(); /* nothing listens on port yet */
    start_producers(&p, 1, 500, 10000);
    join_producers(&p, acc);
    cr_assert(rig_stat_says("sink         failing: last status 0 (no answer), backoff ", out, sizeof out), "%s", out);
    cr_assert_not_null(strstr(out, "next probe in "), "%s", out);
    pid_t col = rig_collector(port, NULL, NULL);
    await_delivered(&t, 1, acc, acc[0]);
    cr_assert(rig_stat_says("sink         healthy, last status 200", out, sizeof out), "%s", out);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    cr_assert(rig_stat_says("(last report: no consumer now)", out, sizeof out), "%s", out);
}

/* hasty: fire and forget; a failed batch is dropped and counted, the ring
 * is released anyway. */
Test(retry, hasty_drops_and_counts, .init = rig_setup)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    pid_t col = rig_collector(port, "--fail-rate=1", "--fail-status=503");
    rig_config(port, "delivery = hasty\n");
    pid_t d = rig_daemon();
    start_producers(&p, 1, 500, 10000);
    join_producers(&p, acc);
    rp_stats st;
    th_await(released_500, &st, 20000, 10);
    cr_assert_eq(st.events_out, 500, "the ring was released");
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    char log[4000] = "";
    FILE *f = fopen(path_in("ringpub.log"), "r");
    size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
    log[n] = '\0';
    if (f)
        fclose(f);
    cr_assert_not_null(strstr(log, "500 events dropped"), "%s", log);
    cr_assert_eq(spool_files(), 0);
}
