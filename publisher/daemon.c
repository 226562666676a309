/* daemon.c — set-up, the io_uring loop, signals and shutdown. */
#include "daemon.h"

#include "cli.h"
#include "mfile.h"
#include "paths.h"
#include "ringpub_event.h" /* rp_now_ms */
#include "sinks/sink.h"  /* pub_sinks_open, pub_sinks_close */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define FALLBACK_TICK_MS 2    /* kernels without IORING_OP_FUTEX_WAIT */
#define METRICS_EVERY_MS 1000

static void on_futex(void *ctx, pub_op *op, int res)
{
    pub_daemon *d = (pub_daemon *)ctx;
    (void)op;
    if (res == -EINVAL || res == -EOPNOTSUPP) {
        pub_log(d, "io_uring futex wait unsupported here; polling the ring every %d ms", FALLBACK_TICK_MS);
        d->loop.has_futex = 0;
    }
    rp_consumer_disarm(d->ring);
    d->armed = 0;
}

/* SIGTERM/SIGINT: stop (pub_stop). A second one: stop waiting for the
 * requests in flight; they are spooled at once. */
static void on_signal(void *ctx, pub_op *op, int res)
{
    pub_daemon *d = (pub_daemon *)ctx;
    (void)op;
    if (res > 0 && !d->stopping) {
        pub_log(d, "signal received: delivering or spooling what is in flight, then exiting (again: spool it now)");
        pub_stop(d, 0);
    } else if (res > 0) {
        pub_log(d, "second signal: spooling what is in flight now");
        d->stop_deadline_ms = pub_now_ms();
    }
    io_uring_prep_read(pub_loop_sqe(&d->loop, &d->sig_op), d->sigfd, d->siginfo, sizeof d->siginfo, 0);
}

/* Sleep on the ring's futex when there is nothing to read and we may read.
 * Returns 1 if the ring has events to read now (do not sleep at all). */
static int arm_ring(pub_daemon *d)
{
    uint32_t *addr, val;
    if (d->armed || !pub_may_drain(d) || !d->loop.has_futex)
        return 0;
    if (rp_consumer_arm(d->ring, &addr, &val) == 1)
        return 1; /* events arrived meanwhile (or a drain stopped at its round limit) */
    pub_loop_futex_wait(&d->loop, &d->futex_op, addr, val);
    d->armed = 1;
    return 0;
}

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* The sink's state, from the metrics just read, into the ring header,
 * where `ringctl stat` shows it. */
static void report_sink(pub_daemon *d)
{
    const pub_metrics *m = &d->metrics;
    rp_sink_report r;
    r.state = m->sink_failing ? RP_SINK_FAILING : RP_SINK_HEALTHY;
    r.last_status = m->sink_last_status;
    r.backoff_ms = m->sink_backoff_ms;
    r.next_unix_ms = m->sink_failing ? (uint64_t)rp_now_ms() + m->sink_next_ms : 0;
    r.probes = m->sink_probes;
    rp_consumer_report_sink(d->ring, &r);
}

/* The ring's and the sinks' current readings, for a metrics flush. */
static void read_gauges(pub_daemon *d)
{
    rp_stats st;
    rp_consumer_stats(d->ring, &st);
    d->metrics.ring_full = st.full;
    d->metrics.ring_toobig = st.toobig;
    d->metrics.ring_recovered = st.recovered;
    d->metrics.ring_depth = st.used_bytes;
    d->metrics.ring_stalled = st.stalled;
    d->metrics.ring_pinned_bytes = st.pinned_bytes;
    pub_send_sink_metrics(d);
    report_sink(d);
    d->metrics.ring_stalled_ms = 0;
    if (st.stalled) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        d->metrics.ring_stalled_ms = now > st.stalled_since_unix_ns ? (now - st.stalled_since_unix_ns) / 1000000u : 0;
    }
}

/* The metrics for ringctl stat (mfile.h), written when they changed (an
 * idle daemon neither formats nor writes them). */
