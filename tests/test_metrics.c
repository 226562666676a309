/* metrics.listen, against the installed daemon over real sockets on
 * 127.0.0.1: /metrics in Prometheus' text format with the figures the daemon
 * reports, /healthz 200 while the collector takes batches and 503 while it
 * fails, `ringctl stat` shows the same figures, a silent client holds no
 * one else up, a non-loopback address is refused at start. */
#include "rig.h"

#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

TestSuite(metrics, .fini = rig_fini);

static int dial(int port)
{
    struct sockaddr_in a = { 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_geq(fd, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* GET path; the whole answer (status line, headers, body) into out; the
 * status, or -1 if nothing listens yet. Bounded by a 5 s receive timeout. */
static int get(int port, const char *path, char *out, size_t cap)
{
    char req[256];
    struct timeval tv = { 5, 0 };
    size_t len = 0;
    ssize_t n;
    int fd = dial(port), status = -1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rn = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    cr_assert_eq(send(fd, req, (size_t)rn, MSG_NOSIGNAL), rn);
    while (len + 1 < cap && (n = recv(fd, out + len, cap - 1 - len, 0)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd);
    sscanf(out, "HTTP/1.1 %d", &status);
    return status;
}

/* The value of Prometheus sample `name{queue="e2e"}` in text, or -1. */
static long long sample(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s{queue=\"%s\"} ", name, rig_queue);
    const char *p = strstr(text, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* A GET awaited until its answer is `want` (th_await). */
typedef struct scrape {
    int port;
    const char *path;
    int want, status;
    char out[1 << 16];
} scrape;

static int answered(void *ctx)
{
    scrape *s = (scrape *)ctx;
    s->status = get(s->port, s->path, s->out, sizeof s->out);
    return s->status == s->want;
}

/* ringpub_sent_total reaches s->want (it moves when the collector's answer is read). */
static int sent_reached(void *ctx)
{
    scrape *s = (scrape *)ctx;
    s->status = get(s->port, "/metrics", s->out, sizeof s->out);
    return sample(s->out, "ringpub_sent_total") >= s->want;
}

/* `ringctl stat`'s line for the daemon's metric s->path reaches s->want. */
static int stat_reached(void *ctx)
{
    scrape *s = (scrape *)ctx;
    const char *p;
    s->status = rig_stat(s->out, sizeof s->out);
    if (s->status != 0 || !(p = strstr(s->out, s->path)))
        return 0;
    return strtoll(p + strlen(s->path), NULL, 10) == s->want;
}

/* The daemon with metrics.listen on a port of its own; returns that port. */
static int daemon_with_metrics(int collector_port, pid_t *d)
{
    int mport = free_port();
    char extra[128];
    snprintf(extra, sizeof extra, "metrics.listen = 127.0.0.1:%d\nbatch.max_age = 50ms\n", mport);
    rig_config(collector_port, extra);
    *d = rig_daemon();
    return mport;
}

Test(metrics, prometheus_text_and_health, .init = rig_setup)
{
    static scrape s;
    int port = free_port();
    pid_t col = rig_collector(port, NULL, NULL), d;
    s = (scrape){ .port = daemon_with_metrics(port, &d), .path = "/healthz", .want = 200 };
    cr_assert(th_await(answered, &s, 10000, 20), "/healthz: %d %s", s.status, s.out);
    cr_assert_not_null(strstr(s.out, "\r\n\r\nok\n"), "%s", s.out);

    producers p;
    uint64_t acc[MAXP];
    tally t;
    start_producers(&p, 1, 3000, 20000);
    join_producers(&p, acc);
    await_delivered(&t, 1, acc, acc[0]);
    s.want = (int)acc[0];
    th_await(sent_reached, &s, 10000, 50);
    cr_expect_eq(s.status, 200, "%s", s.out);
    cr_expect_eq(sample(s.out, "ringpub_sent_total"), (long long)acc[0], "%s", s.out);
    cr_expect_not_null(strstr(s.out, "# TYPE ringpub_sent_total counter\n"), "%s", s.out);
    cr_expect_not_null(strstr(s.out, "# TYPE ringpub_ring_depth gauge\n"), "%s", s.out);
    long long batches = sample(s.out, "ringpub_batches_total");
    cr_expect_gt(batches, 0);
    cr_expect_eq(sample(s.out, "ringpub_sink_failing"), 0);
    cr_expect_not_null(strstr(s.out, "Content-Type: text/plain; version=0.0.4"), "%s", s.out);
    cr_expect_eq(get(s.port, "/nothing", s.out, sizeof s.out), 404, "%s", s.out);

    /* ringctl stat shows the same figures, under the same names */
    static scrape st;
    st = (scrape){ .path = "  ringpub_sent_total ", .want = (int)acc[0] };
    cr_expect(th_await(stat_reached, &st, 5000, 50), "ringctl stat: %s", st.out);
    st.path = "  ringpub_batches_total ", st.want = (int)batches;
    cr_expect(th_await(stat_reached, &st, 5000, 50), "ringctl stat, batches %d: %s", st.want, st.out);

    /* the collector goes away: the next batch fails, health says so */
    stop(col, SIGKILL);
    start_producers(&p, 1, 10, 20000);
    join_producers(&p, acc);
    s.path = "/healthz", s.want = 503;
    cr_expect(th_await(answered, &s, 15000, 50), "/healthz: %d %s", s.status, s.out);
    cr_expect_not_null(strstr(s.out, "sink failing"), "%s", s.out);
    stop_clean(d, SIGTERM);
}

/* Connections that send nothing take slots, are closed after 2 s (or when a
 * newer one needs the slot), and never keep a scrape waiting or out: the
 * loop does not block on them, and 12 of them do not fill the 8 slots. */
Test(metrics, silent_clients_do_not_block, .init = rig_setup)
{
    static scrape s;
    int port = free_port(), silent[12]; /* more than the 8 connection slots */
    pid_t col = rig_collector(port, NULL, NULL), d;
    s = (scrape){ .port = daemon_with_metrics(port, &d), .path = "/healthz", .want = 200 };
    cr_assert(th_await(answered, &s, 10000, 20), "/healthz: %d %s", s.status, s.out);
    for (int i = 0; i < 12; i++)
        cr_assert_geq(silent[i] = dial(s.port), 0);
    uint64_t t0 = th_now_ms();
    cr_expect_eq(get(s.port, "/metrics", s.out, sizeof s.out), 200, "%s", s.out);
    cr_expect_lt(th_now_ms() - t0, 1000, "a scrape waited %llu ms behind silent clients",
                 (unsigned long long)(th_now_ms() - t0));
    /* and each silent one is closed by the daemon (its deadline): recv sees the end */
    for (int i = 0; i < 12; i++) {
        char c;
        struct timeval tv = { 5, 0 };
        setsockopt(silent[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        cr_expect_eq(recv(silent[i], &c, 1, 0), 0, "silent connection %d was not closed", i);
        close(silent[i]);
    }
    stop_clean(d, SIGTERM);
    stop(col, SIGTERM);
}

Test(metrics, only_loopback, .init = rig_setup)
{
    char err[2048];
    rig_config(free_port(), "metrics.listen = 0.0.0.0:9464\n");
    char *argv[] = { (char *)bin("ringpub"), "--queue", (char *)rig_queue, "--config",
                     (char *)path_in("ringpub.ini"), NULL };
    int rc = run_capture(argv, err, sizeof err);
    cr_expect_neq(rc, 0, "started with a listener on every address");
    cr_expect_not_null(strstr(err, "only a loopback address"), "%s", err);
}

Test(metrics, metrics_reach_statsd, .init = rig_setup)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    char extra[200], buf[2000];
    uint64_t acc[MAXP];
    producers p;
    tally t;
    int udp = socket(AF_INET, SOCK_DGRAM, 0), port = free_port();
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(udp, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(udp, (struct sockaddr *)&a, &len), 0);
    struct timeval tv = { 10, 0 };
    setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    snprintf(extra, sizeof extra, "metrics.namespace = ev.test\nmetrics.endpoint = 127.0.0.1:%d\n", ntohs(a.sin_port));
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, extra);
    pid_t d = rig_daemon();
    start_producers(&p, 1, 1000, 10000);
    join_producers(&p, acc);
    await_delivered(&t, 1, acc, 1000);
    uint64_t sent = 0, until = th_now_ms() + 10000;
    while (sent < 1000 && th_now_ms() < until) {
        ssize_t n = recv(udp, buf, sizeof buf - 1, 0);
        if (n <= 0)
            break;
        buf[n] = '\0';
        char *s = strstr(buf, "ev.test.sent:");
        if (s)
            sent += strtoull(s + 13, NULL, 10);
        cr_assert_null(strstr(buf, "mac="), "no secrets in metrics");
    }
    cr_assert_eq(sent, 1000, "statsd saw %llu sent", (unsigned long long)sent);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    close(udp);
}
