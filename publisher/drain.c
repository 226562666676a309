/* drain.c — ring -> batches. Events are copied from the ring into the
 * building batch (the ring space stays reserved until the batch is safe);
 * a batch is sealed — compressed, signed, given an id — when the next
 * event would not fit, or max_age after its first event. */
#include "daemon.h"
#include "ringpub_json.h" /* the quarantine record */

#include "codec.h"
#include "errstream.h"
#include "ringpub_event.h" /* rp_now_ms */
#include "jsonl.h"
#include "sign.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pub_may_drain(const pub_daemon *d)
{
    return !d->stopping && d->ledger.n_outs < (int)d->cfg.inflight_max;
}

/* Record a polled range (ledger.h). */
static int push_chunk(pub_daemon *d, const rp_batch *b)
{
    return pub_ledger_chunk(&d->ledger, b, d->lanes, d->nlanes);
}

/* A batch's id names its ring range: hash(ring creation time, first and
 * last event positions). A daemon restarted after a crash that rebuilds the
 * same batch (same range, so the same events) sends the same id, and the
 * collector drops the copy; a different range can never share an id. */
void pub_id_of(const void *in, size_t len, char id[SPOOL_ID_MAX])
{
    uint8_t h[16];
    crypto_generichash(h, sizeof h, (const uint8_t *)in, len, NULL, 0);
    sodium_bin2hex(id, SPOOL_ID_MAX, h, sizeof h);
}

static void batch_id(const pub_daemon *d, const pub_lane *l, char id[SPOOL_ID_MAX])
{
    uint64_t in[3] = { d->ring_created_ns, l->first_pos, l->last_pos };
    pub_id_of(in, sizeof in, id);
}

void pub_out_fill(pub_daemon *d, pub_out *o, const uint8_t *body, size_t len, uint32_t count)
{
    pub_lane *l = o->lane;
    o->count = count;
    o->plain_len = len;
    o->stamped = pub_config_stamps(&d->cfg);
    pub_sign(d->cfg.key_secret, d->cfg.key_secret_len, NULL, body, len, o->mac);
    if (pub_compress(l->compression, l->level, body, len, &o->body) != 0) {
        pub_log(d, "compression failed; sending batch %s uncompressed", o->id);
        pub_buf_free(&o->body);
        pub_buf_init(&o->body, (size_t)1 << 31);
        pub_compress(PUB_NONE, 0, body, len, &o->body);
        o->codec = PUB_NONE;
    } else {
        o->codec = l->compression;
    }
}

/* Is lane l's building batch the next one to rebuild, already safe in the
 * last run (delivered, spooled or dead-lettered)? Then it is not sent again. */
static int redo_safe(const pub_lane *l)
{
    return l->nredo > 0 && (l->redo->lane & PUB_SEAL_SAFE) && l->redo->first == l->first_pos &&
           l->redo->last == l->last_pos;
}

/* Seal lane l's building batch. 0, or -1 if out of memory: the batch keeps
 * its events and is sealed on a later try. */
static int seal(pub_daemon *d, pub_lane *l)
{
    pub_batch *b = &l->building;
    pub_out *o;
    char id[SPOOL_ID_MAX];
    if (b->count == 0)
        return 0;
    batch_id(d, l, id);
    if (pub_batch_finish(b) != 0 || !(o = pub_out_new(l, id))) {
        pub_log(d, "out of memory sealing a batch; will retry");
        return -1;
    }
    o->seq = pub_ledger_seq(&d->ledger);
    pub_ledger_tie(&d->ledger, l, o->seq);
    if ((o->seal_slot = pub_seals_add(&d->seals, (uint32_t)l->index, l->first_pos, l->last_pos)) < 0 &&
        d->seals.overflow == 1)
        pub_log(d, "seal log full (%d unreleased batches): a restart may send some batches again under new ids",
                PUB_SEAL_SLOTS);
    if (redo_safe(l)) {
        o->count = (uint32_t)b->count;
        pub_out_to(o, OUT_SAFE);
        d->redo_skipped++;
    } else {
        pub_out_fill(d, o, b->body, b->body_len, (uint32_t)b->count);
        d->metrics.total.batches++;
        d->metrics.total.bytes_raw += b->body_len;
        d->metrics.total.bytes_compressed += o->body.len;
        pub_debug(d, "batch %s%s%s: %u events, %llu -> %zu bytes", o->id, l->name[0] ? " route " : "", l->name,
                  o->count, (unsigned long long)o->plain_len, o->body.len);
    }
    pub_batch_reset(b);
    l->since_ms = 0;
    pub_ledger_append(&d->ledger, o); /* sent by pub_send_fresh */
    return 0;
}

