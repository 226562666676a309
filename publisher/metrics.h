/*
 * metrics.h — the daemon's counters, sent to statsd over UDP (one datagram
 * per flush, lines joined by '\n') under metrics.namespace. baseplate's
 * names: sent, error.http, error.io, timer post; ringpub's: batches,
 * bytes.raw, bytes.compressed, retries, spooled, deadlettered, dropped,
 * quarantined_bytes, filtered (keep/drop), invalid (to the error stream),
 * crashed (events that crashed a processor: in the error stream),
 * errors.fallback (error-stream writes that went to the spool directory's
 * fallback file because errors.file could not be written),
 * ring.depth (gauge), ring.full, ring.toobig, ring.recovered, ring.stalled
 * (gauge: live producer reservations not committed), ring.stalled_ms (gauge:
 * the oldest one's age), ring.pinned_bytes (gauge), sink.failing (gauge:
 * sinks backing off now), sink.backoff_ms and
 * sink.next_attempt_ms (gauges: the failing sink's wait and what is left of
 * it), sink.probes (requests sent to a failing sink), sink.last_status
 * (gauge: the last answer, 0 if none came).
 */
#ifndef RINGPUB_METRICS_H
#define RINGPUB_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pub_counters {
    uint64_t sent, error_http, error_io, batches, bytes_raw, bytes_compressed, retries, spooled,
        deadlettered, dropped, replayed, quarantined_bytes, filtered, invalid, crashed,
        errors_fallback;
} pub_counters;

typedef struct pub_metrics {
    pub_counters total, flushed; /* flushed: what statsd has seen */
    uint64_t ring_full, ring_toobig, ring_recovered, ring_depth; /* latest ring readings */
    uint64_t ring_stalled, ring_stalled_ms, ring_pinned_bytes;
    uint64_t ring_full_sent, ring_toobig_sent, ring_recovered_sent;
    /* the failing sink (send.c): its wait, ms to the next probe, probes
     * sent while failing (a total), the last status (0: no answer) */
    uint64_t sink_failing, sink_backoff_ms, sink_next_ms, sink_probes, sink_probes_sent, sink_last_status;
    uint64_t post_ms_sum, post_n;
    char ns[256];
    int fd;
    uint64_t next_flush_ms;
} pub_metrics;

/* pub_metrics_open — statsd at endpoint "host:port" ("" for none: counters
 * are kept but not sent). 0, or -1 with why. */
int pub_metrics_open(pub_metrics *m, const char *ns, const char *endpoint, char *why, size_t whylen);
void pub_metrics_close(pub_metrics *m);

/* pub_metrics_post_ms — record one POST's duration. */
void pub_metrics_post_ms(pub_metrics *m, uint64_t ms);

/* pub_metrics_flush — send what changed since the last flush. */
void pub_metrics_flush(pub_metrics *m);

/* pub_metrics_prometheus — every metric in Prometheus' text format (0.0.4),
 * labelled queue="QUEUE", into buf. Returns the length, or 0 if cap is too
 * small. The names are the statsd names with '.' -> '_', prefixed ringpub_
 * (and _total for counters). */
size_t pub_metrics_prometheus(const pub_metrics *m, const char *queue, char *buf, size_t cap);

/* pub_metrics_digest — a hash of every metric's value (FNV-1a, table
 * order): equal digests, equal figures, without formatting them. */
uint64_t pub_metrics_digest(const pub_metrics *m);

/* pub_metrics_help — the metrics as a Markdown table (statsd name,
 * Prometheus name, type, meaning): `ringpub --help-metrics`, and the table
 * in docs/operations.md (test_config holds the two equal). */
void pub_metrics_help(FILE *f);

#endif
