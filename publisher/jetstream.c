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

/* One request: n messages, done when each has an answer. Acks find it by
 * their Nats-Msg-Id ("ID" or "ID.N"): two requests in flight with the same
 * id publish the same messages, so which of them an ack is counted for
 * does not matter. */
struct pub_js_group {
    pub_js_group *next;
    uint64_t req, started_ms;
    size_t remaining;
    int failed;
    char id[80];
    char err[300];
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

/* The group an acked message belongs to (NULL if unknown), by its id. */
static pub_js_group *find_group(pub_js *j, natsMsg *msg)
{
    const char *id = NULL;
    pub_js_group *g;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK || !id)
        return NULL;
    pthread_mutex_lock(&j->lock);
    for (g = j->groups; g; g = g->next) {
        size_t n = strlen(g->id);
        if (strncmp(id, g->id, n) == 0 && (id[n] == '\0' || id[n] == '.'))
            break;
    }
    pthread_mutex_unlock(&j->lock);
    return g;
}

static void describe(char *out, size_t n, const pub_js_group *g, const jsPubAckErr *pae)
{
    if (pae->Err == NATS_NO_RESPONDERS)
        snprintf(out, n, "no JetStream stream takes subject %s (no responders): create the stream", g->subject);
    else if (pae->Err == NATS_TIMEOUT)
        snprintf(out, n, "no publish ack from JetStream in time");
    else if (pae->ErrCode)
        snprintf(out, n, "JetStream error %d: %s", (int)pae->ErrCode, pae->ErrText ? pae->ErrText : "");
    else
        snprintf(out, n, "%s", natsStatus_GetText(pae->Err));
}

/* One message of g has its answer (err NULL: acked); the last one reports
 * the request and retires the group. */
static void answer(pub_js *j, pub_js_group *g, const char *err)
{
    int last;
    pthread_mutex_lock(&j->lock);
    if (err && !g->failed) {
        g->failed = 1;
        snprintf(g->err, sizeof g->err, "%s", err);
    }
    last = --g->remaining == 0;
    if (last)
        for (pub_js_group **pp = &j->groups; *pp; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
    pthread_mutex_unlock(&j->lock);
    if (last) {
        post_done(j, g->req, g->started_ms, g->failed ? 0 : 200, g->failed ? g->err : NULL);
        free(g);
    }
}

/* libnats thread: one ack (or failure) per published message. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    pub_js *j = (pub_js *)closure;
    pub_js_group *g = find_group(j, msg);
    char err[300] = "no ack";
    (void)js;
    if (g) {
        if (!pa && pae)
            describe(err, sizeof err, g, pae);
        answer(j, g, pa ? NULL : err);
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
            pub_http_result r = { d->status, CURLE_OK, d->err, "", d->elapsed_ms, NULL, 0 };
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
        jo.PublishAsync.MaxPending = 1 << 20; /* per-event mode: a batch is thousands of messages */
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

/* Publish one message of g; a failure to hand it over is its answer. */
static void publish_one(pub_js *j, pub_js_group *g, const pub_js_msg *m, long timeout_ms)
{
    natsMsg *msg = NULL;
    jsPubOptions po;
    natsStatus s = natsMsg_Create(&msg, m->subject ? m->subject : g->subject, NULL, (const char *)m->data,
                                  (int)m->len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Nats-Msg-Id", m->id); /* how the ack finds g */
    for (int i = 0; s == NATS_OK && m->hdrs && m->hdrs[i]; i += 2)
        s = natsMsgHeader_Set(msg, m->hdrs[i], m->hdrs[i + 1]);
    if (s == NATS_OK) {
        jsPubOptions_Init(&po);
        po.MsgId = m->id;
        po.MaxWait = timeout_ms;
        s = js_PublishMsgAsync(j->js, &msg, &po); /* on success libnats owns msg (and sets it NULL) */
    }
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        answer(j, g, natsStatus_GetText(s));
    }
}

void pub_js_publish(pub_js *j, uint64_t req, const char *subject, const pub_js_msg *msgs, size_t n,
                    long timeout_ms)
{
    pub_js_group *g = (pub_js_group *)calloc(1, sizeof *g);
    j->active++;
    if (!g || n == 0) { /* never "delivered" without a message */
        free(g);
        post_done(j, req, pub_now_ms(), 0, n ? "out of memory" : "nothing to publish (out of memory?)");
        return;
    }
    g->req = req;
    g->started_ms = pub_now_ms();
    g->remaining = n + 1; /* one more, answered below: no early finish */
    snprintf(g->subject, sizeof g->subject, "%s", subject);
    snprintf(g->id, sizeof g->id, "%s", msgs[0].id);
    char *dot = n > 1 ? strrchr(g->id, '.') : NULL; /* per-event ids are ID.N */
    if (dot)
        *dot = '\0';
    pthread_mutex_lock(&j->lock);
    g->next = j->groups;
    j->groups = g;
    pthread_mutex_unlock(&j->lock);
    for (size_t i = 0; i < n; i++)
        publish_one(j, g, &msgs[i], timeout_ms);
    answer(j, g, NULL);
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
    while (j->groups) {
        pub_js_group *g = j->groups;
        j->groups = g->next;
        free(g);
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
