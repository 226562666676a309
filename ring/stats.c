/*
 * stats.c — snapshots of a ring's geometry, positions and counters, for the
 * consumer and for tools that hold no role (ringctl).
 */
#include "consumer_internal.h"

static uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void fill(const rp__map *m, rp_stats *s)
{
    const rp_ring_hdr *h = m->hdr;
    memset(s, 0, sizeof *s);
    s->capacity = m->capacity;
    s->max_event = m->max_event;
    s->flags = m->flags;
    s->head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
    s->tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
    s->used_bytes = rp__positions_ok(s->head, s->tail, m->capacity) ? s->tail - s->head : 0;
    s->events_out = ld(&h->events_out);
    s->bytes_out = ld(&h->bytes_out);
    s->full = ld(&h->full);
    for (uint32_t i = 0; i < RP_SLOTS; i++)
        s->full += ld(&rp__slot(m, i)->full);
    s->toobig = ld(&h->toobig);
    s->recovered = ld(&h->recovered);
    s->recovered_bytes = ld(&h->recovered_bytes);
    s->wakeups = ld(&h->wakeups);
    s->noslot = ld(&h->noslot);
    s->stalled = ld(&h->stalled);
    s->stalled_since_unix_ns = ld(&h->stalled_since_ns);
    s->stalled_pos = ld(&h->stalled_pos);
    for (unsigned i = 0; i < RP_PINS; i++) {
        const rp_pin *e = &h->pins[i];
        if ((ld(&e->state) & 1u) && ld(&e->until) == RP_PIN_LIVE) {
            s->pinned++;
            s->pinned_bytes += ld(&e->size);
        }
    }
    s->sink.state = ld(&h->sink_state);
    s->sink.last_status = ld(&h->sink_status);
    s->sink.backoff_ms = ld(&h->sink_backoff_ms);
    s->sink.next_unix_ms = ld(&h->sink_next_unix_ms);
    s->sink.probes = ld(&h->sink_probes);
    s->created_unix_ns = h->created_unix_ns;
    s->creator_pid = h->creator_pid;
    s->consumer_pid = (uint32_t)ld(&h->consumer_pid);
}

static void st(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

void rp_consumer_report_sink(rp_consumer *c, const rp_sink_report *r)
{
    rp_ring_hdr *h = c->m.hdr;
    st(&h->sink_state, r->state);
    st(&h->sink_status, r->last_status);
    st(&h->sink_backoff_ms, r->backoff_ms);
    st(&h->sink_next_unix_ms, r->next_unix_ms);
    st(&h->sink_probes, r->probes);
}

void rp_consumer_stats(const rp_consumer *c, rp_stats *s)
{
    fill(&c->m, s);
    s->consumer_attached = 1;
}

int rp_ring_stat(const char *name, const rp_queue_opts *opts, rp_stats *s, char *why, size_t whylen)
{
    rp_queue_opts o;
    rp__map m;
    int rc;

    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    o.flags |= RP_OPT_NO_CREATE | RP_OPT_NO_POPULATE;
    rc = rp__attach(&m, name, &o, why, whylen);
    if (rc)
        return rc;
    fill(&m, s);
    s->consumer_attached = rp__lock_held(m.fd, RP_LOCK_CONSUMER) == 1; /* some process holds the role */
    rp__unmap(&m);
    return 0;
}