static void publish_metrics(pub_daemon *d)
{
    static char text[1 << 15];
    uint64_t digest = pub_metrics_digest(&d->metrics);
    if (d->mfile_written && digest == d->mfile_digest)
        return;
    size_t len = pub_metrics_prometheus(&d->metrics, d->cfg.queue, text, sizeof text);
    if (len == 0)
        return;
    int rc = pub_mfile_write(rp_queue_dir(NULL), d->cfg.queue, text, len);
    if (rc != 0 && !d->mfile_failed)
        pub_log(d, "cannot write the metrics for ringctl stat in %s: %s%s", rp_queue_dir(NULL), strerror(-rc),
                rc == -EPERM ? " (another user's file holds the name .QUEUE.metrics)" : "");
    else if (rc == 0 && d->mfile_failed)
        pub_log(d, "metrics for ringctl stat written again");
    d->mfile_failed = rc != 0;
    if (rc == 0) {
        d->mfile_digest = digest;
        d->mfile_written = 1;
    }
}

/* metrics.listen's answers: /metrics in Prometheus' text format, /healthz
 * 200 while the sink takes batches, 503 (with why) while it is failing. */
static int serve(void *ctx, const char *path, char *body, size_t cap, size_t *len)
{
    pub_daemon *d = (pub_daemon *)ctx;
    if (strcmp(path, "/metrics") == 0) {
        read_gauges(d);
        *len = pub_metrics_prometheus(&d->metrics, d->cfg.queue, body, cap);
        return 200;
    }
    if (strcmp(path, "/healthz") == 0) {
        const pub_metrics *m = &d->metrics;
        int n = m->sink_failing ? snprintf(body, cap, "sink failing: last status %llu, next probe in %llu ms\n",
                                           (unsigned long long)m->sink_last_status,
                                           (unsigned long long)m->sink_next_ms)
                                : snprintf(body, cap, "ok\n");
        *len = n > 0 && (size_t)n < cap ? (size_t)n : 0;
        return m->sink_failing ? 503 : 200;
    }
    return 404;
}

/* The ring file was truncated: what is still in it is gone. Stop reading
 * it, deliver (or spool) the sealed batches, exit 1. After a SIGBUS the
 * batch being built may hold zero-filled copies: it is discarded. */
static void ring_lost(pub_daemon *d, const char *why)
{
    if (d->ring_lost)
        return;
    d->ring_lost = 1;
    rp_consumer_fence(d->ring);
    if (d->ring_fault) {
        size_t n = 0;
        for (int i = 0; i < d->nlanes; i++) {
            n += d->lanes[i].building.count;
            pub_batch_reset(&d->lanes[i].building);
            d->lanes[i].since_ms = 0;
        }
        pub_log(d, "ring %s: %s (SIGBUS while reading it); its unread events and the %zu events of the "
                   "batches being built are lost", d->cfg.queue, why, n);
    } else {
        pub_log(d, "ring %s: %s; its unread events are lost", d->cfg.queue, why);
    }
    pub_log(d, "delivering or spooling the sealed batches, then exiting; restart ringpub to serve a new ring");
    pub_stop(d, 1);
}

static void check_ring_file(pub_daemon *d)
{
    char why[300];
    int rc = d->ring_lost ? 0 : rp_consumer_check_file(d->ring, why, sizeof why);
    if (rc == RP_ECORRUPT)
        ring_lost(d, why);
    else if (rc == RP_ENOENT && !d->ring_removed_logged) {
        pub_log(d, "ring %s: %s; this daemon keeps draining the old one (restart it to follow the name)",
                d->cfg.queue, why);
        d->ring_removed_logged = 1;
    }
}

/* The processors' crash marker, in the spool directory (made by the lanes'
 * spools); what the last run left is taken over (contain.h). */
static int open_contain(pub_daemon *d, uint64_t released, char *why, size_t whylen)
{
    char path[PUB_PATH];
    snprintf(path, sizeof path, "%.3000s/%s.processing", d->cfg.spool_dir, d->cfg.queue);
    if (pub_contain_open(&d->contain, path, d->ring_created_ns, released, why, whylen) != 0)
        return -1;
    d->procs.stage = &d->contain.mark->stage;
    if (d->contain.last)
        pub_log(d, "the last run crashed (%s) in a processor on the event at ring position %llu: that event "
                   "goes to the error stream", strsignal(d->contain.last->sig),
                (unsigned long long)d->contain.last->pos1 - 1);
    return 0;
}

