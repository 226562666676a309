/* load.c — see load.h. */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_PROCS 64

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    unsigned long long accepted, full_retries;
    double seconds;
    int rc;
} proc_result;

static void produce(const char *queue, int id, unsigned long long n, int size, double until,
                    proc_result *r)
{
    rp_queue *q;
    char ev[4096], pad[4096];
    struct timespec nap = { 0, 100000 };
    int plen = size > 60 ? size - 60 : 1;
    memset(pad, 'x', (size_t)plen);
    pad[plen] = '\0';
    if ((r->rc = rp_queue_open(&q, queue, NULL)) != 0)
        return;
    double t0 = now_s();
    while (r->accepted < n && now_s() < until) {
        int len = snprintf(ev, sizeof ev, "{\"p\":%d,\"s\":%llu,\"event_type\":\"demo\",\"pad\":\"%s\"}", id,
                           r->accepted, pad);
        int rc = rp_queue_put(q, ev, (size_t)len);
        if (rc == 0) {
            r->accepted++;
        } else if (rc == RP_EFULL) {
            r->full_retries++;
            nanosleep(&nap, NULL);
        } else {
            r->rc = rc;
            break;
        }
    }
    r->seconds = now_s() - t0;
    rp_queue_close(q);
}

/* 0 if a consumer drains queue (waiting up to 2 s for one that is
 * starting); else one line and 1: a load nothing drains only fills the ring,
 * then retries RP_EFULL until --seconds. */
static int drained(const char *queue)
{
    struct timespec nap = { 0, 50000000 };
    rp_stats st;
    char why[400];
    for (int tries = 0; tries < 40; tries++, nanosleep(&nap, NULL)) {
        int rc = rp_ring_stat(queue, NULL, &st, why, sizeof why);
        if (rc == 0 && st.consumer_attached)
            return 0;
        if (rc != 0 && rc != RP_ENOENT) {
            fprintf(stderr, "ringctl: load: %s: %s\n", rp_strerror(rc), why);
            return 1;
        }
    }
    fprintf(stderr, "ringctl: load: nothing is draining queue %s (no consumer attached): start `ringpub --queue %s` "
                    "first\n", queue, queue);
    return 1;
}

/* One line per producer that did not end well; 1 if any. */
static int report_producers(const proc_result *r, const int *status, long procs)
{
    int bad = 0;
    for (long i = 0; i < procs; i++) {
        if (WIFSIGNALED(status[i]))
            fprintf(stderr, "ringctl: load: producer %ld (of %ld) was killed by signal %d (%s)\n", i, procs,
                    WTERMSIG(status[i]), strsignal(WTERMSIG(status[i])));
        else if (r[i].rc)
            fprintf(stderr, "ringctl: load: producer %ld: %s\n", i, rp_strerror(r[i].rc));
        else
            continue;
        bad = 1;
    }
    return bad;
}

int ringctl_load(int argc, char **argv)
{
    const char *queue = NULL;
    long procs = 4, size = 200, seconds = 60;
    unsigned long long events = 100000, acc = 0, retries = 0;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "ringctl: load: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--queue") == 0) queue = v;
        else if (strcmp(a, "--procs") == 0) procs = strtol(v, NULL, 10);
        else if (strcmp(a, "--events") == 0) events = strtoull(v, NULL, 10);
        else if (strcmp(a, "--size") == 0) size = strtol(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0) seconds = strtol(v, NULL, 10);
        else {
            fprintf(stderr, "ringctl: load: unknown option %s\n", a);
            return 2;
        }
    }
    if (!queue || procs < 1 || procs > MAX_PROCS || size < 64 || size > 4000 || seconds < 1 || events < 1) {
        fprintf(stderr, "ringctl: load: need --queue; --procs 1-64, --size 64-4000, --seconds >= 1\n");
        return 2;
    }
    proc_result *r = (proc_result *)mmap(NULL, sizeof *r * MAX_PROCS, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        return 1;
    if (drained(queue) != 0)
        return 1;
    memset(r, 0, sizeof *r * MAX_PROCS);
    double t0 = now_s(), until = t0 + (double)seconds;
    pid_t pid[MAX_PROCS];
    int status[MAX_PROCS] = { 0 };
    for (long i = 0; i < procs; i++)
        if ((pid[i] = fork()) == 0) {
            produce(queue, (int)i, events, (int)size, until, &r[i]);
            _exit(0);
        }
    for (long i = 0; i < procs; i++)
        if (pid[i] > 0)
            waitpid(pid[i], &status[i], 0);
    double wall = now_s() - t0;
    int rc = report_producers(r, status, procs);
    for (long i = 0; i < procs; i++) {
        acc += r[i].accepted;
        retries += r[i].full_retries;
    }
    printf("put %llu of %llu events (%ld procs x %ld B) in %.2f s: %.0f puts/s, %llu full retries\n", acc,
           events * (unsigned long long)procs, procs, size, wall, (double)acc / wall, retries);
    munmap(r, sizeof *r * MAX_PROCS);
    return rc ? rc : acc == events * (unsigned long long)procs ? 0 : 1;
}
