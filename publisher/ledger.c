/* ledger.c — see ledger.h: the chunks, the batches' FIFO, their states, and
 * the one place ring space is released. */
#include "ledger.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

pub_out *pub_out_new(pub_lane *l, const char id[SPOOL_ID_MAX])
{
    pub_out *o = (pub_out *)calloc(1, sizeof *o);
    if (!o)
        return NULL;
    memcpy(o->id, id, SPOOL_ID_MAX);
    o->lane = l;
    o->state = OUT_NEW;
    o->seal_slot = -1;
    pub_buf_init(&o->body, (size_t)1 << 31);
    return o;
}

void pub_out_free(pub_out *o)
{
    curl_slist_free_all(o->headers);
    pub_buf_free(&o->body);
    free(o);
}

/* The edges of ledger.h's diagram: bit `to` of allowed[from]. */
#define TO(s) (1u << (s))
static const unsigned allowed[] = {
    [OUT_NEW] = TO(OUT_SENDING) | TO(OUT_SPOOLING) | TO(OUT_WAITING) | TO(OUT_SAFE),
    [OUT_SENDING] = TO(OUT_SENDING) | TO(OUT_SPOOLING) | TO(OUT_WAITING) | TO(OUT_SAFE),
    [OUT_WAITING] = TO(OUT_SENDING) | TO(OUT_SPOOLING) | TO(OUT_WAITING) | TO(OUT_SAFE),
    [OUT_SPOOLING] = TO(OUT_WAITING) | TO(OUT_SAFE),
    [OUT_SAFE] = 0,
};

void pub_out_to(pub_out *o, out_state to)
{
    (void)allowed; /* NDEBUG builds do not check */
    assert((unsigned)o->state <= OUT_SAFE && (allowed[o->state] & TO(to)) && "a move not in ledger.h's diagram");
    o->state = to;
}

uint64_t pub_ledger_seq(pub_ledger *g)
{
    return g->next_seq++;
}

/* Room for one more chunk. 0, or -1. */
static int chunk_room(pub_ledger *g)
{
    if (g->chunk_n < g->cap)
        return 0;
    size_t cap = g->cap ? g->cap * 2 : 64;
    ring_chunk *c = (ring_chunk *)malloc(cap * sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < g->chunk_n; i++)
        c[i] = g->chunks[(g->head + i) % g->cap];
    free(g->chunks);
    g->chunks = c;
    g->cap = cap;
    g->head = 0;
    return 0;
}

static ring_chunk *chunk_at(pub_ledger *g, uint64_t abs)
{
    assert(abs >= g->base && abs < g->base + g->chunk_n);
    return &g->chunks[(g->head + (size_t)(abs - g->base)) % g->cap];
}

int pub_ledger_chunk(pub_ledger *g, const rp_batch *b, pub_lane *lanes, int nlanes)
{
    if (chunk_room(g) != 0)
        return -1;
    g->chunk_n++;
    ring_chunk *c = chunk_at(g, g->base + g->chunk_n - 1);
    c->b = *b;
    c->b.events = NULL;
    c->last_seq = 0;
    c->lanes = 0;
    c->no_batch = 1;
    for (int i = 0; i < nlanes; i++) {
        pub_lane *l = &lanes[i];
        if (!l->touched)
            continue;
        c->no_batch = 0;
        if (l->sealed_seq > c->last_seq)
            c->last_seq = l->sealed_seq;
        if (l->building.count > 0)
            c->lanes |= 1u << i;
        l->touched = 0;
    }
    return 0;
}

void pub_ledger_tie(pub_ledger *g, pub_lane *l, uint64_t seq)
{
    uint64_t end = g->base + g->chunk_n, bit = 1u << l->index;
    for (uint64_t a = l->chunk_from > g->base ? l->chunk_from : g->base; a < end; a++) {
        ring_chunk *c = chunk_at(g, a);
        if (c->lanes & bit) {
            c->lanes &= ~(uint32_t)bit;
            if (seq > c->last_seq)
                c->last_seq = seq;
        }
    }
    l->chunk_from = end;
    l->sealed_seq = seq;
}

void pub_ledger_append(pub_ledger *g, pub_out *o)
{
    assert(!g->tail || o->seq >= g->tail->seq);
    o->next = NULL;
    if (g->tail)
        g->tail->next = o;
    else
        g->outs = o;
    g->tail = o;
    g->n_outs++;
    if (!g->fresh && o->state == OUT_NEW)
        g->fresh = o;
}

void pub_ledger_insert(pub_ledger *g, pub_out *after, pub_out *o)
{
    assert(o->seq == after->seq && after->state != OUT_NEW);
    o->next = after->next;
    after->next = o;
    if (g->tail == after)
        g->tail = o;
    g->n_outs++;
}

pub_out *pub_ledger_fresh(pub_ledger *g)
{
    while (g->fresh && g->fresh->state != OUT_NEW) /* appended SAFE (rebuilt), or moved already */
        g->fresh = g->fresh->next;
    pub_out *o = g->fresh;
    if (o)
        g->fresh = o->next;
    return o;
}

int pub_ledger_release(pub_ledger *g, rp_consumer *ring, pub_seals *seals)
{
    int released = 0;
    while (g->outs && g->outs->state == OUT_SAFE) {
        pub_out *o = g->outs;
        g->outs = o->next;
        if (!g->outs)
            g->tail = NULL;
        if (g->fresh == o)
            g->fresh = o->next;
        g->n_outs--;
        pub_out_free(o);
    }
    uint64_t held = g->outs ? g->outs->seq : g->next_seq; /* the oldest batch not safe */
    while (g->chunk_n > 0) {
        ring_chunk *c = chunk_at(g, g->base);
        if (c->lanes || (!c->no_batch && c->last_seq >= held))
            break;
        assert(!c->lanes && (c->no_batch || !g->outs || g->outs->state != OUT_SAFE));
        int rc = rp_consumer_release(ring, &c->b);
        if (rc != 0)
            return rc;
        pub_seals_released(seals, c->b.end);
        g->head = (g->head + 1) % g->cap;
        g->chunk_n--;
        g->base++;
        released++;
    }
    return released;
}

int pub_ledger_count(const pub_ledger *g, int s)
{
    int n = 0;
    for (const pub_out *o = g->outs; o; o = o->next)
        n += s < 0 ? o->state != OUT_SAFE : (int)o->state == s;
    return n;
}

void pub_ledger_free(pub_ledger *g)
{
    while (g->outs) {
        pub_out *o = g->outs;
        g->outs = o->next;
        pub_out_free(o);
    }
    free(g->chunks);
    memset(g, 0, sizeof *g);
}
