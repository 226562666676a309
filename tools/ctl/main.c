/*
 * ringctl — look at and feed ringpub queues from the shell.
 *   ringctl put --queue NAME [--wait-ms N]   one event per stdin line
 *   ringctl ls | stat | create | rm | tail | load   (see usage below)
 */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include "cli.h"
#include "admin.h"
#include "load.h"
#include "views.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ringctl put --queue NAME [--wait-ms N] [--group NAME|GID]\n"
    "                                                put one event per line of stdin\n"
    "       ringctl ls [--interval MS]               the rings in $RINGPUB_DIR: depth, consumer,\n"
    "                                                producer processes, rates\n"
    "       ringctl stat NAME [--once]               geometry, positions, counters, rates\n"
    "                                                (refreshed every second on a terminal)\n"
    "       ringctl create NAME [--capacity SIZE] [--max-event SIZE] [--group NAME|GID]\n"
    "       ringctl rm NAME [--force]                refused while a consumer holds it; without\n"
    "                                                --force also while producers map it or it\n"
    "                                                holds unconsumed events\n"
    "       ringctl tail NAME [-n N]                 the newest N events, not consumed\n"
    "       ringctl load --queue NAME [--procs P] [--events N] [--size B] [--seconds S]\n"
    "                                                P processes put N numbered JSON events each\n"
    "A full queue is retried for up to --wait-ms (default 10000) per event. --group shares a\n"
    "ring this creates with that group (mode 0660) and trusts one of another user in it; a\n"
    "set-group-ID $RINGPUB_DIR (mode 2770) does the same for its own group.\n";

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
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc)
            queue = argv[++i];
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
            if (ringctl_group(argv[++i], &o) != 0)
                die("put: --group: no such group ", argv[i]);
        }
        else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc)
            wait_ms = strtoull(argv[++i], NULL, 10);
        else
            die("put: unexpected argument ", argv[i]);
    }
    if (!queue)
        die("put: --queue NAME is required", "");
    int rc = rp_queue_open_why(&q, queue, &o, why, sizeof why);
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

int main(int argc, char **argv)
{
    if (argc >= 2 && cli_help_or_version("ringctl", argv[1], usage))
        return 0;
    if (argc >= 2 && strcmp(argv[1], "put") == 0)
        return cmd_put(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return ringctl_load(argc, argv);
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        { "ls", ringctl_ls }, { "stat", ringctl_stat }, { "create", ringctl_create },
        { "rm", ringctl_rm }, { "tail", ringctl_tail },
    };
    for (size_t i = 0; argc >= 2 && i < sizeof cmds / sizeof *cmds; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc, argv);
    if (argc >= 2)
        fprintf(stderr, "ringctl: unknown command %s (see ringctl --help)\n", argv[1]);
    else
        fputs(usage, stderr);
    return 2;
}
