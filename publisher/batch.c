/* batch.c — see batch.h. Events are written after PREFIX_ROOM bytes, so the
 * header, whose count is known only at the end, is put in front without
 * moving them. */
#include "batch.h"

#include <stdio.h>
#include <string.h>

#define PREFIX_ROOM 40 /* strlen("{\"1\":{\"lst\":[\"rec\",") + 20 digits + ',' */

static size_t digits(size_t n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* strlen of the v2 header for `count` events (no snprintf on the hot path) */
static size_t prefix_len(const pub_batch *b)
{
    return b->json ? 1 : strlen("{\"1\":{\"lst\":[\"rec\",") + digits(b->count) + (b->count ? 1 : 0);
}

static size_t suffix_len(const pub_batch *b) { return b->json ? 1 : 3; }

int pub_batch_init(pub_batch *b, const char *version, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    if (strcmp(version, "2") != 0 && strcmp(version, "2j") != 0)
        return -1;
    b->json = version[1] == 'j';
    b->max_bytes = max_bytes;
    pub_buf_init(&b->buf, PREFIX_ROOM + max_bytes);
    pub_batch_reset(b);
    return 0;
}

void pub_batch_reset(pub_batch *b)
{
    b->buf.len = PREFIX_ROOM;
    b->count = 0;
    b->body = NULL;
    b->body_len = 0;
}

void pub_batch_free(pub_batch *b)
{
    pub_buf_free(&b->buf);
}

int pub_batch_add(pub_batch *b, const void *event, size_t len)
{
    size_t sep = b->count ? 1 : 0, events = b->buf.len - PREFIX_ROOM;
    size_t worst_prefix = PREFIX_ROOM, one = worst_prefix + len + suffix_len(b);
    if (one > b->max_bytes)
        return -1; /* even alone it would not fit */
    b->count++;
    size_t total = prefix_len(b) + events + sep + len + suffix_len(b);
    b->count--;
    if (total > b->max_bytes)
        return 1;
    if (pub_buf_reserve(&b->buf, sep + len) != 0)
        return -1;
    if (sep)
        b->buf.data[b->buf.len++] = ',';
    memcpy(b->buf.data + b->buf.len, event, len);
    b->buf.len += len;
    b->count++;
    return 0;
}

int pub_batch_finish(pub_batch *b)
{
    char prefix[PREFIX_ROOM + 1];
    size_t n;
    /* the suffix's own length: pub_batch_add kept exactly that much room
     * (3 bytes here made a "2j" batch filled to the byte come out empty) */
    if (pub_buf_reserve(&b->buf, suffix_len(b)) != 0) { /* only if out of memory */
        b->body = NULL;
        b->body_len = 0;
        return -1;
    }
    if (b->json)
        n = (size_t)snprintf(prefix, sizeof prefix, "[");
    else
        n = (size_t)snprintf(prefix, sizeof prefix, "{\"1\":{\"lst\":[\"rec\",%zu%s", b->count, b->count ? "," : "");
    memcpy(b->buf.data + PREFIX_ROOM - n, prefix, n);
    memcpy(b->buf.data + b->buf.len, b->json ? "]" : "]}}", suffix_len(b));
    b->body = b->buf.data + PREFIX_ROOM - n;
    b->body_len = n + (b->buf.len - PREFIX_ROOM) + suffix_len(b);
    return 0;
}
