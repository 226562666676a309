/* process.c — see process.h. */
#include "process.h"
#include "ringpub_event.h" /* rp_iso8601 */

#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "validate", "set_meta_dt", "keep", "drop", "route" };
#define NKINDS (int)(sizeof names / sizeof *names)

const char *pub_proc_name(pub_proc_kind k)
{
    return names[k];
}

/* Split "a, b ,c" into out[max][128]; -1 if there are too many or too long. */
static int split(const char *list, char out[][128], int max, int *n)
{
    char buf[2048], *save = NULL;
    *n = 0;
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        if (*n == max || strlen(t) >= 128)
            return -1;
        snprintf(out[(*n)++], 128, "%s", t);
    }
    return 0;
}

int pub_procs_parse(pub_procs *p, const char *chain, const char *required, const char *keep, const char *drop,
                    uint32_t max_depth, size_t max_bytes, char *err, size_t errlen)
{
    char items[PUB_MAX_PROCS][128];
    int n;
    memset(p, 0, sizeof *p);
    p->max_depth = max_depth;
    p->max_bytes = max_bytes;
    if (split(chain, items, PUB_MAX_PROCS, &n) != 0) {
        snprintf(err, errlen, "processors: at most %d", PUB_MAX_PROCS);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int k = -1;
        for (int j = 0; j < NKINDS; j++)
            if (strcmp(items[i], names[j]) == 0)
                k = j;
        if (k < 0) {
            snprintf(err, errlen, "processors: unknown processor \"%.60s\" (validate, set_meta_dt, keep, drop, route)",
                     items[i]);
            return -1;
        }
        p->chain[p->n++] = (pub_proc_kind)k;
    }
    if (split(required, p->required, PUB_MAX_REQUIRED, &p->nrequired) != 0 ||
        split(keep, p->keep, PUB_MAX_PATTERNS, &p->nkeep) != 0 ||
        split(drop, p->drop, PUB_MAX_PATTERNS, &p->ndrop) != 0) {
        snprintf(err, errlen, "validate.required, keep.match, drop.match: at most %d entries of < 128 chars",
                 PUB_MAX_PATTERNS);
        return -1;
    }
    return 0;
}

static int has(const pub_procs *p, pub_proc_kind k)
{
    for (int i = 0; i < p->n; i++)
        if (p->chain[i] == k)
            return 1;
    return 0;
}

int pub_procs_configure(pub_procs *p, const pub_config *c, size_t max_bytes, char *err, size_t errlen)
{
    if (pub_procs_parse(p, c->processors, c->validate_required, c->keep_match, c->drop_match,
                        c->validate_max_depth, max_bytes, err, errlen) != 0)
        return -1;
    size_t by = strlen(c->route_by);
    if (by >= sizeof p->route_by) {
        snprintf(err, errlen, "route.by: at most %zu characters", sizeof p->route_by - 1);
        return -1;
    }
    memcpy(p->route_by, c->route_by, by + 1);
    for (int r = 0; r < c->nroutes; r++) {
        if (split(c->routes[r].match, p->routes[r], PUB_MAX_PATTERNS, &p->nroute_pats[r]) != 0 ||
            p->nroute_pats[r] == 0) {
            snprintf(err, errlen, "route.%s.match: 1-%d patterns of < 128 chars", c->routes[r].name,
                     PUB_MAX_PATTERNS);
            return -1;
        }
    }
    p->nroutes = c->nroutes;
    if (has(p, PROC_ROUTE) != (p->nroutes > 0)) {
        snprintf(err, errlen, p->nroutes ? "route.* keys are set but processors has no route"
                                         : "the route processor needs at least one route.NAME.match");
        return -1;
    }
    return 0;
}

/* A dotted path ("meta.stream") in an object; "$schema" has no dots. */
static json_t *get_path(json_t *o, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
        o = json_is_object(o) ? json_object_get(o, t) : NULL;
    return o;
}

static size_t depth_of(json_t *v, size_t limit)
{
    size_t d = 0, i;
    const char *k;
    json_t *c;
    if (limit == 0)
        return 1;
    if (json_is_object(v))
        json_object_foreach(v, k, c) {
            size_t x = depth_of(c, limit - 1);
            d = x > d ? x : d;
        }
    else if (json_is_array(v))
        json_array_foreach(v, i, c) {
            size_t x = depth_of(c, limit - 1);
            d = x > d ? x : d;
        }
    else
        return 0;
    return d + 1;
}

