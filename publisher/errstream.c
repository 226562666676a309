/* errstream.c — see errstream.h. */
#include "errstream.h"
#include "jsonl.h"
#include "ringpub_event.h" /* rp_iso8601 */

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The original event: as a string when it is UTF-8, else base64. */
static int set_raw(json_t *o, const void *ev, size_t len)
{
    json_t *s = json_stringn((const char *)ev, len);
    if (s)
        return json_object_set_new(o, "raw_event", s);
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = (char *)malloc(b64len);
    if (!b64)
        return -1;
    sodium_bin2base64(b64, b64len, (const unsigned char *)ev, len, sodium_base64_VARIANT_ORIGINAL);
    int rc = json_object_set_new(o, "raw_event_base64", json_string(b64));
    free(b64);
    return rc;
}

int pub_err_add(pub_buf *pending, const char *queue, const char *processor, const char *why, const void *ev,
                size_t len, int64_t now_ms)
{
    char dt[RP_ISO8601_SIZE];
    rp_iso8601(now_ms, dt);
    json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s}", "$schema", "/error/1.0.0", "meta", "stream",
                          "ringpub.error", "dt", dt, "emitter_id", "ringpub", "queue", queue, "processor", processor,
                          "message", why);
    char *line = NULL;
    int rc = -1;
    if (o && set_raw(o, ev, len) == 0 && (line = json_dumps(o, JSON_COMPACT)))
        rc = pub_buf_append(pending, line, strlen(line)) == 0 && pub_buf_append(pending, "\n", 1) == 0 ? 0 : -1;
    free(line);
    json_decref(o);
    return rc;
}

int pub_err_flush(pub_buf *pending, const char *path)
{
    if (pending->len == 0)
        return 0;
    if (pub_append_sync(path, pending->data, pending->len) != 0)
        return -1;
    pending->len = 0;
    return 0;
}