void pub_seal(pub_daemon *d, uint64_t now)
{
    (void)now;
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].nredo == 0) /* a batch being rebuilt stays in the ring for the next run */
            seal(d, &d->lanes[i]);
}

/* A batch was sealed in the middle of a poll, before the event at ring
 * position pos: the part of the poll before it becomes a chunk of its own,
 * so the ring is released up to exactly where the next batch starts. A
 * daemon restarted after a crash then rebuilds that batch from the same
 * first event — the same range, the same id — and the collector drops the
 * copy. Not cutting (the error stream cannot be written, no memory) only
 * costs that alignment. */
static size_t payload_bytes(const rp_batch *b, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t k = from; k < to; k++)
        n += b->events[k].len;
    return n;
}

static void cut(pub_daemon *d, uint64_t pos)
{
    const rp_batch *b = d->poll;
    if (!b || d->poll_i == d->poll_from)
        return;
    rp_batch part = { NULL, 0, d->poll_i - d->poll_from, payload_bytes(b, d->poll_from, d->poll_i),
                      d->poll_start, pos };
    if (d->errors_broken || pub_errors_flush(d) != 0 || push_chunk(d, &part) != 0)
        return; /* the part stays with the rest of the poll */
    d->poll_from = d->poll_i;
    d->poll_start = pos;
}

/* The last run's batches (seals.h) are rebuilt with their exact ranges:
 * before the event at pos joins lane l, seal the building batch where a
 * recorded one ended (or where one began: what came before it was another
 * batch), and forget the records it has passed. */
static void redo_before(pub_daemon *d, pub_lane *l, uint64_t pos)
{
    while (l->nredo > 0 && l->redo->last < pos) {
        if (l->building.count > 0) {
            seal(d, l);
            cut(d, pos);
        }
        l->redo++;
        l->nredo--;
    }
    if (l->nredo > 0 && l->building.count > 0 && l->first_pos < l->redo->first && pos >= l->redo->first) {
        seal(d, l);
        cut(d, pos);
    }
}

/* A rebuilt batch is named by its recorded range even when its first events
 * were released already (possible only if it was safe: then it is not sent
 * again, seal()). */
static uint64_t first_of(const pub_lane *l, uint64_t pos)
{
    if (l->nredo > 0 && (l->redo->lane & PUB_SEAL_SAFE) && l->redo->first < pos)
        return l->redo->first;
    return pos;
}

/* After the polls: recorded batches whose last event has been read are
 * complete (that event may have gone elsewhere: filtered, or another route). */
static void redo_polled(pub_daemon *d)
{
    int left = 0;
    for (int i = 0; i < d->nlanes; i++) {
        pub_lane *l = &d->lanes[i];
        while (l->nredo > 0 && l->redo->last < d->polled_to) {
            seal(d, l);
            l->redo++;
            l->nredo--;
        }
        left += l->nredo > 0;
    }
    if (left == 0) {
        d->redo_active = 0;
        pub_log(d, "rebuilt the batches the last run sealed, with their ranges and ids (%llu of them safe already, "
                   "not sent again)", (unsigned long long)d->redo_skipped);
    }
}

