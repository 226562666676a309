/* views.c — see views.h. */
#include <ringpub.h>
#include <ringpub_consumer.h>
#include <ringpub_event.h> /* rp_now_ms */

#include "views.h"
#include "mfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The ring directory, as the library resolves it ($RINGPUB_DIR or /dev/shm). */

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* 1 if /proc/pid/maps mentions path. */
static int maps_file(const char *pid, const char *path)
{
    char file[64], line[4096];
    int hit = 0;
    snprintf(file, sizeof file, "/proc/%s/maps", pid);
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    while (!hit && fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (p) {
            p[strcspn(p, "\n")] = '\0';
            hit = strcmp(p, path) == 0;
        }
    }
    fclose(f);
    return hit;
}

int ringctl_mappers(const char *path, int except)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && atoi(e->d_name) != except && atoi(e->d_name) != getpid())
            n += maps_file(e->d_name, path);
    closedir(d);
    return n;
}

static double rate(uint64_t a, uint64_t b, long ms)
{
    return b >= a && ms > 0 ? (double)(b - a) * 1000.0 / (double)ms : 0;
}

int ringctl_ls(int argc, char **argv)
{
    long interval = 500;
    char names[256][72], why[300], path[4200];
    rp_stats before[256], after;
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc && atol(argv[i + 1]) >= 0)
            interval = atol(argv[++i]);
        else {
            fprintf(stderr, "ringctl: ls: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    DIR *d = opendir(rp_queue_dir(NULL));
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "ringctl: cannot read ring directory %s\n", rp_queue_dir(NULL));
        return 1;
    }
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.' && strlen(e->d_name) < sizeof names[0] &&
            rp_ring_stat(e->d_name, NULL, &before[n], why, sizeof why) == 0)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    if (interval)
        nap_ms(interval);
    printf("%-24s %12s %6s %9s %9s %12s %12s\n", "QUEUE", "DEPTH", "USED", "CONSUMER", "PRODUCERS", "IN B/S",
           "OUT EV/S");
    for (int i = 0; i < n; i++) {
        if (rp_ring_stat(names[i], NULL, &after, why, sizeof why) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", rp_queue_dir(NULL), names[i]);
        int mappers = ringctl_mappers(path, after.consumer_attached ? (int)after.consumer_pid : -1);
        char cons[16];
        snprintf(cons, sizeof cons, "%u", after.consumer_pid);
        printf("%-24s %12llu %5.1f%% %9s %9d %12.0f %12.0f\n", names[i], (unsigned long long)after.used_bytes,
               100.0 * (double)after.used_bytes / (double)after.capacity,
               after.consumer_attached ? cons : "-", mappers, rate(before[i].tail, after.tail, interval),
               rate(before[i].events_out, after.events_out, interval));
    }
    if (n == 0)
        printf("(no rings in %s)\n", rp_queue_dir(NULL));
    return 0;
}

/* What the consumer (the daemon) last said of its sink. */
static void print_sink(const rp_sink_report *r, int attached)
{
    const char *when = attached ? "" : " (last report: no consumer now)";
    if (r->state == RP_SINK_HEALTHY) {
        printf("sink         healthy, last status %llu, %llu probes since start%s\n",
               (unsigned long long)r->last_status, (unsigned long long)r->probes, when);
    } else if (r->state == RP_SINK_FAILING) {
        uint64_t now = (uint64_t)rp_now_ms();
        printf("sink         failing: last status %llu%s, backoff %llu ms, next probe in %llu ms, %llu probes "
               "since start%s\n",
               (unsigned long long)r->last_status, r->last_status ? "" : " (no answer)",
               (unsigned long long)r->backoff_ms,
               (unsigned long long)(r->next_unix_ms > now ? r->next_unix_ms - now : 0),
               (unsigned long long)r->probes, when);
    } else {
        printf("sink         (not reported: no daemon has drained this ring)\n");
    }
}

/* The daemon's own counters, as it serves them on /metrics (mfile.h): one
 * "name value" line each. The file is another process's: its lines are
 * shown only when they look like samples, and its owner and age are said. */
