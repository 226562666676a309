/*
 * ringctl — look at and feed ringpub queues from the shell.
 *   ringctl put --queue NAME [--wait-ms N]   one event per stdin line
 *   ringctl stat NAME                        geometry, depth and counters
 */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include "cli.h"
#include "load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ringctl put --queue NAME [--wait-ms N]   put one event per line of stdin\n"
    "       ringctl stat NAME                        show a ring's geometry and counters\n"
    "       ringctl load --queue NAME [--procs P] [--events N] [--size B] [--seconds S]\n"
    "                                                P processes put N numbered JSON events each\n"
    "A full queue is retried for up to --wait-ms (default 10000) per event.\n";

/* one clear line, exit 2 (what is a literal; arg fills its end) */
#define die(what, arg) cli_fail("ringctl", what "%s", arg)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Put with bounded retries while the queue is full. */
static int put_one(rp_queue *q, const char *ev, size_t len, uint64_t wait_ms)
{
    uint64_t until = now_ms() + wait_ms;
    struct timespec nap = { 0, 1000000 };
    for (;;) {
        int rc = rp_queue_put(q, ev, len);
        if (rc != RP_EFULL || now_ms() >= until)
            return rc;
        nanosleep(&nap, NULL);
    }
}

static int cmd_put(int argc, char **argv)
{
    const char *queue = NULL;
    uint64_t wait_ms = 10000, n = 0, lineno = 0;
    char *line = NULL, why[300];
    size_t cap = 0;
    ssize_t len;
    rp_queue *q;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc)
            queue = argv[++i];
        else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc)
            wait_ms = strtoull(argv[++i], NULL, 10);
        else
            die("put: unexpected argument ", argv[i]);
    }
    if (!queue)
        die("put: --queue NAME is required", "");
    int rc = rp_queue_open_why(&q, queue, NULL, why, sizeof why);
    if (rc) {
        fprintf(stderr, "ringctl: %s: %s\n", rp_strerror(rc), why);
        return rc == RP_EINVAL ? 2 : 1;
    }
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        rc = put_one(q, line, (size_t)len, wait_ms);
        if (rc) {
            fprintf(stderr, "ringctl: line %llu: %s (%llu events put before it)\n",
                    (unsigned long long)lineno, rp_strerror(rc), (unsigned long long)n);
            free(line);
            rp_queue_close(q);
            return 1;
        }
        n++;
    }
    free(line);
    rp_queue_close(q);
    fprintf(stderr, "ringctl: put %llu events into %s\n", (unsigned long long)n, queue);
    return 0;
}

static int cmd_stat(const char *name)
{
    rp_stats s;
    char why[300];
    int rc = rp_ring_stat(name, NULL, &s, why, sizeof why);
    if (rc) {
        fprintf(stderr, "ringctl: %s: %s\n", rp_strerror(rc), why);
        return 1;
    }
    printf("queue        %s\n", name);
    printf("capacity     %llu bytes, max event %llu bytes%s\n", (unsigned long long)s.capacity,
           (unsigned long long)s.max_event, s.flags & 1 ? ", single producer" : "");
    printf("depth        %llu bytes (head %llu, tail %llu)\n", (unsigned long long)s.used_bytes,
           (unsigned long long)s.head, (unsigned long long)s.tail);
    printf("consumer     %s (pid %u)\n", s.consumer_attached ? "attached" : "none", s.consumer_pid);
    printf("consumed     %llu events, %llu bytes\n", (unsigned long long)s.events_out,
           (unsigned long long)s.bytes_out);
    printf("rejected     %llu full, %llu too big\n", (unsigned long long)s.full,
           (unsigned long long)s.toobig);
    printf("recovered    %llu abandoned reservations, %llu bytes\n", (unsigned long long)s.recovered,
           (unsigned long long)s.recovered_bytes);
    printf("wakeups      %llu\n", (unsigned long long)s.wakeups);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "put") == 0)
        return cmd_put(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return ringctl_load(argc, argv);
    if (argc == 3 && strcmp(argv[1], "stat") == 0)
        return cmd_stat(argv[2]);
    fputs(usage, stderr);
    return 2;
}