/* One event into lane l's building batch; a full batch is sealed on the way. */
static void add_one(pub_daemon *d, pub_lane *l, const void *data, uint32_t len, uint64_t pos, uint64_t now)
{
    if (l->nredo > 0)
        redo_before(d, l, pos);
    int rc = pub_batch_add(&l->building, data, len);
    if (rc == 1) {
        if (seal(d, l) != 0) { /* the event stays in the ring: add_events stops */
            d->seal_failed = 1;
            return;
        }
        cut(d, pos);
        rc = pub_batch_add(&l->building, data, len);
    }
    if (rc != 0) { /* larger than a whole batch can be: config check prevents it */
        pub_log(d, "event of %u bytes cannot fit in a batch; dropped", len);
        d->metrics.total.dropped++;
        return;
    }
    l->touched = 1;
    if (l->building.count == 1)
        l->first_pos = first_of(l, pos);
    l->last_pos = pos;
    if (!l->since_ms)
        l->since_ms = now;
}

int pub_errors_flush(pub_daemon *d)
{
    char fallback[PUB_PATH];
    snprintf(fallback, sizeof fallback, "%.3000s/%s.errors.jsonl", d->cfg.spool_dir, d->cfg.queue);
    if (pub_err_flush(&d->errors, d->cfg.errors_file) == 0) {
        if (d->errors_fallback)
            pub_log(d, "error stream %s can be written again (what came meanwhile is in %s)",
                    d->cfg.errors_file, fallback);
        d->errors_fallback = 0;
        return 0;
    }
    int err = errno;
    if (strcmp(fallback, d->cfg.errors_file) == 0)
        return -1;
    if (!d->errors_fallback)
        pub_log(d, "cannot write the error stream %s: %s; refused events go to %s until it can", d->cfg.errors_file,
                strerror(err), fallback);
    d->errors_fallback = 1;
    if (pub_err_flush(&d->errors, fallback) != 0)
        return -1;
    d->metrics.total.errors_fallback++;
    return 0;
}

/* An event that crashed a processor in an earlier run: into the error
 * stream, without running the chain on it again. */
static void crashed_event(pub_daemon *d, const rp_event *e, const pub_crash *k, int64_t wall)
{
    const char *which = k->stage >= 0 && k->stage < d->procs.n ? pub_proc_name(d->procs.chain[k->stage])
                                                                : "processors";
    char why[200];
    snprintf(why, sizeof why, "processor %s crashed on this event (%s) in an earlier run; not run on it again",
             which, strsignal(k->sig));
    pub_log(d, "event at ring position %llu: %s; it goes to the error stream", (unsigned long long)e->pos, why);
    /* written at once: the next event may crash this run too */
    if (pub_err_add(&d->errors, d->cfg.queue, which, why, e->data, e->len, wall) != 0 ||
        pub_errors_flush(d) != 0) {
        d->errors_broken = 1;
        return;
    }
    pub_contain_reported(&d->contain);
    d->metrics.total.crashed++;
}

/* Run the processors on one event: into a lane's batch, filtered, or into
 * the error stream. */
static void process_one(pub_daemon *d, const rp_event *e, uint64_t now)
{
    const char *out, *which;
    size_t outlen;
    int owned, route;
    char why[300];
    int64_t wall = rp_now_ms();
    const pub_crash *k;
    int crashed = pub_contain_check(&d->contain, e->pos, &k);
    if (crashed == 1)
        crashed_event(d, e, k, wall);
    if (crashed) /* 2: in the error stream already (a run before the last) */
        return;
    pub_contain_enter(&d->contain, e->pos);
    pub_proc_result r = pub_process(&d->procs, (const char *)e->data, e->len, wall, &out,
                                    &outlen, &owned, &route, &which, why, sizeof why);
    pub_contain_leave(&d->contain);
    if (r == PROC_PASS)
        add_one(d, &d->lanes[1 + route], out, (uint32_t)outlen, e->pos, now);
    else if (r == PROC_FILTERED)
        d->metrics.total.filtered++;
    else if (pub_err_add(&d->errors, d->cfg.queue, which, why, e->data, e->len, wall) == 0)
        d->metrics.total.invalid++;
    else /* cannot even record it: keep it in the ring, stop */
        d->errors_broken = 1;
    if (owned)
        free((void *)out);
}

