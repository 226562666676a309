/* forward.c — see forward.h. */
#include "forward.h"
#include "natsconn.h"

#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct forward {
    natsConnection *nc;
    jsCtx *js;
    char prefix[128];
    int timeout_ms;
};

forward *forward_open(const char *urls, const char *prefix, int timeout_ms, char *why, size_t whylen)
{
    forward *f = (forward *)calloc(1, sizeof *f);
    natsStatus s = f ? pub_nats_connect(&f->nc, urls) : NATS_NO_MEMORY;
    if (s == NATS_OK)
        s = natsConnection_JetStream(&f->js, f->nc, NULL);
    if (s != NATS_OK) {
        snprintf(why, whylen, "--jetstream %s: %s", urls, natsStatus_GetText(s));
        forward_close(f);
        return NULL;
    }
    snprintf(f->prefix, sizeof f->prefix, "%s", prefix);
    f->timeout_ms = timeout_ms;
    return f;
}

int forward_batch(forward *f, const char *queue, const char *id, const collect_headers *h, int json,
                  const void *body, size_t len, char *why, size_t whylen)
{
    static const char *const carried[] = { "Content-Encoding", "X-Signature", "X-Signature-Timestamp" };
    char subject[256];
    natsMsg *m = NULL;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode ec = 0;
    snprintf(subject, sizeof subject, "%s.%s", f->prefix, queue);
    natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)body, (int)len);
    for (size_t i = 0; s == NATS_OK && i < sizeof carried / sizeof *carried; i++) {
        const char *v = h->get(h->ctx, carried[i]);
        if (v)
            s = natsMsgHeader_Set(m, carried[i], v);
    }
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "X-Ringpub-Queue", queue);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "X-Collector-Version", json ? "2j" : "2");
    if (s == NATS_OK && id) s = natsMsgHeader_Set(m, "X-Batch-Id", id);
    if (s == NATS_OK) {
        jsPubOptions_Init(&po);
        po.MsgId = id;
        po.MaxWait = f->timeout_ms;
        s = js_PublishMsg(&ack, f->js, m, &po, &ec);
    }
    natsMsg_Destroy(m);
    jsPubAck_Destroy(ack);
    if (s == NATS_OK)
        return 0;
    if (s == NATS_NO_RESPONDERS)
        snprintf(why, whylen, "no JetStream stream takes subject %s", subject);
    else if (ec)
        snprintf(why, whylen, "JetStream error %d (%s)", (int)ec, natsStatus_GetText(s));
    else
        snprintf(why, whylen, "JetStream: %s", natsStatus_GetText(s));
    return -1;
}

void forward_close(forward *f)
{
    if (!f)
        return;
    jsCtx_Destroy(f->js);
    natsConnection_Destroy(f->nc);
    free(f);
}
