/* send.c — batches -> their sink (sinks/), acting on each sink's verdict. A
 * batch becomes safe when its sink delivered it, when it is fsynced in the
 * spool, or when it is in the dead-letter file; the ledger then releases its
 * ring space in order (ledger.h, pub_release_safe). */
#include "daemon.h"
#include "ringpub_json.h" /* the dead-letter record */
#include "jsonl.h"

#include "codec.h"
#include "split.h"
#include "sinks/sink.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static void dispatch(pub_daemon *d, pub_out *o);

/* o is delivered, spooled, dead-lettered or (hasty) dropped: its ring space
 * may go once the batches before it are safe too; its seal record says so,
 * so a restart that rebuilds it does not send it again (seals.h). */
static void made_safe(pub_daemon *d, pub_out *o)
{
    pub_lane *l = o->lane;
    pub_out_to(o, OUT_SAFE);
    pub_seals_safe(&d->seals, o->seal_slot);
    if (o->split_part && --l->split_left == 0) { /* every part of a split replay is safe */
        spool_remove(&l->spool, l->split_name);
        l->next_replay_ms = pub_now_ms();
    }
}

static void report_ready(pub_daemon *d)
{
    size_t n = d->nready;
    struct pub_ready *list = d->ready;
    d->ready = NULL;
    d->nready = d->capready = 0;
    for (size_t i = 0; i < n; i++) {
        void *o = pub_find_out(d, list[i].req);
        pub_http_result r = { list[i].status, CURLE_OK, list[i].err, "", 0, NULL, 0 };
        if (o)
            pub_http_finished(d, o, &r);
    }
    free(list);
}

void *pub_find_out(void *ctx, uint64_t req)
{
    pub_daemon *d = (pub_daemon *)ctx;
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].replay && d->lanes[i].replay->req == req)
            return d->lanes[i].replay;
    for (pub_out *o = d->ledger.outs; o; o = o->next)
        if (o->req == req && o->state == OUT_SENDING)
            return o;
    return NULL;
}

/* ---- the sink's health: one probe at a time while it fails ----------------
 * Attempts belong to the sink (its lane), not to a batch: a failed request
 * (no answer, 408, 429, 5xx) makes the lane "failing"; its batches go to the
 * spool; nothing is sent until probe_at, then one request (a replay, or a
 * batch that the full spool could not take) is the probe; each failed probe
 * doubles the wait (full jitter between retry.backoff_base and the doubled
 * value, capped at retry.backoff_cap), and a Retry-After (seconds or an
 * HTTP-date, at most an hour) makes it at least that long (plus up to one
 * base of jitter, so a fleet told the same time does not come back in one
 * instant). retry.jitter = none takes the top of each range. The first
 * success makes the lane healthy: full rate at once. */

/* lo plus a uniform draw in [0, span] (full jitter), or plus span with
 * retry.jitter = none. */
static uint64_t jitter(const pub_daemon *d, uint64_t lo, uint64_t span)
{
    return lo + (d->cfg.jitter_none ? span : randombytes_uniform((uint32_t)(span + 1)));
}

/* The wait after the streak-th failure (streak >= 1): uniform in
 * [base, min(cap, base * 2^streak)]: 1-2 s, 1-4 s, 1-8 s... by default. */
static uint64_t backoff_ms(const pub_daemon *d, int streak)
{
    uint64_t cap = d->cfg.backoff_cap_ms, base = d->cfg.backoff_base_ms < cap ? d->cfg.backoff_base_ms : cap;
    uint64_t hi = base << (streak < 20 ? streak : 20);
    if (hi > cap)
        hi = cap;
    return jitter(d, base, hi - base);
}

/* A request of lane l failed (no answer, or a retryable status; the sink
 * asked for ra ms, or 0). Only a probe, or the first failure, makes the
 * wait grow; a Retry-After always counts. */
static void sink_failed(pub_daemon *d, pub_lane *l, const pub_out *o, long status, uint64_t ra)
{
    uint64_t now = pub_now_ms();
    if (o->probe || l->fail_streak == 0) {
        l->fail_streak++;
        l->backoff_ms = backoff_ms(d, l->fail_streak);
        l->probe_at_ms = now + l->backoff_ms;
    }
    if (ra && now + ra > l->probe_at_ms) { /* spread a fleet told the same wait over one more base */
        l->backoff_ms = d->cfg.jitter_none ? ra : jitter(d, ra, d->cfg.backoff_base_ms);
        l->probe_at_ms = now + l->backoff_ms;
    }
    l->last_status = status;
    l->down = 1;
}

