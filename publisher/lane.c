/* lane.c — see lane.h. */
#include "lane.h"

#include "sinks/sink.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* The sink-dependent parts of a lane: body format, compression, URL. */
static void lane_sink(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    snprintf(l->version, sizeof l->version, "%s", c->collector_version);
    l->compression = c->compression;
    l->level = c->compression_level;
    pub_sink_ops_of(l->sink)->describe(l, c, host, eventgate_url);
}

static int lane_open(pub_lane *l, const pub_config *c, char *why, size_t whylen)
{
    char dir[PUB_STR];
    snprintf(dir, sizeof dir, "%s%s%s", c->queue, l->name[0] ? "@" : "", l->name);
    if (pub_batch_init(&l->building, l->version, c->batch_max_bytes) != 0) {
        snprintf(why, whylen, "cannot set up the batch buffer");
        return -1;
    }
    return spool_open(&l->spool, c->spool_dir, dir, c->spool_max_bytes, why, whylen);
}

int pub_lanes_open(pub_lane *lanes, const pub_config *c, char *why, size_t whylen)
{
    int n = 1 + c->nroutes;
    memset(lanes, 0, (size_t)n * sizeof *lanes);
    lanes[0].sink = c->sink;
    snprintf(lanes[0].file_path, sizeof lanes[0].file_path, "%s", c->file_path);
    snprintf(lanes[0].js_subject, sizeof lanes[0].js_subject, "%s", c->js_subject);
    lane_sink(&lanes[0], c, c->collector_host, c->eventgate_url);
    for (int r = 0; r < c->nroutes; r++) {
        const pub_route_cfg *rc = &c->routes[r];
        pub_lane *l = &lanes[1 + r];
        l->index = 1 + r;
        snprintf(l->name, sizeof l->name, "%s", rc->name);
        l->sink = (pub_sink)rc->sink;
        if (rc->file_path[0])
            snprintf(l->file_path, sizeof l->file_path, "%s", rc->file_path);
        else
            snprintf(l->file_path, sizeof l->file_path, "%.3000s/%s@%s.events.jsonl", c->spool_dir, c->queue,
                     rc->name);
        if (rc->js_subject[0])
            snprintf(l->js_subject, sizeof l->js_subject, "%s", rc->js_subject);
        else
            snprintf(l->js_subject, sizeof l->js_subject, "%.200s.%s", c->js_subject, rc->name);
        lane_sink(l, c, rc->collector_host[0] ? rc->collector_host : c->collector_host,
                  rc->eventgate_url[0] ? rc->eventgate_url : c->eventgate_url);
    }
    for (int i = 0; i < n; i++)
        if (lane_open(&lanes[i], c, why, whylen) != 0) {
            pub_lanes_close(lanes, i + 1);
            return -1;
        }
    return n;
}

void pub_lanes_close(pub_lane *lanes, int n)
{
    for (int i = 0; i < n; i++) {
        pub_batch_free(&lanes[i].building);
        spool_close(&lanes[i].spool);
    }
}

static int configured(const pub_lane *lanes, int n, const char *name)
{
    for (int i = 1; i < n; i++)
        if (strcmp(lanes[i].name, name) == 0)
            return 1;
    return 0;
}

int pub_lanes_orphans(const pub_lane *lanes, int n, const pub_config *c, char *lines, size_t len)
{
    DIR *d = opendir(c->spool_dir);
    struct dirent *e;
    size_t qlen = strlen(c->queue), used = 0;
    int found = 0;
    if (len)
        lines[0] = '\0';
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        char dir[PUB_PATH];
        int k;
        if (strncmp(e->d_name, c->queue, qlen) != 0 || e->d_name[qlen] != '@' ||
            configured(lanes, n, e->d_name + qlen + 1))
            continue;
        snprintf(dir, sizeof dir, "%.3000s/%.255s", c->spool_dir, e->d_name);
        if ((k = spool_count(dir)) == 0)
            continue;
        found++;
        if (used < len)
            used += (size_t)snprintf(lines + used, len - used, "%sspool %s holds %d batches of route %s, which is "
                                     "no longer configured: they are not sent until the route is back",
                                     used ? "\n" : "", dir, k, e->d_name + qlen + 1);
    }
    closedir(d);
    return found;
}

