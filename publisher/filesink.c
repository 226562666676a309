/* filesink.c — see filesink.h. */
#include "filesink.h"

#include "body.h"
#include "buf.h"
#include "codec.h"
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pub_file_sink_write(const char *path, pub_compression codec, const char *version, const void *body, size_t len,
                        size_t plain_len, char *why, size_t whylen)
{
    pub_buf lines;
    char err[300];
    int rc = -1;
    json_t *events = body_unpack(codec, body, len, plain_len + 1, version, err, sizeof err);
    pub_buf_init(&lines, (size_t)1 << 31);
    if (!events) {
        snprintf(why, whylen, "file sink: our own batch: %s", err);
    } else {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < json_array_size(events); i++) {
            char *line = json_dumps(json_array_get(events, i), JSON_COMPACT);
            rc = line && pub_buf_append(&lines, line, strlen(line)) == 0 && pub_buf_append(&lines, "\n", 1) == 0
                     ? 0
                     : -1;
            free(line);
        }
        if (rc != 0)
            snprintf(why, whylen, "file sink: out of memory");
        else if (pub_append_sync(path, lines.data, lines.len) != 0) {
            snprintf(why, whylen, "file sink %.300s: %s", path, strerror(errno));
            rc = -1;
        }
    }
    json_decref(events);
    pub_buf_free(&lines);
    return rc;
}