/* Lane l's sink answered (2xx, or a final 4xx): healthy again. */
static void sink_ok(pub_lane *l, long status)
{
    l->fail_streak = 0;
    l->backoff_ms = 0;
    l->probe_at_ms = 0;
    l->last_status = status;
    l->down = 0;
}

/* When lane l's next request may go: its probe time, or a base wait. */
static uint64_t next_try_ms(const pub_daemon *d, const pub_lane *l, uint64_t now)
{
    return l->probe_at_ms > now ? l->probe_at_ms : now + d->cfg.backoff_base_ms;
}

/* 1 if lane l may start a request now: always while healthy; while it
 * fails, one probe at a time, once its wait is over. */
static int sink_may_send(const pub_lane *l, uint64_t now)
{
    return l->fail_streak == 0 || (!l->probing && now >= l->probe_at_ms);
}

/* Start o's request; if the sink cannot even start it, o waits. */
static void post(pub_daemon *d, pub_out *o)
{
    pub_out_to(o, OUT_SENDING);
    o->req = ++d->next_req;
    o->probe = o->lane->fail_streak > 0;
    if (o->probe) {
        o->lane->probing = 1;
        o->lane->probes++;
    }
    if (pub_sink_ops_of(o->lane->sink)->send(d, o) != 0) {
        pub_log(d, "batch %s: cannot start a request; will retry", o->id);
        if (o->probe)
            o->lane->probing = 0;
        pub_out_to(o, OUT_WAITING);
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
    }
}

