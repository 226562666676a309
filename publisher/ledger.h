/*
 * ledger.h — the release rule's one owner. "Ring space is released only in
 * ring order, and only once every batch holding its events is safe" lives
 * here and nowhere else: the ledger keeps the polled ring ranges (chunks,
 * oldest first) and the sealed batches (outs, in seal order), moves batches
 * between their states, and releases ring space when the rule allows it.
 * drain.c records chunks and seals; send.c moves batches; neither releases.
 *
 * A batch (pub_out) moves only through pub_out_to(), which asserts (debug
 * builds) that the move is an edge of this diagram:
 *
 *   NEW ---+---> SENDING ---+---> SAFE ---> freed at the FIFO's front
 *      |   |      ^  |   |   |      ^
 *      |   |      |  v   |   |      |
 *      |   +---> WAITING <---+------+
 *      |   |      ^  |   |          |
 *      |   |      |  v   v          |
 *      |   +---> SPOOLING ----------+
 *      +--------------------------- + (rebuilt, or dropped: see below)
 *
 * Each edge, and why (the asserts check exactly this list):
 *
 *   NEW      -> SENDING   dispatched: the sink may take it
 *   NEW      -> SPOOLING  its sink is down (guaranteed delivery)
 *   NEW      -> WAITING   the spool is full: held in memory (back-pressure)
 *   NEW      -> SAFE      hasty delivery, sink failing: dropped; or rebuilt
 *                         after a restart and safe in the last run
 *   SENDING  -> SENDING   a 413: each half is sent on its own
 *   SENDING  -> SPOOLING  no answer or a retryable one: spooled
 *   SENDING  -> WAITING   the sink could not start; or retryable, spool full
 *   SENDING  -> SAFE      delivered, dead-lettered, or (hasty) dropped
 *   WAITING  -> SENDING   its wait is over: sent (or a probe of the sink)
 *   WAITING  -> SPOOLING  the spool has room again
 *   WAITING  -> WAITING   the spool is still full
 *   WAITING  -> SAFE      (hasty) dropped at shutdown
 *   SPOOLING -> WAITING   the spool write failed (a full disk)
 *   SPOOLING -> SAFE      fsynced in the spool
 *   SAFE     -> (none)    freed once every batch before it is safe
 *
 * A replayed spool file (lane->replay) is not in the ledger: its events were
 * released when it was spooled.
 *
 * Release (pub_ledger_release): free the SAFE batches at the front of the
 * FIFO; then release each chunk at the front whose events' lanes have all
 * sealed (lanes == 0) and whose newest batch (last_seq) is older than the
 * oldest batch still held — or, with no event in any batch (quarantined,
 * filtered, in the error stream), at once when its turn comes.
 */
#ifndef RINGPUB_LEDGER_H
#define RINGPUB_LEDGER_H

#include "buf.h"
#include "lane.h"
#include "ringpub_consumer.h"
#include "seals.h"
#include "spool.h"

#include <stdint.h>

typedef enum { OUT_NEW, OUT_SENDING, OUT_WAITING, OUT_SPOOLING, OUT_SAFE } out_state;

struct curl_slist;

/* A sealed batch on its way out. */
typedef struct pub_out {
    struct pub_out *next;
    uint64_t seq;            /* seal order; ring chunks refer to it */
    char id[SPOOL_ID_MAX];   /* X-Batch-Id: stable across retries and spooling */
    pub_buf body;            /* compressed */
    int codec;               /* pub_compression of body */
    uint64_t plain_len;
    uint32_t count;
    pub_lane *lane;          /* where it goes */
    char mac[65];            /* baseplate's mac of the uncompressed body */
    int stamped;             /* signed in ringpub's form, afresh at each send (sign.h) */
    struct curl_slist *headers;
    out_state state;         /* moved by pub_out_to() only */
    uint64_t next_ms;
    int from_spool;          /* replayed from the spool: remove the file when sent */
    int split_part;          /* a part of lane->split_name (a replayed batch split after a 413) */
    int probe;               /* sent while its sink was failing (send.c) */
    uint64_t req;            /* names the current attempt (JetStream acks find it) */
    char spool_name[64];
    spool_write sw;
    int seal_slot;           /* its record in the seal log (seals.h); -1: none */
} pub_out;

/* A polled range of the ring (see the release rule above). */
typedef struct ring_chunk {
    rp_batch b;
    uint64_t last_seq;  /* the newest sealed batch holding its events */
    uint32_t lanes;     /* bit i: lane i's building batch holds some of them */
    int no_batch;       /* none of its events went into a batch */
} ring_chunk;

typedef struct pub_ledger {
    pub_out *outs, *tail;    /* every lane's batches, oldest first */
    pub_out *fresh;          /* the first appended batch not yet taken (pub_ledger_fresh) */
    int n_outs;
    ring_chunk *chunks;      /* a circular FIFO of chunk_n chunks from chunks[head] */
    size_t head, chunk_n, cap;
    uint64_t base;           /* absolute number of chunks[head] */
    uint64_t next_seq;
} pub_ledger;

/* pub_out_new — a NEW batch for lane l named id (its body empty), or NULL. */
pub_out *pub_out_new(pub_lane *l, const char id[SPOOL_ID_MAX]);
/* pub_out_free — o's headers, body and o itself. */
void pub_out_free(pub_out *o);
/* pub_out_to — move o to state `to`; asserts the move is in the diagram. */
void pub_out_to(pub_out *o, out_state to);

/* pub_ledger_seq — the seal order number of the next batch. */
uint64_t pub_ledger_seq(pub_ledger *g);

/* pub_ledger_chunk — record polled range b. Its events sit in sealed
 * batches (up to each touched lane's sealed_seq) or in the building batches
 * of the lanes still marked, which pub_ledger_tie clears. Consumes the
 * lanes' touched flags. 0, or -1 (no memory: the range stays in the ring). */
int pub_ledger_chunk(pub_ledger *g, const rp_batch *b, pub_lane *lanes, int nlanes);

/* pub_ledger_tie — lane l sealed batch seq: the chunks waiting for l now
 * know their newest batch. */
void pub_ledger_tie(pub_ledger *g, pub_lane *l, uint64_t seq);

/* pub_ledger_append — o joins the FIFO's end (o->seq not older than the
 * tail's); a NEW o is handed out by pub_ledger_fresh. */
void pub_ledger_append(pub_ledger *g, pub_out *o);

/* pub_ledger_insert — o (the second half of a split `after`, same seq)
 * joins the FIFO right behind `after`. */
void pub_ledger_insert(pub_ledger *g, pub_out *after, pub_out *o);

/* pub_ledger_fresh — the oldest appended batch still NEW, taken (each is
 * returned once), or NULL. */
pub_out *pub_ledger_fresh(pub_ledger *g);

/* pub_ledger_release — free the safe batches at the front, release the
 * ring space the rule allows (ring), and tell the seal log (seals). Returns
 * the chunks released, or a negative RP_E* code from the ring (a bug: the
 * ring refused an out-of-order release). */
int pub_ledger_release(pub_ledger *g, rp_consumer *ring, pub_seals *seals);

/* pub_ledger_count — batches not yet SAFE (s < 0), or those in state s. */
int pub_ledger_count(const pub_ledger *g, int s);

/* pub_ledger_free — free every batch (what they held is still in the ring)
 * and the chunks. */
void pub_ledger_free(pub_ledger *g);

#endif
