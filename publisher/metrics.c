/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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

void pub_metrics_flush(pub_metrics *m)
{
    char buf[1400];
    size_t len = 0;
    const pub_counters *t = &m->total, *f = &m->flushed;
    if (m->fd < 0)
        return;
#define C(name, field) line(buf, sizeof buf, &len, m->ns, name, t->field - f->field, "c")
    C("sent", sent);
    C("error.http", error_http);
    C("error.io", error_io);
    C("batches", batches);
    C("bytes.raw", bytes_raw);
    C("bytes.compressed", bytes_compressed);
    C("retries", retries);
    C("spooled", spooled);
    C("deadlettered", deadlettered);
    C("dropped", dropped);
    C("replayed", replayed);
    C("quarantined_bytes", quarantined_bytes);
    C("filtered", filtered);
    C("invalid", invalid);
    C("crashed", crashed);
    C("errors.fallback", errors_fallback);
#undef C
    line(buf, sizeof buf, &len, m->ns, "ring.full", m->ring_full - m->ring_full_sent, "c");
    line(buf, sizeof buf, &len, m->ns, "ring.toobig", m->ring_toobig - m->ring_toobig_sent, "c");
    line(buf, sizeof buf, &len, m->ns, "ring.recovered", m->ring_recovered - m->ring_recovered_sent, "c");
    line(buf, sizeof buf, &len, m->ns, "ring.depth", m->ring_depth, "g");
    line(buf, sizeof buf, &len, m->ns, "ring.stalled", m->ring_stalled, "g");
    line(buf, sizeof buf, &len, m->ns, "ring.stalled_ms", m->ring_stalled_ms, "g");
    line(buf, sizeof buf, &len, m->ns, "ring.pinned_bytes", m->ring_pinned_bytes, "g");
    line(buf, sizeof buf, &len, m->ns, "sink.failing", m->sink_failing, "g");
    line(buf, sizeof buf, &len, m->ns, "sink.backoff_ms", m->sink_backoff_ms, "g");
    line(buf, sizeof buf, &len, m->ns, "sink.next_attempt_ms", m->sink_next_ms, "g");
    line(buf, sizeof buf, &len, m->ns, "sink.probes", m->sink_probes - m->sink_probes_sent, "c");
    line(buf, sizeof buf, &len, m->ns, "sink.last_status", m->sink_last_status, "g");
    if (m->post_n)
        line(buf, sizeof buf, &len, m->ns, "post", m->post_ms_sum / m->post_n, "ms");
    if (len && send(m->fd, buf, len - 1, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED)
        return; /* statsd is best effort: keep the deltas for the next flush */
    m->flushed = m->total;
    m->ring_full_sent = m->ring_full;
    m->ring_toobig_sent = m->ring_toobig;
    m->ring_recovered_sent = m->ring_recovered;
    m->sink_probes_sent = m->sink_probes;
    m->post_ms_sum = m->post_n = 0;
}
