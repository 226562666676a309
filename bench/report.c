/* report.c — see report.h. */
#include "report.h"

#include <string.h>

static void size_text(const bench_result *r, char *buf, size_t len)
{
    if (r->lo == r->hi)
        snprintf(buf, len, "%zu B", r->lo);
    else
        snprintf(buf, len, "%zu-%zu B", r->lo, r->hi);
}

void report_table(FILE *f, const bench_result *r, int n)
{
    char sz[40];
    for (int i = 0; i < n; i++) {
        size_text(&r[i], sz, sizeof sz);
        if (!r[i].available) {
            fprintf(f, "%-5s %s: unavailable here: %s\n", r[i].backend, sz, r[i].why);
            continue;
        }
        if (strcmp(r[i].backend, "e2e") == 0) {
            fprintf(f, "e2e   %s, %d producer processes -> ring -> ringpub (zstd, HMAC) -> ringcollect\n", sz,
                    r[i].producers);
            fprintf(f, "      put %llu (%.0f puts/s), delivered %llu: %.0f events/s end to end%s\n",
                    (unsigned long long)r[i].accepted, r[i].puts_per_s, (unsigned long long)r[i].consumed,
                    r[i].consumer_per_s, r[i].counts_ok ? "" : "  NOT ALL DELIVERED");
            fprintf(f, "      put-to-collector latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n",
                    hist_pct(&r[i].lat, 50) / 1e3, hist_pct(&r[i].lat, 90) / 1e3,
                    hist_pct(&r[i].lat, 99) / 1e3, r[i].lat.max / 1e3);
            fprintf(f, "      bytes: %llu raw, %llu on the wire (%.1fx smaller)\n",
                    (unsigned long long)r[i].bytes, (unsigned long long)r[i].wire_bytes,
                    r[i].wire_bytes ? (double)r[i].bytes / (double)r[i].wire_bytes : 0);
            continue;
        }
        const char *kind = r[i].procs ? (r[i].producers > 1 ? "processes" : "process")
                                      : (r[i].producers > 1 ? "threads" : "thread");
        fprintf(f, "%-5s %s, %d producer %s: %12.0f puts/s %9.1f MB/s   consumer %12.0f ev/s\n",
                r[i].backend, sz, r[i].producers, kind, r[i].puts_per_s, r[i].mb_per_s, r[i].consumer_per_s);
        fprintf(f, "      put latency ns: p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu  (%llu sampled)\n",
                (unsigned long long)hist_pct(&r[i].lat, 50), (unsigned long long)hist_pct(&r[i].lat, 90),
                (unsigned long long)hist_pct(&r[i].lat, 99), (unsigned long long)hist_pct(&r[i].lat, 99.9),
                (unsigned long long)r[i].lat.max, (unsigned long long)r[i].lat.count);
        fprintf(f, "      put %llu, consumed %llu, full %llu (%.0f ns each), syscalls/put %.4f, "
                   "context switches %llu%s\n",
                (unsigned long long)r[i].accepted, (unsigned long long)r[i].consumed,
                (unsigned long long)r[i].full, r[i].full_put_ns, r[i].syscalls_per_put,
                (unsigned long long)r[i].ctx_switches, r[i].counts_ok ? "" : "  COUNTS DO NOT ADD UP");
        if (r[i].note && r[i].note[0])
            fprintf(f, "      note: %s\n", r[i].note);
    }
    for (int i = 1; i < n; i++)
        if (r[0].available && r[i].available && r[i].puts_per_s > 0)
            fprintf(f, "ratio: %s / %s = %.1fx\n", r[0].backend, r[i].backend, r[0].puts_per_s / r[i].puts_per_s);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

void report_json(FILE *f, const bench_result *r, int n)
{
    fprintf(f, "{\"runs\":[");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"backend\":", i ? "," : "");
        json_str(f, r[i].backend);
        fprintf(f, ",\"available\":%s", r[i].available ? "true" : "false");
        if (!r[i].available) {
            fprintf(f, ",\"why\":");
            json_str(f, r[i].why);
            fprintf(f, "}");
            continue;
        }
        fprintf(f, ",\"producers\":%d,\"procs\":%s,\"size_min\":%zu,\"size_max\":%zu,"
                   "\"put\":%llu,\"attempts\":%llu,\"consumed\":%llu,\"full\":%llu,\"bytes\":%llu,"
                   "\"puts_per_s\":%.1f,\"mb_per_s\":%.2f,\"consumer_per_s\":%.1f,\"full_put_ns\":%.1f,"
                   "\"syscalls_per_put\":%.6f,\"wakeups\":%llu,\"wire_bytes\":%llu,\"context_switches\":%llu,\"counts_ok\":%s,"
                   "\"latency_ns\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu,\"samples\":%llu}",
                r[i].producers, r[i].procs ? "true" : "false", r[i].lo, r[i].hi,
                (unsigned long long)r[i].accepted, (unsigned long long)r[i].attempts,
                (unsigned long long)r[i].consumed, (unsigned long long)r[i].full,
                (unsigned long long)r[i].bytes, r[i].puts_per_s, r[i].mb_per_s, r[i].consumer_per_s,
                r[i].full_put_ns, r[i].syscalls_per_put, (unsigned long long)r[i].wakeups,
                (unsigned long long)r[i].wire_bytes,
                (unsigned long long)r[i].ctx_switches, r[i].counts_ok ? "true" : "false",
                (unsigned long long)hist_pct(&r[i].lat, 50), (unsigned long long)hist_pct(&r[i].lat, 90),
                (unsigned long long)hist_pct(&r[i].lat, 99), (unsigned long long)hist_pct(&r[i].lat, 99.9),
                (unsigned long long)r[i].lat.max, (unsigned long long)r[i].lat.count);
        if (r[i].note) {
            fprintf(f, ",\"note\":");
            json_str(f, r[i].note);
        }
        fprintf(f, "}");
    }
    fprintf(f, "],\"ratios\":{");
    for (int i = 1, k = 0; i < n; i++)
        if (r[0].available && r[i].available && r[i].puts_per_s > 0)
            fprintf(f, "%s\"%s\":%.2f", k++ ? "," : "", r[i].backend, r[0].puts_per_s / r[i].puts_per_s);
    fprintf(f, "}}\n");
}
