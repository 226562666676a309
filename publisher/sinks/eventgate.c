/* sinks/eventgate.c — an EventGate-style API (sink = eventgate): plain JSON
 * arrays POSTed like the collector's (sinks/http.c), whose 207 and 400
 * answers list the events it refused (eventgate.c parses them). */
#include "sink.h"

#include "errstream.h"
#include "eventgate.h"
#include "ringpub_event.h" /* rp_now_ms */

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* EventGate's 207 (some refused) and 400 (all refused) list the refused
 * events: they go to the error stream, and the batch counts as delivered.
 * Returns 1 if handled that way. */
static int refusals(pub_daemon *d, pub_out *o, const pub_http_result *r)
{
    long n = r->body ? pub_eventgate_refused(r->body, r->body_len, &d->errors, d->cfg.queue, rp_now_ms()) : -1;
    if (n < 0) {
        pub_log(d, "batch %s: EventGate answered %ld without a list of refused events", o->id, r->status);
        return 0;
    }
    if (pub_errors_flush(d) != 0) {
        pub_log(d, "batch %s: cannot write the error stream %s: %s", o->id, d->cfg.errors_file, strerror(errno));
        d->errors.len = 0;
        return 0;
    }
    pub_log(d, "batch %s: EventGate refused %ld of %u events: in %s", o->id, n, o->count, d->cfg.errors_file);
    d->metrics.total.invalid += (uint64_t)n;
    return 1;
}

static void verdict(pub_daemon *d, pub_out *o, const pub_http_result *r, pub_verdict *v)
{
    pub_verdict_http(d, r, v);
    if ((r->status == 207 || r->status == 400) && refusals(d, o, r))
        v->kind = PUB_DELIVERED, v->why = "";
}

static void describe(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    (void)c, (void)host;
    snprintf(l->version, sizeof l->version, "2j"); /* EventGate takes plain JSON arrays */
    l->compression = PUB_NONE;
    snprintf(l->url, sizeof l->url, "%s", eventgate_url);
    snprintf(l->where, sizeof l->where, "%.600s", l->url);
}

static int send_post(pub_daemon *d, pub_out *o) { return pub_sink_http.send(d, o); }

const pub_sink_ops pub_sink_eventgate = { "eventgate", NULL, NULL, describe, send_post, verdict };