/* Add the events of one poll. Returns 0, or -1 if the error stream could
 * not be written (the poll is not released). */
static int add_events(pub_daemon *d, const rp_batch *b, uint64_t now)
{
    for (size_t i = 0; i < b->n && !d->seal_failed; i++) {
        d->poll_i = i;
        if (d->procs.n == 0)
            add_one(d, &d->lanes[0], b->events[i].data, b->events[i].len, b->events[i].pos, now);
        else
            process_one(d, &b->events[i], now);
    }
    if (d->seal_failed) {
        pub_log(d, "out of memory: a full batch cannot be sealed; stopping (the events not yet in a batch stay in "
                   "the ring)");
        return -1;
    }
    if (d->errors_broken || pub_errors_flush(d) != 0) {
        pub_log(d, "cannot write the error stream %s nor its fallback in %s: %s; stopping (the events stay in "
                "the ring)", d->cfg.errors_file, d->cfg.spool_dir, d->errors_broken ? "out of memory" : strerror(errno));
        return -1;
    }
    pub_contain_reported(&d->contain);
    return 0;
}

/* The ring holds bytes that do not parse: keep them in the quarantine file
 * (durably), then step over them; the ring space is released in order like
 * a batch. Returns 0, or -1 if the ring cannot be stepped over or the bytes
 * cannot be kept (then they stay in the ring and the daemon stops). */
static int quarantine(pub_daemon *d)
{
    rp_batch b = { NULL, 0, 0, 0, 0, 0 };
    rp_event bad;
    char head[1200];
    rp_json w;
    if (rp_consumer_skip_corrupt(d->ring, &b, &bad) != 0)
        return -1;
    d->polled_to = d->walked_to = b.end;
    rp_json_init(&w, head, sizeof head);
    rp_json_obj_begin(&w);
    rp_json_key(&w, "time"), rp_json_int(&w, (int64_t)time(NULL));
    rp_json_key(&w, "queue"), rp_json_cstr(&w, d->cfg.queue);
    rp_json_key(&w, "pos"), rp_json_int(&w, (int64_t)bad.pos);
    rp_json_key(&w, "len"), rp_json_int(&w, bad.len);
    rp_json_key(&w, "reason"), rp_json_cstr(&w, rp_consumer_why(d->ring));
    rp_json_obj_end(&w);
    if (rp_json_finish(&w) < 0) { /* the reason does not fit, or is not UTF-8: it is in the log */
        rp_json_init(&w, head, sizeof head);
        rp_json_obj_begin(&w);
        rp_json_key(&w, "pos"), rp_json_int(&w, (int64_t)bad.pos);
        rp_json_key(&w, "len"), rp_json_int(&w, bad.len);
        rp_json_obj_end(&w);
    }
    if (pub_jsonl_append_b64(d->cfg.quarantine_file, head, "bytes_base64", bad.data, bad.len) != 0) {
        pub_log(d, "cannot write quarantine file %s: %s", d->cfg.quarantine_file, strerror(errno));
        return -1;
    }
    if (push_chunk(d, &b) != 0) {
        pub_log(d, "out of memory tracking ring ranges");
        return -1;
    }
    d->metrics.total.quarantined_bytes += bad.len;
    pub_log(d, "ring: %u unparsable bytes at position %llu quarantined in %s", bad.len,
            (unsigned long long)bad.pos, d->cfg.quarantine_file);
    return 0;
}

