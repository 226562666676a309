/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int pub_metrics_open(pub_metrics *m, const char *ns, const char *endpoint, char *why, size_t whylen)
{
    char host[256];
    const char *colon = strrchr(endpoint, ':');
    struct addrinfo hints, *ai = NULL;
    memset(m, 0, sizeof *m);
    m->fd = -1;
    snprintf(m->ns, sizeof m->ns, "%s%s", ns, ns[0] ? "." : "");
    if (!endpoint[0])
        return 0;
    if (!colon || (size_t)(colon - endpoint) >= sizeof host) {
        snprintf(why, whylen, "metrics.endpoint: expected host:port");
        return -1;
    }
    memcpy(host, endpoint, (size_t)(colon - endpoint));
    host[colon - endpoint] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "metrics.endpoint %s: %s", endpoint, gai_strerror(rc));
        return -1;
    }
    m->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || connect(m->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(why, whylen, "metrics.endpoint %s: %s", endpoint, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return 0;
}

void pub_metrics_close(pub_metrics *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

void pub_metrics_post_ms(pub_metrics *m, uint64_t ms)
{
    m->post_ms_sum += ms;
    m->post_n++;
}

/* Append "NS.name:value|type\n" if value is non-zero (or a gauge). */
static void line(char *buf, size_t cap, size_t *len, const char *ns, const char *name, uint64_t v,
                 const char *type)
{
    if (v == 0 && type[0] == 'c')
        return;
    int n = snprintf(buf + *len, cap - *len, "%s%s:%llu|%s\n", ns, name, (unsigned long long)v, type);
    if (n > 0 && (size_t)n < cap - *len)
        *len += (size_t)n;
}

/* Every metric once: its statsd name (Prometheus: ringpub_ + the name with
 * '.' -> '_', counters + _total), type, help and where its value lives. A
 * counter's `sent` is what statsd has seen of it. */
typedef struct metric_def {
    const char *name;
    char type; /* 'c' counter, 'g' gauge */
    size_t off, sent_off;
    const char *help;
} metric_def;

#define TC(n, f, h) { n, 'c', offsetof(pub_metrics, total.f), offsetof(pub_metrics, flushed.f), h }
#define RC(n, f, h) { n, 'c', offsetof(pub_metrics, f), offsetof(pub_metrics, f##_sent), h }
#define G(n, f, h) { n, 'g', offsetof(pub_metrics, f), 0, h }
static const metric_def defs[] = {
    TC("sent", sent, "events delivered (to the collector or the queue's sink)"),
    TC("error.http", error_http, "batches answered with an HTTP error"),
    TC("error.io", error_io, "batches whose request failed below HTTP (connect, TLS, timeout)"),
    TC("batches", batches, "batches sealed"),
    TC("bytes.raw", bytes_raw, "event bytes sealed into batches"),
    TC("bytes.compressed", bytes_compressed, "those bytes after compression"),
    TC("retries", retries, "attempts after the first"),
    TC("spooled", spooled, "batches written to the disk spool"),
    TC("deadlettered", deadlettered, "batches the collector refused, kept in the dead-letter file"),
    TC("dropped", dropped, "events dropped (delivery = hasty)"),
    TC("replayed", replayed, "spooled batches sent again"),
    TC("quarantined_bytes", quarantined_bytes, "ring bytes that did not parse, kept in the quarantine file"),
    TC("filtered", filtered, "events a keep/drop filter removed"),
    TC("invalid", invalid, "events a processor refused (to the error stream)"),
    TC("crashed", crashed, "events that crashed a processor (to the error stream)"),
    TC("errors.fallback", errors_fallback, "error-stream writes that went to the spool's fallback file"),
    RC("ring.full", ring_full, "puts refused because the ring was full"),
    RC("ring.toobig", ring_toobig, "puts refused as over the max event size"),
    RC("ring.recovered", ring_recovered, "reservations of dead producers recovered"),
    G("ring.depth", ring_depth, "bytes in the ring not yet released"),
    G("ring.stalled", ring_stalled, "live producer reservations not committed"),
    G("ring.stalled_ms", ring_stalled_ms, "the oldest one's age, ms"),
    G("ring.pinned_bytes", ring_pinned_bytes, "ring bytes held by pinned stalled records"),
    G("sink.failing", sink_failing, "sinks backing off now"),
    G("sink.backoff_ms", sink_backoff_ms, "the failing sink's wait between probes, ms"),
    G("sink.next_attempt_ms", sink_next_ms, "ms until its next probe"),
    RC("sink.probes", sink_probes, "requests sent to a failing sink"),
    G("sink.last_status", sink_last_status, "the last answer's HTTP status (0: none)"),
};

static uint64_t at(const pub_metrics *m, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)m + off, sizeof v);
    return v;
}

void pub_metrics_flush(pub_metrics *m)
{
    char buf[1400];
    size_t len = 0;
    const size_t n = sizeof defs / sizeof *defs;
    if (m->fd < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const metric_def *d = &defs[i];
        uint64_t v = at(m, d->off);
        line(buf, sizeof buf, &len, m->ns, d->name, d->type == 'c' ? v - at(m, d->sent_off) : v,
             d->type == 'c' ? "c" : "g");
    }
    if (m->post_n)
        line(buf, sizeof buf, &len, m->ns, "post", m->post_ms_sum / m->post_n, "ms");
    if (len && send(m->fd, buf, len - 1, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED)
        return; /* statsd is best effort: keep the deltas for the next flush */
    for (size_t i = 0; i < n; i++)
        if (defs[i].type == 'c')
            memcpy((char *)m + defs[i].sent_off, (const char *)m + defs[i].off, sizeof(uint64_t));
    m->post_ms_sum = m->post_n = 0;
}

/* The Prometheus name of d: ringpub_ + name with '.' -> '_' (+ _total). */
static void prom_name(const metric_def *d, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "ringpub_%s%s", d->name, d->type == 'c' ? "_total" : "");
    for (size_t i = 0; i < n && i < len; i++)
        if (out[i] == '.')
            out[i] = '_';
}

uint64_t pub_metrics_digest(const pub_metrics *m)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
        uint64_t v = at(m, defs[i].off);
        for (int b = 0; b < 8; b++, v >>= 8)
            h = (h ^ (v & 0xff)) * 1099511628211ull;
    }
    return h;
}

size_t pub_metrics_prometheus(const pub_metrics *m, const char *queue, char *buf, size_t cap)
{
    size_t len = 0;
    char name[96];
    for (size_t i = 0; i < sizeof defs / sizeof *defs && len < cap; i++) {
        prom_name(&defs[i], name, sizeof name);
        int w = snprintf(buf + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n%s{queue=\"%s\"} %llu\n", name,
                         defs[i].help, name, defs[i].type == 'c' ? "counter" : "gauge", name, queue,
                         (unsigned long long)at(m, defs[i].off));
        if (w < 0 || (size_t)w >= cap - len)
            return 0;
        len += (size_t)w;
    }
    return len;
}

void pub_metrics_help(FILE *f)
{
    char name[96];
    fprintf(f, "| statsd (under `metrics.namespace`) | Prometheus (`metrics.listen`, label `queue`) | type | meaning |\n"
               "| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
        prom_name(&defs[i], name, sizeof name);
        fprintf(f, "| `%s` | `%s` | %s | %s |\n", defs[i].name, name, defs[i].type == 'c' ? "counter" : "gauge",
                defs[i].help);
    }
    fprintf(f, "| `post` | | timer (ms) | mean POST duration since the last flush (statsd only) |\n");
}