static void print_daemon(const char *name)
{
    static char text[1 << 16];
    char why[300];
    struct stat st;
    long n = pub_mfile_read(rp_queue_dir(NULL), name, text, sizeof text, &st, why, sizeof why);
    if (n == -2) {
        printf("daemon       (no metrics: no daemon has drained this ring since it was created)\n");
        return;
    }
    if (n < 0) {
        printf("daemon       (metrics not shown: %s)\n", why);
        return;
    }
    long age = (long)(time(NULL) - st.st_mtime);
    printf("daemon       metrics written by uid %u, %ld s ago (rewritten when they change)\n", (unsigned)st.st_uid,
           age < 0 ? 0 : age);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char metric[128];
        unsigned long long v;
        size_t k = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
        const char *value = strrchr(line, ' ');
        if (line[0] == '#' || k == 0 || k >= sizeof metric || (line[k] != '{' && line[k] != ' ') || !value ||
            sscanf(value, " %llu", &v) != 1)
            continue;
        memcpy(metric, line, k);
        metric[k] = '\0';
        printf("  %-34s %llu\n", metric, v);
    }
}

static void print_stat(const char *name, const rp_stats *s, const rp_stats *prev, long ms)
{
    printf("queue        %s\n", name);
    printf("capacity     %llu bytes, max event %llu bytes%s\n", (unsigned long long)s->capacity,
           (unsigned long long)s->max_event, s->flags & 1 ? ", single producer" : "");
    printf("depth        %llu bytes (head %llu, tail %llu)\n", (unsigned long long)s->used_bytes,
           (unsigned long long)s->head, (unsigned long long)s->tail);
    printf("consumer     %s (pid %u)\n", s->consumer_attached ? "attached" : "none", s->consumer_pid);
    printf("consumed     %llu events, %llu bytes\n", (unsigned long long)s->events_out,
           (unsigned long long)s->bytes_out);
    printf("rejected     %llu full, %llu too big, %llu no producer slot\n", (unsigned long long)s->full,
           (unsigned long long)s->toobig, (unsigned long long)s->noslot);
    printf("recovered    %llu reservations of dead producers, %llu bytes\n", (unsigned long long)s->recovered,
           (unsigned long long)s->recovered_bytes);
    if (s->stalled) {
        uint64_t now = (uint64_t)time(NULL) * 1000000000u;
        uint64_t age = now > s->stalled_since_unix_ns ? (now - s->stalled_since_unix_ns) / 1000000u : 0;
        printf("stalled      %llu live producer reservation(s) not committed; the oldest for %llu ms, at "
               "position %llu; %llu pinned, %llu bytes (the tail goes around them until they commit, abort or die)\n",
               (unsigned long long)s->stalled, (unsigned long long)age, (unsigned long long)s->stalled_pos,
               (unsigned long long)s->pinned, (unsigned long long)s->pinned_bytes);
    } else {
        printf("stalled      0\n");
    }
    print_sink(&s->sink, s->consumer_attached);
    printf("wakeups      %llu\n", (unsigned long long)s->wakeups);
    if (prev)
        printf("rates        %.0f events/s out, %.0f bytes/s in, %.0f full/s\n",
               rate(prev->events_out, s->events_out, ms), rate(prev->tail, s->tail, ms),
               rate(prev->full, s->full, ms));
    print_daemon(name);
}

int ringctl_stat(int argc, char **argv)
{
    const char *name = NULL;
    int once = !isatty(STDOUT_FILENO);
    char why[300];
    rp_stats s, prev;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            once = 1;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else {
            fprintf(stderr, "ringctl: stat: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "ringctl: stat: which queue?\n");
        return 2;
    }
    for (int round = 0;; round++) {
        int rc = rp_ring_stat(name, NULL, &s, why, sizeof why);
        if (rc) {
            fprintf(stderr, "ringctl: %s: %s\n", rp_strerror(rc), why);
            return 1;
        }
        if (!once)
            printf("\033[H\033[2J"); /* a refreshing view on a terminal */
        print_stat(name, &s, round ? &prev : NULL, 1000);
        if (once)
            return 0;
        fflush(stdout);
        prev = s;
        nap_ms(1000);
    }
}
