/* admin.c — see admin.h. */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include "admin.h"
#include "cli.h"
#include "mfile.h"
#include "units.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The ring directory, as the library resolves it ($RINGPUB_DIR or /dev/shm). */

/* "64MiB", "4096", "1k" -> bytes; 0 on a bad value. */
/* A size as the config file takes it (units.h: 64MB, 64MiB, 16k, ...); 0 if it is not one. */
static uint64_t size_arg(const char *v)
{
    uint64_t n;
    return pub_parse_size(v, &n) == 0 ? n : 0;
}

int ringctl_group(const char *v, rp_queue_opts *o)
{
    if (cli_group_id(v, &o->gid) != 0)
        return -1;
    o->flags |= RP_OPT_GROUP;
    return 0;
}

static int usage_err(const char *cmd, const char *arg)
{
    fprintf(stderr, "ringctl: %s: unexpected or bad argument %s (see ringctl --help)\n", cmd, arg);
    return 2;
}

int ringctl_create(int argc, char **argv)
{
    rp_queue_opts o;
    rp_queue *q;
    rp_stats s;
    const char *name = NULL;
    char why[300];
    memset(&o, 0, sizeof o);
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--capacity") && (o.capacity = size_arg(v)))
            i++;
        else if (!strcmp(argv[i], "--max-event") && (o.max_event = (uint32_t)size_arg(v)))
            i++;
        else if (!strcmp(argv[i], "--group") && ringctl_group(v, &o) == 0)
            i++;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_err("create", argv[i]);
    }
    if (!name)
        return usage_err("create", "(no queue name)");
    if (rp_ring_stat(name, NULL, &s, why, sizeof why) == 0) {
        fprintf(stderr, "ringctl: create: queue %s already exists\n", name);
        return 1;
    }
    int rc = rp_queue_open_why(&q, name, &o, why, sizeof why);
    if (rc) {
        fprintf(stderr, "ringctl: create: %s: %s\n", rp_strerror(rc), why);
        return rc == RP_EINVAL ? 2 : 1;
    }
    rp_queue_close(q);
    rp_ring_stat(name, NULL, &s, why, sizeof why);
    printf("created %s/%s: %llu bytes, max event %llu bytes\n", rp_queue_dir(NULL), name, (unsigned long long)s.capacity,
           (unsigned long long)s.max_event);
    return 0;
}

int ringctl_rm(int argc, char **argv)
{
    const char *name = NULL;
    int force = 0;
    char why[300], path[4200];
    rp_stats s;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_err("rm", argv[i]);
    }
    if (!name)
        return usage_err("rm", "(no queue name)");
    int rc = rp_ring_stat(name, NULL, &s, why, sizeof why);
    if (rc) {
        fprintf(stderr, "ringctl: rm: %s: %s\n", rp_strerror(rc), why);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", rp_queue_dir(NULL), name);
    if (s.consumer_attached) {
        fprintf(stderr, "ringctl: rm: queue %s is held by a live consumer (pid %u): stop it first\n", name,
                s.consumer_pid);
        return 1;
    }
    int mappers = ringctl_mappers(path, -1);
    if (!force && (mappers > 0 || s.used_bytes > 0)) {
        fprintf(stderr, "ringctl: rm: queue %s has %d producer process(es) attached and %llu unconsumed bytes: "
                        "use --force to remove it anyway\n", name, mappers, (unsigned long long)s.used_bytes);
        return 1;
    }
    if (unlink(path) != 0) {
        perror("ringctl: rm");
        return 1;
    }
    printf("removed %s\n", path);
    char mpath[4200];
    if (pub_mfile_path(rp_queue_dir(NULL), name, mpath, sizeof mpath) == 0 && unlink(mpath) == 0)
        printf("removed %s (the last daemon's metrics)\n", mpath);
    return 0;
}

static void print_event(const void *data, uint32_t len, uint64_t pos, void *ctx)
{
    (void)pos, (void)ctx;
    fwrite(data, 1, len, stdout);
    fputc('\n', stdout);
}

int ringctl_tail(int argc, char **argv)
{
    const char *name = NULL;
    long n = 10;
    char why[300];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc && atol(argv[i + 1]) > 0 && atol(argv[i + 1]) <= 10000)
            n = atol(argv[++i]);
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_err("tail", argv[i]);
    }
    if (!name)
        return usage_err("tail", "(no queue name)");
    int rc = rp_ring_peek(name, NULL, (size_t)n, print_event, NULL, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "ringctl: tail: %s: %s\n", rp_strerror(rc), why);
        return 1;
    }
    return 0;
}