/* The seal log, in the spool directory (made by the lanes' spools): the
 * batches the last run sealed and did not release go to their lanes, to be
 * rebuilt with the same ranges (seals.h). */
static int open_seals(pub_daemon *d, uint64_t released, char *why, size_t whylen)
{
    char path[PUB_PATH];
    snprintf(path, sizeof path, "%.3000s/%s.sealed", d->cfg.spool_dir, d->cfg.queue);
    if (pub_seals_open(&d->seals, path, d->ring_created_ns, released, (uint32_t)d->nlanes, why, whylen) != 0)
        return -1;
    d->start_tail = d->polled_to = d->walked_to = released;
    for (size_t i = 0; i < d->seals.nredo; i++) {
        pub_lane *l = &d->lanes[d->seals.redo[i].lane & ~PUB_SEAL_SAFE];
        if (l->nredo++ == 0)
            l->redo = &d->seals.redo[i];
    }
    if (d->seals.nredo > 0) {
        d->redo_active = 1;
        pub_log(d, "rebuilding the %zu batches the last run sealed and did not release, with the same ranges "
                   "(so the same batch ids)", d->seals.nredo);
    }
    return 0;
}

/* Become the ring's consumer. A consumer that holds it may be the previous
 * daemon still exiting (killed with its supervisor, or restarted at once by
 * systemd): wait up to CONSUMER_WAIT_MS for it to go, said once. */
#define CONSUMER_WAIT_MS 10000
static int open_ring(pub_daemon *d, const rp_queue_opts *o, char *why, size_t whylen)
{
    uint64_t until = pub_now_ms() + CONSUMER_WAIT_MS;
    struct timespec nap = { 0, 50 * 1000000 };
    int rc, said = 0;
    while ((rc = rp_consumer_open(&d->ring, d->cfg.queue, o, why, whylen)) == RP_EBUSY && pub_now_ms() < until) {
        if (!said++)
            pub_log(d, "%s: waiting up to %d s for it to exit", why, CONSUMER_WAIT_MS / 1000);
        nanosleep(&nap, NULL);
    }
    return rc;
}

