/* buf.h — a growable byte buffer with a hard size limit. */
#ifndef RINGPUB_BUF_H
#define RINGPUB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pub_buf {
    uint8_t *data;
    size_t len, cap, limit; /* limit: the most it may ever hold */
} pub_buf;

/* pub_buf_init — an empty buffer that may grow up to limit bytes. */
void pub_buf_init(pub_buf *b, size_t limit);
/* pub_buf_free — release the memory; the buffer is empty again. */
void pub_buf_free(pub_buf *b);
/* pub_buf_reserve — make room for n more bytes. 0, or -1 (limit, ENOMEM). */
int pub_buf_reserve(pub_buf *b, size_t n);
/* pub_buf_append — append n bytes. 0, or -1 (limit, ENOMEM). */
int pub_buf_append(pub_buf *b, const void *p, size_t n);

#endif
