/* split.c — see split.h. */
#include "split.h"

#include "batch.h"
#include "body.h"

#include <stdlib.h>
#include <string.h>

static void half_id(const char *parent, char half, char id[SPOOL_ID_MAX])
{
    char in[SPOOL_ID_MAX + 1];
    size_t n = strlen(parent);
    memcpy(in, parent, n);
    in[n] = half;
    pub_id_of(in, n + 1, id);
}

/* Events [from, to) of plain into b (framed); 0 or -1. */
static int frame(pub_batch *b, const pub_buf *plain, const body_span *spans, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++)
        if (pub_batch_add(b, plain->data + spans[i].off, spans[i].len) != 0)
            return -1;
    return pub_batch_finish(b);
}

int pub_split(pub_daemon *d, pub_out *o, pub_out **second)
{
    pub_buf plain;
    pub_batch a = { 0 }, b = { 0 };
    body_span *spans = NULL;
    char ida[SPOOL_ID_MAX], idb[SPOOL_ID_MAX];
    uint32_t cut = o->count / 2;
    int rc = -1;
    *second = NULL;
    if (o->count < 2)
        return -1;
    pub_buf_init(&plain, o->plain_len + 1);
    half_id(o->id, 'a', ida);
    half_id(o->id, 'b', idb);
    if (!(spans = (body_span *)calloc(o->count, sizeof *spans)) ||
        pub_decompress((pub_compression)o->codec, o->body.data, o->body.len, &plain) != 0 ||
        body_spans((const char *)plain.data, plain.len, o->lane->version, spans, o->count) != (long)o->count ||
        pub_batch_init(&a, o->lane->version, plain.len + 64) != 0 ||
        pub_batch_init(&b, o->lane->version, plain.len + 64) != 0 || frame(&a, &plain, spans, 0, cut) != 0 ||
        frame(&b, &plain, spans, cut, o->count) != 0 || !(*second = pub_out_new(o->lane, idb)))
        goto out;
    (*second)->seq = o->seq;
    pub_out_fill(d, *second, b.body, b.body_len, o->count - cut);
    memcpy(o->id, ida, sizeof ida);
    pub_out_fill(d, o, a.body, a.body_len, cut);
    rc = 0;
out:
    pub_batch_free(&a);
    pub_batch_free(&b);
    pub_buf_free(&plain);
    free(spans);
    return rc;
}
