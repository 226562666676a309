/* buf.c — see buf.h. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void pub_buf_init(pub_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void pub_buf_free(pub_buf *b)
{
    free(b->data);
    pub_buf_init(b, b->limit);
}

int pub_buf_reserve(pub_buf *b, size_t n)
{
    size_t want, cap;
    uint8_t *p;
    if (n > b->limit - b->len)
        return -1;
    want = b->len + n;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < want)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    if (!(p = (uint8_t *)realloc(b->data, cap)))
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int pub_buf_append(pub_buf *b, const void *p, size_t n)
{
    if (pub_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