/* The ring hands out events in position order, except around a stalled
 * producer's record (a hole: ring/layout.h, THE CONSUMER'S WALK): it steps
 * over the hole, hands out what follows, and hands the hole's event out
 * alone, late, when it commits. A batch whose range spanned a hole, or that
 * took the late event, would record a range (seals.h) that is not its
 * events: a daemon restarted after kill -9 reads that range again in
 * position order, hole included, so it would rebuild other batches under
 * the recorded ids (duplicates), or skip as delivered a batch that now holds
 * the hole's undelivered event (a loss). So at every break in the order the
 * building batches are sealed first, and a hole's late event travels alone.
 * A break: a poll behind the furthest one (the late event), the poll after
 * it, a poll that does not start where the last ended, or whose first event
 * is not at its start (the walk stepped over a hole, or over padding: then
 * one extra seal, nothing worse). A lane rebuilding the last run's batches
 * keeps their recorded boundaries, which already break at every hole, and
 * is sealed only around a late event. */
static int behind(uint64_t pos, uint64_t than)
{
    return (int64_t)(pos - than) < 0;
}

static void seal_at_breaks(pub_daemon *d, const rp_batch *b)
{
    int late = behind(b->start, d->walked_to);
    int force = late || behind(d->polled_to, d->walked_to); /* this poll, or the last, a late event */
    int gap = b->start != d->polled_to || (b->n > 0 && b->events[0].pos != b->start);
    for (int i = 0; i < d->nlanes && (force || gap); i++)
        if (force || d->lanes[i].nredo == 0)
            seal(d, &d->lanes[i]);
    if (!late)
        d->walked_to = b->end;
}

/* Seal the batches that are old enough; ms until the next is due, or -1. */
static int seal_old(pub_daemon *d, uint64_t now)
{
    int next = -1;
    for (int i = 0; i < d->nlanes; i++) {
        pub_lane *l = &d->lanes[i];
        if (l->nredo > 0) /* sealed where the last run sealed it, not by age */
            continue;
        if (l->since_ms && now - l->since_ms >= d->cfg.batch_max_age_ms)
            seal(d, l);
        if (l->since_ms) {
            int due = (int)(l->since_ms + d->cfg.batch_max_age_ms - now);
            next = next < 0 || due < next ? due : next;
        }
    }
    return next;
}

/* The fullest building batch's bytes: a poll takes at most what fits there. */
static size_t most_used(const pub_daemon *d)
{
    size_t used = 0;
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].building.buf.len > used)
            used = d->lanes[i].building.buf.len;
    return used;
}

int pub_drain(pub_daemon *d, uint64_t now)
{
    for (int rounds = 0; rounds < 64 && pub_may_drain(d); rounds++) {
        rp_batch b = { d->events, d->max_events, 0, 0, 0, 0 };
        size_t used = most_used(d), room = d->cfg.batch_max_bytes;
        room = room > used + b.max_events + 64 ? room - used - b.max_events - 64 : 1;
        int n = rp_consumer_poll(d->ring, &b, room);
        if (n < 0) {
            pub_log(d, "ring: %s", rp_consumer_why(d->ring));
            if (n == RP_ECORRUPT && quarantine(d) == 0)
                continue;
            pub_log(d, "ring %s cannot be read past this point; stopping", d->cfg.queue);
            pub_stop(d, 1);
            break;
        }
        if (n == 0)
            break;
        seal_at_breaks(d, &b);
        d->polled_to = b.end;
        d->poll = &b;
        d->poll_from = 0;
        d->poll_start = b.start;
        int rc = add_events(d, &b, now);
        d->poll = NULL;
        if (rc != 0) {
            pub_stop(d, 1);
            break;
        }
        /* what was not cut off: its last events are in the building batches */
        b.bytes = payload_bytes(&b, d->poll_from, b.n);
        b.n -= d->poll_from;
        b.start = d->poll_start;
        if (push_chunk(d, &b) != 0) { /* it stays in the ring: redelivered later */
            pub_log(d, "out of memory tracking ring ranges; stopping");
            pub_stop(d, 1);
            break;
        }
    }
    if (d->redo_active)
        redo_polled(d);
    return seal_old(d, now);
}