static void on_spooled(void *ctx, spool_write *w, int res)
{
    pub_daemon *d = (pub_daemon *)ctx;
    pub_out *o = (pub_out *)((char *)w - offsetof(pub_out, sw));
    pub_lane *l = o->lane;
    if (res != 0) {
        if (!l->spool_failing)
            pub_log(d, "batch %s: cannot spool it in %s: %s; keeping batches in memory and probing the sink "
                       "with them (producers will see the queue fill)", o->id, w->sp->path,
                    res == -ENOSPC ? "no space left on the device" : strerror(-res));
        l->spool_failing = 1;
        l->spool_retry_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        d->metrics.total.error_io++;
        pub_out_to(o, OUT_WAITING);
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    if (l->spool_failing)
        pub_log(d, "spool %s takes batches again", w->sp->path);
    l->spool_failing = 0;
    pub_debug(d, "batch %s spooled as %s", o->id, w->name);
    d->metrics.total.spooled++;
    made_safe(d, o);
    pub_release_safe(d);
}

/* Room in l's spool for len more bytes, and no recent write failure. */
static int spool_can_take(const pub_lane *l, uint64_t len, uint64_t now)
{
    return spool_has_room(&l->spool, len) && now >= l->spool_retry_ms;
}

/* Spool o, or keep it waiting in memory when the spool is full (which stops
 * the drain: back-pressure reaches the producers as RP_EFULL). */
static void spool_out(pub_daemon *d, pub_out *o)
{
    spool_meta m;
    memset(&m, 0, sizeof m);
    pub_spool *sp = &o->lane->spool;
    if (!spool_can_take(o->lane, o->body.len, pub_now_ms())) {
        if (o->state != OUT_WAITING && !o->lane->spool_failing)
            pub_log(d, "spool full (%llu of %llu bytes): holding batch %s, producers will see "
                       "the queue fill", (unsigned long long)sp->used,
                    (unsigned long long)sp->max_bytes, o->id);
        pub_out_to(o, OUT_WAITING);
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    snprintf(m.batch_id, sizeof m.batch_id, "%s", o->id);
    memcpy(m.mac, o->mac, sizeof m.mac);
    m.stamped = o->stamped;
    m.codec = (uint32_t)o->codec;
    m.count = o->count;
    m.plain_len = o->plain_len;
    m.body_len = o->body.len;
    o->sw.done = on_spooled;
    o->sw.ctx = d;
    if (spool_write_start(sp, &d->loop, &o->sw, &m, o->body.data) != 0) {
        pub_log(d, "batch %s: cannot create a spool file in %s: %s", o->id, sp->path, strerror(errno));
        pub_out_to(o, OUT_WAITING);
        o->next_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
        return;
    }
    pub_out_to(o, OUT_SPOOLING);
}

static int deadletter(pub_daemon *d, pub_out *o, long status, const char *reason)
{
    const char *enc = pub_codec_encoding((pub_compression)o->codec);
    char head[1600];
    rp_json w;
    rp_json_init(&w, head, sizeof head);
    rp_json_obj_begin(&w);
    rp_json_key(&w, "time"), rp_json_int(&w, (int64_t)time(NULL));
    rp_json_key(&w, "queue"), rp_json_cstr(&w, d->cfg.queue);
    rp_json_key(&w, "route"), rp_json_cstr(&w, o->lane->name);
    rp_json_key(&w, "batch_id"), rp_json_cstr(&w, o->id);
    rp_json_key(&w, "status"), rp_json_int(&w, status);
    rp_json_key(&w, "reason"), rp_json_cstr(&w, reason); /* escaped: it may quote the key's name */
    rp_json_key(&w, "events"), rp_json_int(&w, o->count);
    rp_json_key(&w, "encoding"), rp_json_cstr(&w, enc ? enc : "identity");
    rp_json_obj_end(&w);
    if (rp_json_finish(&w) < 0) { /* a reason too long, or not UTF-8: said in the log instead */
        rp_json_init(&w, head, sizeof head);
        rp_json_obj_begin(&w);
        rp_json_key(&w, "batch_id"), rp_json_cstr(&w, o->id);
        rp_json_key(&w, "status"), rp_json_int(&w, status);
        rp_json_obj_end(&w);
    }
    if (pub_jsonl_append_b64(d->cfg.deadletter_file, head, "body_base64", o->body.data, o->body.len) != 0) {
        pub_log(d, "batch %s: cannot write dead-letter file %s: %s", o->id, d->cfg.deadletter_file,
                strerror(errno));
        return -1;
    }
    pub_log(d, "batch %s (%u events) refused with %ld (%s): written to %s", o->id, o->count, status, reason,
            d->cfg.deadletter_file);
    d->metrics.total.deadlettered++;
    return 0;
}

/* Halve o after a 413 (pub_split), said once: `what` names o. 0, or -1 (it
 * cannot be split). */
static int halve(pub_daemon *d, pub_out *o, pub_out **second, const char *what)
{
    uint32_t n = o->count;
    char was[SPOOL_ID_MAX];
    memcpy(was, o->id, sizeof was);
    if (pub_split(d, o, second) != 0)
        return -1;
    d->metrics.total.batches++;
    pub_log(d, "%s %s (%u events) too large for the collector (413): sent again as %s and %s", what, was, n, o->id,
            (*second)->id);
    return 0;
}

/* A 413: o's halves go in its place in the FIFO (the second right behind
 * it, with its seq), each sent on its own. 0, or -1 (it cannot be split). */
static int split_out(pub_daemon *d, pub_out *o)
{
    pub_out *second;
    if (halve(d, o, &second, "batch") != 0)
        return -1;
    pub_ledger_insert(&d->ledger, o, second);
    second->split_part = o->split_part;
    o->lane->split_left += o->split_part;
    dispatch(d, o);
    dispatch(d, second);
    return 0;
}

/* A replayed batch the collector finds too large (413): its halves join the
 * FIFO as live batches (sent, spooled, split again like any other); its
 * spool file goes once both are safe (made_safe), and no other replay
 * starts meanwhile. A crash before that replays the file again: the same
 * halves, the same ids. 0, or -1 (it cannot be split). */
static int split_replay(pub_daemon *d, pub_out *o)
{
    pub_lane *l = o->lane;
    pub_out *second;
    if (halve(d, o, &second, "spooled batch") != 0)
        return -1;
    snprintf(l->split_name, sizeof l->split_name, "%s", o->spool_name);
    l->split_left = 2;
    o->from_spool = o->probe = 0;
    o->split_part = second->split_part = 1;
    o->seq = pub_ledger_seq(&d->ledger);
    second->seq = pub_ledger_seq(&d->ledger);
    l->replay = NULL;
    pub_ledger_append(&d->ledger, o);
    pub_ledger_append(&d->ledger, second);
    dispatch(d, o);
    dispatch(d, second);
    return 0;
}

/* Decide what a live batch that was not delivered does next. */
static void failed(pub_daemon *d, pub_out *o, const pub_verdict *v)
{
    pub_lane *l = o->lane;
    if (v->kind == PUB_RETRY) {
        if (!l->down)
            pub_log(d, "%s sink %s %s (%s): spooling, one probe at a time until it is back",
                    pub_sink_ops_of(l->sink)->name, l->where,
                    v->code ? "is failing" : "unreachable", v->code ? "a retryable status" : v->why);
        sink_failed(d, l, o, v->code, v->retry_after_ms);
    }
    if (d->cfg.delivery == PUB_HASTY) {
        d->metrics.total.dropped += o->count;
        made_safe(d, o);
        return;
    }
    if (v->kind == PUB_RETRY) {
        d->metrics.total.retries++;
        spool_out(d, o); /* a full spool keeps it in memory: it waits for a probe */
    } else if (v->kind == PUB_TOO_LARGE && split_out(d, o) == 0) {
        return;
    } else if (deadletter(d, o, v->code, v->why) == 0) {
        made_safe(d, o);
    } else {
        spool_out(d, o);
    }
}

static void replay_finished(pub_daemon *d, pub_out *o, const pub_verdict *v)
{
    pub_lane *l = o->lane;
    uint64_t now = pub_now_ms();
    int ok = v->kind == PUB_DELIVERED;
    if (v->kind == PUB_TOO_LARGE && split_replay(d, o) == 0)
        return;
    if (ok || (v->kind != PUB_RETRY && deadletter(d, o, v->code, "refused on replay") == 0)) {
        if (ok) {
            d->metrics.total.sent += o->count;
            d->metrics.total.replayed++;
            l->sent += o->count;
        }
        spool_remove(&l->spool, o->spool_name);
        sink_ok(l, v->code);
        l->next_replay_ms = now;
    } else {
        if (v->kind == PUB_RETRY)
            sink_failed(d, l, o, v->code, v->retry_after_ms);
        l->next_replay_ms = next_try_ms(d, l, now);
    }
    l->replay = NULL;
    pub_out_free(o);
}

/* o's attempt came to verdict v (after elapsed_ms). */
static void finished(pub_daemon *d, pub_out *o, const pub_verdict *v, uint64_t elapsed_ms)
{
    pub_metrics_post_ms(&d->metrics, elapsed_ms);
    if (v->kind != PUB_DELIVERED && v->code == 0)
        d->metrics.total.error_io++;
    else if (v->kind != PUB_DELIVERED)
        d->metrics.total.error_http++;
    pub_debug(d, "batch %s: %ld %s (%llu ms)", o->id, v->code, v->code ? "" : v->why, (unsigned long long)elapsed_ms);
    if (o->probe)
        o->lane->probing = 0;
    if (o->from_spool) {
        replay_finished(d, o, v);
        return;
    }
    if (v->kind == PUB_DELIVERED) {
        d->metrics.total.sent += o->count;
        o->lane->sent += o->count;
        sink_ok(o->lane, v->code);
        made_safe(d, o);
    } else {
        failed(d, o, v);
    }
    pub_release_safe(d);
}

void pub_http_finished(void *ctx, void *req_ctx, const pub_http_result *r)
{
    pub_daemon *d = (pub_daemon *)ctx;
    pub_out *o = (pub_out *)req_ctx;
    pub_verdict v;
    pub_sink_ops_of(o->lane->sink)->verdict(d, o, r, &v);
    finished(d, o, &v, r->elapsed_ms);
}

void pub_send_fresh(pub_daemon *d)
{
    pub_out *o;
    while ((o = pub_ledger_fresh(&d->ledger)) != NULL)
        dispatch(d, o);
}

/* A batch in the FIFO, its first attempt: sent, spooled or (hasty) dropped. */
static void dispatch(pub_daemon *d, pub_out *o)
{
    if (o->lane->down && d->cfg.delivery == PUB_GUARANTEED) {
        spool_out(d, o);
    } else if (!sink_may_send(o->lane, pub_now_ms())) { /* hasty, failing sink: not even a try */
        d->metrics.total.dropped += o->count;
        made_safe(d, o); /* released by the next timer turn */
    } else {
        post(d, o);
    }
}

void pub_send_sink_metrics(pub_daemon *d)
{
    uint64_t now = pub_now_ms();
    pub_metrics *m = &d->metrics;
    m->sink_failing = m->sink_backoff_ms = m->sink_next_ms = 0;
    m->sink_probes = 0;
    m->sink_last_status = (uint64_t)d->lanes[0].last_status;
    for (int i = 0; i < d->nlanes; i++) { /* the worst lane */
        const pub_lane *l = &d->lanes[i];
        m->sink_probes += l->probes;
        m->sink_failing += l->fail_streak > 0;
        if (l->fail_streak && l->backoff_ms >= m->sink_backoff_ms) {
            m->sink_backoff_ms = l->backoff_ms;
            m->sink_next_ms = l->probe_at_ms > now ? l->probe_at_ms - now : 0;
            m->sink_last_status = (uint64_t)l->last_status;
        }
    }
}

/* Start replaying lane l's oldest spooled batch. */
static void replay_next(pub_daemon *d, pub_lane *l)
{
    char name[64], why[300];
    spool_meta m;
    static const char no_id[SPOOL_ID_MAX];
    pub_out *o = pub_out_new(l, no_id);
    if (!o)
        return;
    for (;;) {
        if (spool_oldest(&l->spool, name) != 0) {
            pub_out_free(o);
            return;
        }
        int rc = spool_read(&l->spool, name, &m, &o->body, why, sizeof why);
        if (rc == 0)
            break;
        pub_log(d, "%s", why);
        if (rc == -1) {
            pub_out_free(o);
            l->next_replay_ms = pub_now_ms() + d->cfg.backoff_cap_ms;
            return;
        }
    }
    o->from_spool = 1;
    o->lane = l;
    snprintf(o->spool_name, sizeof o->spool_name, "%s", name);
    snprintf(o->id, sizeof o->id, "%s", m.batch_id);
    memcpy(o->mac, m.mac, sizeof o->mac);
    o->stamped = m.stamped != 0;
    o->codec = (int)m.codec;
    o->count = m.count;
    o->plain_len = m.plain_len;
    l->replay = o;
    post(d, o);
    if (o->state == OUT_WAITING) { /* could not even start */
        l->replay = NULL;
        pub_out_free(o);
    }
}

/* Replay lane l's spool, one batch at a time; ms until the next, or -1. */
static int64_t replay_timer(pub_daemon *d, pub_lane *l, uint64_t now)
{
    uint64_t at = l->next_replay_ms;
    if (l->replay || l->split_left || d->stopping || l->spool.files == 0)
        return -1;
    if (l->fail_streak && l->probe_at_ms > at)
        at = l->probe_at_ms;
    if (at <= now && sink_may_send(l, now)) {
        replay_next(d, l);
        return -1;
    }
    return at > now ? (int64_t)(at - now) : (l->probing ? -1 : 0);
}

int pub_send_timers(pub_daemon *d, uint64_t now)
{
    int64_t next = -1;
    if (d->nready)
        report_ready(d);
    if (d->ledger.outs && d->ledger.outs->state == OUT_SAFE)
        pub_release_safe(d);
    for (pub_out *o = d->ledger.outs; o; o = o->next) {
        if (o->state != OUT_WAITING)
            continue;
        if (o->next_ms <= now) {
            /* with the spool full (or failing: a full disk), probe the sink with it
             * instead, one at a time; a failed probe tries the spool again */
            if ((o->lane->down || d->stopping) && (!o->lane->spool_failing || d->stopping) &&
                spool_can_take(o->lane, o->body.len, now))
                spool_out(d, o);
            else if (sink_may_send(o->lane, now))
                post(d, o);
            else
                o->next_ms = next_try_ms(d, o->lane, now);
        }
        if (o->state == OUT_WAITING && (next < 0 || (int64_t)(o->next_ms - now) < next))
            next = (int64_t)(o->next_ms > now ? o->next_ms - now : 0);
    }
    for (int i = 0; i < d->nlanes; i++) {
        int64_t t = replay_timer(d, &d->lanes[i], now);
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    if (d->nready) /* finished meanwhile: report them on the next turn, at once */
        next = 0;
    return (int)next;
}

void pub_release_safe(pub_daemon *d)
{
    int rc = pub_ledger_release(&d->ledger, d->ring, &d->seals);
    if (rc < 0) {
        pub_log(d, "ring release refused (%s): a bug; stopping", rp_strerror(rc));
        pub_stop(d, 1);
    }
}

void pub_spool_all(pub_daemon *d)
{
    for (pub_out *o = d->ledger.outs; o; o = o->next)
        if (o->state == OUT_WAITING || o->state == OUT_SENDING) {
            if (d->cfg.delivery == PUB_HASTY) {
                d->metrics.total.dropped += o->count;
                made_safe(d, o);
            } else {
                spool_out(d, o);
            }
        }
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].replay) { /* its file stays in the spool */
            pub_out_free(d->lanes[i].replay);
            d->lanes[i].replay = NULL;
        }
}
