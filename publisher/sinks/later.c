/* sinks/later.c — the reports of sinks that finish inside send() (the file
 * sink): kept in d->ready, acted on by send.c at the next loop turn; and the
 * verdict of sinks that only say done (200) or not (0). */
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>

void pub_send_complete_later(pub_daemon *d, uint64_t req, long status, const char *err)
{
    if (d->nready == d->capready) {
        size_t cap = d->capready ? d->capready * 2 : 16;
        struct pub_ready *r = (struct pub_ready *)realloc(d->ready, cap * sizeof *r);
        if (!r)
            return; /* the batch stays SENDING: retried after a restart, never lost */
        d->ready = r;
        d->capready = cap;
    }
    struct pub_ready *r = &d->ready[d->nready++];
    r->req = req;
    r->status = status;
    snprintf(r->err, sizeof r->err, "%.299s", err ? err : "");
}

void pub_verdict_done(pub_daemon *d, pub_out *o, const pub_http_result *r, pub_verdict *v)
{
    (void)d, (void)o;
    *v = (pub_verdict){ r->status == 200 ? PUB_DELIVERED : PUB_RETRY, r->status, r->status == 200 ? "" : r->errmsg, 0 };
}
