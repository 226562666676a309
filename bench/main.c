/*
 * ringbench — how fast, how steady, and what happens when it is full: a
 * queue on this host, against the baselines, in one run. See --help.
 */
#include "backend.h"
#include "cli.h"
#include "e2e.h"
#include "hist.h"
#include "report.h"
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ringbench [options]\n"
    "  --backend NAME          ring, mq, unix or memcpy: measured first (default ring)\n"
    "  --vs LIST               baselines run the same way after it, e.g. mq,unix,memcpy\n"
    "  --producers N           producer threads (default 1), or processes with --procs\n"
    "  --procs                 producers are processes\n"
    "  --size N | N-M          event size, fixed or uniform in a range (default 64)\n"
    "  --events N              events per producer (default: until --seconds)\n"
    "  --seconds S             duration cap (default 3)\n"
    "  --rate R                offered load, events/s in total (default: saturate)\n"
    "  --sample N              time one put in N (default 128; 1 = all)\n"
    "  --capacity BYTES        ring data area (default: the library's, 16 MiB), in a fresh\n"
    "                          directory under $RINGPUB_DIR (default /dev/shm)\n"
    "  --e2e                   producers -> ring -> ringpub -> ringcollect (installed next to\n"
    "                          ringbench): delivered events/s, put-to-collector latency, wire bytes\n"
    "  --json                  machine-readable output\n"
    "  --csv FILE              the first run's latency histogram as CSV\n";

/* one clear line, exit 2 (what is a literal; arg fills its end) */
#define fail(what, arg) cli_fail("ringbench", what "%s", arg)

static double num(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || d < lo || d > hi)
        fail("bad value for ", opt);
    return d;
}

static void parse_size(const char *v, bench_opts *o)
{
    const char *dash = strchr(v, '-');
    char lo[32];
    if (dash && (size_t)(dash - v) < sizeof lo) {
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = '\0';
        o->lo = (size_t)num("--size", lo, 8, 102400);
        o->hi = (size_t)num("--size", dash + 1, 8, 102400);
    } else {
        o->lo = o->hi = (size_t)num("--size", v, 8, 102400);
    }
    if (o->lo > o->hi)
        fail("--size: N-M wants N <= M", "");
}

/* 1 if option a takes a value (so a missing one is named as such). */
static int takes_value(const char *a)
{
    static const char *const valued[] = { "--backend", "--vs", "--producers", "--size", "--events",
                                          "--seconds", "--rate", "--sample", "--csv", "--capacity" };
    for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
        if (strcmp(a, valued[i]) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = { "ring", 1, 0, 64, 64, 0, 3.0, 0, 128 };
    const char *vs = NULL, *csv = NULL;
    int json = 0, e2e = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (cli_help_or_version("ringbench", a, usage)) return 0;
        else if (strcmp(a, "--procs") == 0) { o.procs = 1; takes = 0; }
        else if (strcmp(a, "--json") == 0) { json = 1; takes = 0; }
        else if (strcmp(a, "--e2e") == 0) { e2e = 1; takes = 0; }
        else if (!v) cli_fail("ringbench", takes_value(a) ? "missing value for %s" : "unknown option %s", a);
        else if (strcmp(a, "--backend") == 0) o.backend = v;
        else if (strcmp(a, "--vs") == 0) vs = v;
        else if (strcmp(a, "--producers") == 0) o.producers = (int)num(a, v, 1, 64);
        else if (strcmp(a, "--size") == 0) parse_size(v, &o);
        else if (strcmp(a, "--events") == 0) o.events = (uint64_t)num(a, v, 1, 1e12);
        else if (strcmp(a, "--seconds") == 0) o.seconds = num(a, v, 0.01, 3600);
        else if (strcmp(a, "--rate") == 0) o.rate = num(a, v, 1, 1e9);
        else if (strcmp(a, "--sample") == 0) o.sample_every = (int)num(a, v, 1, 1e6);
        else if (strcmp(a, "--csv") == 0) csv = v;
        else if (strcmp(a, "--capacity") == 0) backend_ring_capacity = (uint64_t)num(a, v, 4096, 1e12);
        else fail("unknown option ", a);
        i += takes;
    }
    bench_result r[4];
    int n = 0;
    if (e2e) {
        if (o.lo != o.hi || o.lo < 100 || o.lo > 8000)
            fail("--e2e wants a fixed --size of 100-8000 bytes", "");
        if (bench_e2e(&o, &r[0]) != 0)
            fail("e2e run failed: ", r[0].why);
        n = 1;
        goto out;
    }
    char list[64] = "";
    snprintf(list, sizeof list, "%s%s%s", o.backend, vs ? "," : "", vs ? vs : "");
    for (char *save = NULL, *b = strtok_r(list, ",", &save); b && n < 4; b = strtok_r(NULL, ",", &save)) {
        bench_opts oo = o;
        oo.backend = b;
        if (!backend_find(b))
            fail("unknown backend (ring, mq, unix, memcpy): ", b);
        if (bench_run(&oo, &r[n]) != 0 && r[n].why[0] && r[n].available) {
            fprintf(stderr, "ringbench: %s: %s\n", b, r[n].why);
            return 1;
        }
        n++;
    }
out:
    if (json)
        report_json(stdout, r, n);
    else
        report_table(stdout, r, n);
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f)
            fail("cannot write ", csv);
        hist_csv(&r[0].lat, f);
        fclose(f);
    }
    for (int i = 0; i < n; i++)
        if (r[i].available && !r[i].counts_ok)
            return 1;
    return 0;
}
