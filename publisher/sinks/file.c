/* sinks/file.c — a local JSONL file (sink = file), like event-tracking's
 * logger backend: each batch is decoded back into its events, appended one
 * JSON line per event to file.path and fdatasync'ed; the batch is safe once
 * that returns. */
#include "sink.h"

#include "body.h"
#include "buf.h"
#include "codec.h"
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append the events of a compressed batch body (codec, v2 or v2j per
 * `version`). 0, or -1 with one line in why. */
static int write_lines(const char *path, pub_compression codec, const char *version, const void *body, size_t len,
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

static void describe(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    (void)c, (void)host, (void)eventgate_url;
    snprintf(l->where, sizeof l->where, "file %.600s", l->file_path);
}

static int send_file(pub_daemon *d, pub_out *o)
{
    char why[400];
    int rc = write_lines(o->lane->file_path, (pub_compression)o->codec, o->lane->version, o->body.data, o->body.len,
                         o->plain_len, why, sizeof why);
    if (rc == 0) /* in the file now: a kill before the report must not write it twice */
        pub_seals_safe(&d->seals, o->seal_slot);
    pub_send_complete_later(d, o->req, rc == 0 ? 200 : 0, rc == 0 ? NULL : why);
    return 0;
}

const pub_sink_ops pub_sink_file = { "file", describe, send_file, pub_verdict_done };