static int validate(const pub_procs *p, json_t *ev, size_t len, char *why, size_t whylen)
{
    if (p->max_bytes && len > p->max_bytes) {
        snprintf(why, whylen, "event is %zu bytes, over validate.max_bytes %zu", len, p->max_bytes);
        return -1;
    }
    if (!json_is_object(ev)) {
        snprintf(why, whylen, "event is not a JSON object");
        return -1;
    }
    size_t d = depth_of(ev, p->max_depth + 1);
    if (d > p->max_depth) {
        snprintf(why, whylen, "nesting deeper than validate.max_depth %u", (unsigned)p->max_depth);
        return -1;
    }
    for (int i = 0; i < p->nrequired; i++)
        if (!get_path(ev, p->required[i])) {
            snprintf(why, whylen, "required field %s is missing", p->required[i]);
            return -1;
        }
    return 0;
}

static int set_meta_dt(json_t *ev, int64_t now_ms, char *why, size_t whylen)
{
    char dt[RP_ISO8601_SIZE];
    json_t *meta = json_object_get(ev, "meta");
    if (!json_is_object(ev) || (meta && !json_is_object(meta))) {
        snprintf(why, whylen, "set_meta_dt: the event or its meta is not an object");
        return -1;
    }
    rp_iso8601(now_ms, dt);
    if (!meta && json_object_set_new(ev, "meta", meta = json_object()) != 0) {
        snprintf(why, whylen, "set_meta_dt: out of memory");
        return -1;
    }
    if (json_object_set_new(meta, "dt", json_string(dt)) != 0) {
        snprintf(why, whylen, "set_meta_dt: out of memory");
        return -1;
    }
    return 0;
}

/* The event's name for keep/drop: meta.stream, name, event_type or event_topic. */
static const char *event_name(json_t *ev)
{
    static const char *const paths[] = { "meta.stream", "name", "event_type", "event_topic" };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *s = json_string_value(get_path(ev, paths[i]));
        if (s)
            return s;
    }
    return "";
}

static int matches(const char pats[][128], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (fnmatch(pats[i], name, 0) == 0)
            return 1;
    return 0;
}

/* The first route matching the event, or -1 (the queue's own sink). */
static int route_of(const pub_procs *p, json_t *ev)
{
    const char *v = p->route_by[0] ? json_string_value(get_path(ev, p->route_by)) : event_name(ev);
    if (!v)
        return -1;
    for (int r = 0; r < p->nroutes; r++)
        if (matches(p->routes[r], p->nroute_pats[r], v))
            return r;
    return -1;
}

pub_proc_result pub_process(const pub_procs *p, const char *ev, size_t len, int64_t now_ms, const char **out,
                            size_t *outlen, int *owned, int *route, const char **which, char *why,
                            size_t whylen)
{
    json_error_t e;
    json_t *j;
    int changed = 0;
    pub_proc_result r = PROC_PASS;
    *out = ev;
    *outlen = len;
    *owned = 0;
    *route = -1;
    *which = "";
    if (p->n == 0)
        return PROC_PASS;
    if (!(j = json_loadb(ev, len, JSON_REJECT_DUPLICATES, &e))) {
        *which = pub_proc_name(p->chain[0]);
        snprintf(why, whylen, "not valid JSON: %s at byte %d", e.text, e.position);
        return PROC_FAILED;
    }
    for (int i = 0; i < p->n && r == PROC_PASS; i++) {
        if (p->stage)
            *p->stage = i;
        *which = pub_proc_name(p->chain[i]);
        switch (p->chain[i]) {
        case PROC_VALIDATE:
            if (validate(p, j, len, why, whylen) != 0)
                r = PROC_FAILED;
            break;
        case PROC_SET_META_DT:
            if (set_meta_dt(j, now_ms, why, whylen) != 0)
                r = PROC_FAILED;
            changed = 1;
            break;
        case PROC_KEEP:
            if (!matches(p->keep, p->nkeep, event_name(j)))
                r = PROC_FILTERED;
            break;
        case PROC_DROP:
            if (matches(p->drop, p->ndrop, event_name(j)))
                r = PROC_FILTERED;
            break;
        case PROC_ROUTE:
            *route = route_of(p, j);
            break;
        }
    }
    if (r == PROC_PASS && changed) {
        char *s = json_dumps(j, JSON_COMPACT);
        if (!s) {
            snprintf(why, whylen, "out of memory re-serializing the event");
            r = PROC_FAILED;
        } else {
            *out = s;
            *outlen = strlen(s);
            *owned = 1;
        }
    }
    json_decref(j);
    return r;
}