static int setup(pub_daemon *d)
{
    char why[600];
    rp_queue_opts o;
    sigset_t sigs;
    memset(&o, 0, sizeof o);
    o.capacity = d->cfg.ring_capacity;
    o.max_event = d->cfg.ring_max_event;
    if (d->cfg.ring_group[0] && cli_group_id(d->cfg.ring_group, &o.gid) != 0) {
        pub_log(d, "ring.group: no group \"%s\"", d->cfg.ring_group);
        return -1;
    }
    if (d->cfg.ring_group[0])
        o.flags |= RP_OPT_GROUP;
    if (open_ring(d, &o, why, sizeof why) != 0) {
        pub_log(d, "%s", why);
        return -1;
    }
    if (rp_consumer_guard(d->ring, &d->ring_fault) != 0) {
        pub_log(d, "cannot install the SIGBUS guard: %s", strerror(errno));
        return -1;
    }
    rp_stats st;
    rp_consumer_stats(d->ring, &st);
    d->ring_created_ns = st.created_unix_ns;
    pub_config_default_paths(&d->cfg);
    if (pub_procs_configure(&d->procs, &d->cfg,
                            d->cfg.validate_max_bytes ? d->cfg.validate_max_bytes : d->cfg.ring_max_event, why,
                            sizeof why) != 0) {
        pub_log(d, "%s", why);
        return -1;
    }
    pub_buf_init(&d->errors, 64u << 20);
    if ((d->nlanes = pub_lanes_open(d->lanes, &d->cfg, why, sizeof why)) < 0 ||
        pub_paths_check(&d->cfg, d->lanes, d->nlanes, why, sizeof why) != 0 ||
        pub_metrics_open(&d->metrics, d->cfg.metrics_namespace, d->cfg.metrics_endpoint, why, sizeof why) != 0 ||
        open_seals(d, st.head, why, sizeof why) != 0 ||
        (d->procs.n > 0 && open_contain(d, st.head, why, sizeof why) != 0)) {
        pub_log(d, "%s", why);
        return -1;
    }
    int rc = pub_loop_init(&d->loop, 256);
    if (rc < 0) {
        pub_log(d, "io_uring: %s", strerror(-rc));
        return -1;
    }
    if (pub_mserve_open(&d->mserve, &d->loop, d->cfg.metrics_listen, serve, d, why, sizeof why) != 0) {
        pub_log(d, "%s", why);
        return -1;
    }
    if (d->mserve.fd >= 0)
        pub_log(d, "metrics and health on %s (port %d)", d->cfg.metrics_listen, pub_mserve_port(&d->mserve));
    d->finished = pub_http_finished;
    d->find_req = pub_find_out;
    if (pub_http_init(&d->http, &d->loop, d->finished, d) != 0) {
        pub_log(d, "cannot initialise libcurl");
        return -1;
    }
    d->http.tls_verify = d->cfg.tls_verify;
    d->http.tls_ca_file = d->cfg.tls_ca_file;
    d->http.tls_cert = d->cfg.tls_client_cert;
    d->http.tls_key = d->cfg.tls_client_key;
    if (!d->cfg.tls_verify && strcmp(d->cfg.scheme, "https") == 0)
        pub_log(d, "WARNING: tls.verify = false: the collector's certificate is not checked");
    d->max_events = 4096;
    if (!(d->events = (rp_event *)calloc(d->max_events, sizeof *d->events)))
        return -1;
    char orphans[2048], *save = NULL;
    if (pub_lanes_orphans(d->lanes, d->nlanes, &d->cfg, orphans, sizeof orphans) > 0)
        for (char *l = strtok_r(orphans, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            pub_log(d, "WARNING: %s", l);
    /* blocked before libnats starts its threads, which inherit the mask: a
     * SIGTERM they took would end the process (exit 143, no shutdown) */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pub_sinks_open(d, why, sizeof why) != 0) {
        pub_log(d, "%s", why);
        return -1;
    }
    if ((d->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0)
        return -1;
    d->sig_op = (pub_op){ on_signal, d, 0 };
    d->futex_op = (pub_op){ on_futex, d, 0 };
    io_uring_prep_read(pub_loop_sqe(&d->loop, &d->sig_op), d->sigfd, d->siginfo, sizeof d->siginfo, 0);
    for (int i = 0; i < d->nlanes; i++) {
        const pub_lane *l = &d->lanes[i];
        pub_log(d, "queue %s%s%s -> %s (key %s, %s, %s delivery), spool %s, %u spooled batches waiting",
                d->cfg.queue, l->name[0] ? " route " : "", l->name, l->where, d->cfg.key_name,
                l->compression == PUB_ZSTD ? "zstd" : l->compression == PUB_GZIP ? "gzip" : "uncompressed",
                d->cfg.delivery == PUB_GUARANTEED ? "guaranteed" : "hasty", l->spool.path, l->spool.files);
    }
    return 0;
}

/* Anything still moving? (shutdown waits for these) */
static int busy(const pub_daemon *d)
{
    if (d->http.active > 0 || d->js.active > 0 || d->nready > 0)
        return 1;
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].replay)
            return 1;
    return pub_ledger_count(&d->ledger, -1) > 0;
}

static int spooling(const pub_daemon *d)
{
    return pub_ledger_count(&d->ledger, OUT_SPOOLING) > 0;
}

/* Past the deadline (or done): stop the requests, spool what is not safe,
 * and wait, bounded, for those writes and for cancelled operations. */
