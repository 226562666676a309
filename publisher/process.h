/*
 * process.h — the per-queue processor chain, run on each event before it is
 * batched, in the manner of event-tracking's routing backend and
 * Wikimedia's EventGate. Configured by `processors = a, b, ...` (run in
 * that order) and the keys below; parsed with jansson.
 *
 *   validate      well-formed JSON object, the fields in validate.required
 *                 (dotted paths, e.g. "$schema, meta.stream, dt"), nesting
 *                 at most validate.max_depth, size at most validate.max_bytes
 *   set_meta_dt   stamp the receive time into meta.dt (ISO-8601 UTC)
 *   keep / drop   keep only / drop the events whose name matches one of the
 *                 shell patterns in keep.match / drop.match; the name is the
 *                 first of meta.stream, name, event_type, event_topic
 *   route         choose the event's sink: the first route whose
 *                 route.R.match patterns match the event's name (or the
 *                 string at route.by); no match: the queue's own sink
 *
 * An event that fails a processor is never dropped silently: the caller
 * writes it to the error stream (an error event with the reason, the
 * processor, the queue and the original event). keep/drop filtering is
 * deliberate and only counted.
 */
#ifndef RINGPUB_PROCESS_H
#define RINGPUB_PROCESS_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define PUB_MAX_PROCS 8
#define PUB_MAX_PATTERNS 16
#define PUB_MAX_REQUIRED 16

typedef enum { PROC_VALIDATE, PROC_SET_META_DT, PROC_KEEP, PROC_DROP, PROC_ROUTE } pub_proc_kind;

typedef struct pub_procs {
    pub_proc_kind chain[PUB_MAX_PROCS];
    int n;
    char required[PUB_MAX_REQUIRED][128];
    int nrequired;
    char keep[PUB_MAX_PATTERNS][128], drop[PUB_MAX_PATTERNS][128];
    int nkeep, ndrop;
    char routes[PUB_MAX_ROUTES][PUB_MAX_PATTERNS][128]; /* route.R.match, in route order */
    int nroute_pats[PUB_MAX_ROUTES], nroutes;
    char route_by[128];                                 /* "" = the event's name */
    volatile int32_t *stage; /* if set, the chain index of the running processor goes here */
    uint32_t max_depth;
    size_t max_bytes;
} pub_procs;

typedef enum { PROC_PASS, PROC_FILTERED, PROC_FAILED } pub_proc_result;

/*
 * pub_procs_parse — build the chain from the config's strings. Returns 0,
 * or -1 with one line in err (unknown processor, too many entries).
 */
int pub_procs_parse(pub_procs *p, const char *chain, const char *required, const char *keep, const char *drop,
                    uint32_t max_depth, size_t max_bytes, char *err, size_t errlen);

/*
 * pub_procs_configure — the chain of a queue's config: pub_procs_parse plus
 * route.by and the routes' patterns; refuses a `route` processor without
 * routes and routes without a `route` processor. max_bytes as for
 * pub_procs_parse. 0, or -1 with one line in err.
 */
int pub_procs_configure(pub_procs *p, const pub_config *c, size_t max_bytes, char *err, size_t errlen);

/*
 * pub_process — run the chain on ev[len]. PROC_PASS: the event goes on, as
 * *out and *outlen (ev itself, or a rewritten copy to free() when *owned),
 * to route *route (-1: the queue's own sink); PROC_FILTERED: keep/drop
 * removed it; PROC_FAILED: *which names the processor and why says what
 * failed. now_ms stamps set_meta_dt.
 */
pub_proc_result pub_process(const pub_procs *p, const char *ev, size_t len, int64_t now_ms, const char **out,
                            size_t *outlen, int *owned, int *route, const char **which, char *why,
                            size_t whylen);

/* The name of a processor kind, as written in the config. */
const char *pub_proc_name(pub_proc_kind k);

#endif
