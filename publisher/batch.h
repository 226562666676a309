/*
 * batch.h — batch bodies exactly as baseplate's event publisher builds them.
 *   version "2":  {"1":{"lst":["rec",N,E1,E2,...]}}   (Thrift TJSON list)
 *   version "2j": [E1,E2,...]
 * Events are copied in as they are (they are already serialized JSON).
 */
#ifndef RINGPUB_BATCH_H
#define RINGPUB_BATCH_H

#include "buf.h"

typedef struct pub_batch {
    pub_buf buf;       /* [prefix room][E1,E2,...] */
    size_t max_bytes;  /* the whole body, framing included */
    size_t count;
    int json;          /* 1 for "2j" */
    const uint8_t *body; /* after pub_batch_finish */
    size_t body_len;
} pub_batch;

/* pub_batch_init — an empty batch for version "2" or "2j" whose finished
 * body will not exceed max_bytes. Returns 0 or -1 (unknown version). */
int pub_batch_init(pub_batch *b, const char *version, size_t max_bytes);

/* pub_batch_add — append one event. Returns 0, 1 (it does not fit: finish
 * this batch and start another), or -1 (it can never fit, or out of memory). */
int pub_batch_add(pub_batch *b, const void *event, size_t len);

/* pub_batch_finish — frame the body; b->body/b->body_len point into the
 * batch (valid until the next reset). Returns 0, or -1 if out of memory
 * (b->body is NULL; the batch keeps its events: finish it again later). */
int pub_batch_finish(pub_batch *b);

/* pub_batch_reset — empty the batch, keeping its memory. */
void pub_batch_reset(pub_batch *b);

/* pub_batch_free — release the batch's memory. */
void pub_batch_free(pub_batch *b);

#endif