static void finish(pub_daemon *d)
{
    uint64_t until = pub_now_ms() + 5000;
    pub_http_free(&d->http);
    pub_sinks_close(d); /* unacked publishes are not safe: they are spooled next */
    pub_spool_all(d);
    if (d->futex_op.pending)
        pub_loop_cancel(&d->loop, &d->futex_op);
    while (pub_now_ms() < until && (d->http.nsocks > 0 || d->futex_op.pending || spooling(d)))
        pub_loop_run(&d->loop, 50);
    pub_release_safe(d);
}

static void cleanup(pub_daemon *d)
{
    pub_ledger_free(&d->ledger); /* anything left is still in the ring */
    pub_lanes_close(d->lanes, d->nlanes);
    pub_contain_close(&d->contain);
    pub_seals_close(&d->seals);
    pub_buf_free(&d->errors);
    free(d->ready);
    free(d->events);
    pub_metrics_close(&d->metrics);
    pub_mserve_close(&d->mserve);
    if (d->sigfd > 0)
        close(d->sigfd);
    pub_loop_free(&d->loop);
    rp_consumer_close(d->ring);
}

int pub_daemon_run(pub_daemon *d)
{
    if (setup(d) != 0)
        return d->exit_code ? d->exit_code : 1;
    d->metrics.next_flush_ms = pub_now_ms() + METRICS_EVERY_MS;
    for (;;) {
        uint64_t now = pub_now_ms();
        if (d->ring_fault)
            ring_lost(d, "the ring file was truncated");
        int timeout = pub_drain(d, now);
        if (d->ring_fault)
            ring_lost(d, "the ring file was truncated");
        if (d->stopping)
            pub_seal(d, now);
        pub_send_fresh(d); /* what the drain sealed */
        timeout = min_timeout(timeout, pub_send_timers(d, now));
        timeout = min_timeout(timeout, pub_http_timeout(&d->http, now));
        if (now >= d->metrics.next_flush_ms) {
            check_ring_file(d);
            read_gauges(d);
            pub_metrics_flush(&d->metrics);
            publish_metrics(d);
            d->metrics.next_flush_ms = now + METRICS_EVERY_MS;
        }
        timeout = min_timeout(timeout, (int)(d->metrics.next_flush_ms - now));
        timeout = min_timeout(timeout, pub_mserve_tick(&d->mserve, now));
        if (d->stopping && (!busy(d) || now >= d->stop_deadline_ms))
            break;
        if (arm_ring(d))
            timeout = 0;
        else if (pub_may_drain(d))
            timeout = min_timeout(timeout, rp_consumer_recheck_ms(d->ring));
        if (!d->loop.has_futex && pub_may_drain(d))
            timeout = min_timeout(timeout, FALLBACK_TICK_MS);
        int rc = pub_loop_run(&d->loop, timeout);
        if (rc < 0) {
            pub_log(d, "io_uring: %s", strerror(-rc));
            d->exit_code = 1;
            break;
        }
        pub_http_tick(&d->http, pub_now_ms());
    }
    finish(d);
    read_gauges(d);
    pub_metrics_flush(&d->metrics);
    publish_metrics(d);
    const pub_counters *t = &d->metrics.total;
    pub_log(d, "stopped: %llu events delivered in %llu batches (%llu bytes -> %llu), %llu retries, "
               "%llu batches spooled, %llu dead-lettered, %llu events dropped, %llu filtered, %llu to the error "
               "stream, %llu crashed a processor, %llu bytes quarantined; "
               "%llu ring bytes left",
            (unsigned long long)t->sent, (unsigned long long)t->batches, (unsigned long long)t->bytes_raw,
            (unsigned long long)t->bytes_compressed, (unsigned long long)t->retries,
            (unsigned long long)t->spooled, (unsigned long long)t->deadlettered,
            (unsigned long long)t->dropped, (unsigned long long)t->filtered, (unsigned long long)t->invalid,
            (unsigned long long)t->crashed, (unsigned long long)t->quarantined_bytes,
            (unsigned long long)d->metrics.ring_depth);
    for (int i = 1; i < d->nlanes; i++)
        pub_log(d, "route %s: %llu events delivered to %s", d->lanes[i].name,
                (unsigned long long)d->lanes[i].sent, d->lanes[i].where);
    cleanup(d);
    return d->exit_code;
}
