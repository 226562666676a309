/* jetstream.c — see jetstream.h. */
#include "jetstream.h"
#include "natsconn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A publish waiting for its ack, keyed by the message libnats owns. */
struct pub_js_pending {
    pub_js_pending *next;
    natsMsg *msg;
    uint64_t req, started_ms;
    char subject[200];
};

struct pub_js_done {
    pub_js_done *next;
    uint64_t req, elapsed_ms;
    long status;
    char err[300];
};

static void post_done(pub_js *j, uint64_t req, uint64_t started_ms, long status, const char *err)
{
    pub_js_done *d = (pub_js_done *)calloc(1, sizeof *d);
    uint64_t one = 1;
    if (!d)
        return; /* the batch stays unsafe: at worst it is sent again */
    d->req = req;
    d->status = status;
    d->elapsed_ms = pub_now_ms() - started_ms;
    snprintf(d->err, sizeof d->err, "%s", err ? err : "");
    pthread_mutex_lock(&j->lock);
    if (j->done_tail)
        j->done_tail->next = d;
    else
        j->done_head = d;
    j->done_tail = d;
    pthread_mutex_unlock(&j->lock);
    if (write(j->efd, &one, sizeof one) < 0) { /* the counter cannot overflow here */
    }
}

/* Remove and return the pending entry for msg (NULL if unknown). */
static pub_js_pending *take_pending(pub_js *j, natsMsg *msg)
{
    pub_js_pending **pp, *p = NULL;
    pthread_mutex_lock(&j->lock);
    for (pp = &j->pending; *pp; pp = &(*pp)->next)
        if ((*pp)->msg == msg) {
            p = *pp;
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&j->lock);
    return p;
}

static void describe(char *out, size_t n, const pub_js_pending *p, const jsPubAckErr *pae)
{
    if (pae->Err == NATS_NO_RESPONDERS)
        snprintf(out, n, "no JetStream stream takes subject %s (no responders): create the stream", p->subject);
    else if (pae->Err == NATS_TIMEOUT)
        snprintf(out, n, "no publish ack from JetStream in time");
    else if (pae->ErrCode)
        snprintf(out, n, "JetStream error %d: %s", (int)pae->ErrCode, pae->ErrText ? pae->ErrText : "");
    else
        snprintf(out, n, "%s", natsStatus_GetText(pae->Err));
}

/* libnats thread: one ack (or failure) per published message. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    pub_js *j = (pub_js *)closure;
    pub_js_pending *p = take_pending(j, msg);
    char err[300] = "";
    (void)js;
    if (p) {
        if (!pa && pae)
            describe(err, sizeof err, p, pae);
        post_done(j, p->req, p->started_ms, pa ? 200 : 0, pa ? NULL : err[0] ? err : "no ack");
        free(p);
    }
    natsMsg_Destroy(msg);
}

static void arm(pub_js *j);

/* Loop thread: deliver the acks that arrived. */
static void on_event(void *ctx, pub_op *op, int res)
{
    pub_js *j = (pub_js *)ctx;
    uint64_t n;
    pub_js_done *list;
    (void)op;
    if (res < 0 || j->efd < 0) /* cancelled: closing */
        return;
    if (read(j->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&j->lock);
    list = j->done_head;
    j->done_head = j->done_tail = NULL;
    pthread_mutex_unlock(&j->lock);
    while (list) {
        pub_js_done *d = list;
        void *owner = j->find(j->ctx, d->req);
        list = d->next;
        j->active--;
        if (owner) {
            pub_http_result r = { d->status, CURLE_OK, d->err, "", d->elapsed_ms };
            j->done(j->ctx, owner, &r);
        }
        free(d);
    }
    arm(j);
}

static void arm(pub_js *j)
{
    j->op.fn = on_event;
    j->op.ctx = j;
    pub_loop_poll(j->loop, &j->op, j->efd, POLLIN);
}

int pub_js_init(pub_js *j, pub_loop *loop, const char *urls, pub_http_done done, pub_js_find find, void *ctx,
                char *why, size_t whylen)
{
    jsOptions jo;
    natsStatus s;
    memset(j, 0, sizeof *j);
    j->loop = loop;
    j->done = done;
    j->find = find;
    j->ctx = ctx;
    pthread_mutex_init(&j->lock, NULL);
    if ((j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(why, whylen, "eventfd: %s", strerror(errno));
        return -1;
    }
    s = pub_nats_connect(&j->nc, urls);
    if (s == NATS_OK) {
        jsOptions_Init(&jo);
        jo.PublishAsync.MaxPending = 4096;
        jo.PublishAsync.AckHandler = on_ack;
        jo.PublishAsync.AckHandlerClosure = j;
        s = natsConnection_JetStream(&j->js, j->nc, &jo);
    }
    if (s != NATS_OK) {
        snprintf(why, whylen, "NATS %s: %s", urls, natsStatus_GetText(s));
        pub_js_free(j);
        return -1;
    }
    arm(j);
    return 0;
}

void pub_js_publish(pub_js *j, uint64_t req, const char *subject, const char *msg_id, const char *const *hdrs,
                    const void *body, size_t len, long timeout_ms)
{
    pub_js_pending *p = (pub_js_pending *)calloc(1, sizeof *p);
    natsMsg *msg = NULL;
    jsPubOptions po;
    natsStatus s = p ? natsMsg_Create(&msg, subject, NULL, (const char *)body, (int)len) : NATS_NO_MEMORY;
    uint64_t now = pub_now_ms();
    j->active++;
    for (int i = 0; s == NATS_OK && hdrs && hdrs[i]; i += 2)
        s = natsMsgHeader_Set(msg, hdrs[i], hdrs[i + 1]);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        free(p);
        post_done(j, req, now, 0, natsStatus_GetText(s));
        return;
    }
    p->msg = msg;
    p->req = req;
    p->started_ms = now;
    snprintf(p->subject, sizeof p->subject, "%s", subject);
    pthread_mutex_lock(&j->lock); /* known before any ack can come */
    p->next = j->pending;
    j->pending = p;
    pthread_mutex_unlock(&j->lock);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = timeout_ms;
    natsMsg *m = msg;
    s = js_PublishMsgAsync(j->js, &m, &po);
    if (s != NATS_OK) { /* not taken: m is still ours */
        if (take_pending(j, msg))
            free(p);
        natsMsg_Destroy(m);
        post_done(j, req, now, 0, natsStatus_GetText(s));
    }
}

void pub_js_free(pub_js *j)
{
    if (j->efd < 0 && !j->nc)
        return;
    if (j->op.pending)
        pub_loop_cancel(j->loop, &j->op);
    jsCtx_Destroy(j->js);
    natsConnection_Destroy(j->nc); /* no ack handler runs after this */
    j->js = NULL;
    j->nc = NULL;
    pthread_mutex_lock(&j->lock);
    while (j->pending) {
        pub_js_pending *p = j->pending;
        j->pending = p->next;
        free(p);
    }
    while (j->done_head) {
        pub_js_done *d = j->done_head;
        j->done_head = d->next;
        free(d);
    }
    j->done_tail = NULL;
    pthread_mutex_unlock(&j->lock);
    if (j->efd >= 0)
        close(j->efd);
    j->efd = -1;
    nats_Close();
}
