/* sinks/file.c — a local JSONL file (sink = file), like event-tracking's
 * logger backend: each batch's events are appended, one line each, to
 * file.path and fdatasync'ed; the batch is safe once that returns. Its
 * batches are not compressed, and their events not parsed: written as the
 * producers put them. */
#include "sink.h"

#include "body.h"
#include "buf.h"
#include "codec.h"
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The body's events, one per line, as the producers wrote them: found by
 * their framing (body_spans), not parsed; a line break in an event can only
 * be whitespace between JSON tokens (JSON strings cannot hold one), so it
 * becomes a space. 0, or -1 with one line in why. */
static int frame_lines(const char *text, size_t len, const char *version, uint32_t count, pub_buf *lines, char *why,
                       size_t whylen)
{
    body_span *spans = (body_span *)calloc(count ? count : 1, sizeof *spans);
    int rc = -1;
    if (!spans)
        snprintf(why, whylen, "file sink: out of memory");
    else if (body_spans(text, len, version, spans, count) != (long)count)
        snprintf(why, whylen, "file sink: our own batch does not hold its %u events", count);
    else
        rc = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        size_t at = lines->len;
        if (pub_buf_append(lines, text + spans[i].off, spans[i].len) != 0 || pub_buf_append(lines, "\n", 1) != 0) {
            snprintf(why, whylen, "file sink: out of memory");
            rc = -1;
            break;
        }
        for (char *c = (char *)lines->data + at, *end = c + spans[i].len; c < end; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    free(spans);
    return rc;
}

/* Append the events of batch o to its lane's file and fdatasync it. Its
 * body is uncompressed (describe() says so), unless it was spooled by an
 * older daemon. 0, or -1 with one line in why. */
static int write_lines(const pub_out *o, char *why, size_t whylen)
{
    pub_buf plain, lines;
    const char *text = (const char *)o->body.data;
    size_t len = o->body.len;
    int rc = -1;
    pub_buf_init(&plain, o->plain_len + 1);
    pub_buf_init(&lines, (size_t)1 << 31);
    if (o->codec != PUB_NONE) {
        if (pub_decompress((pub_compression)o->codec, o->body.data, o->body.len, &plain) != 0) {
            snprintf(why, whylen, "file sink: our own batch does not decompress");
            goto out;
        }
        text = (const char *)plain.data, len = plain.len;
    }
    if (frame_lines(text, len, o->lane->version, o->count, &lines, why, whylen) != 0)
        goto out;
    if (pub_append_sync(o->lane->file_path, lines.data, lines.len) != 0) {
        snprintf(why, whylen, "file sink %.300s: %s", o->lane->file_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    pub_buf_free(&plain);
    pub_buf_free(&lines);
    return rc;
}

static void describe(pub_lane *l, const pub_config *c, const char *host, const char *eventgate_url)
{
    (void)c, (void)host, (void)eventgate_url;
    l->compression = PUB_NONE; /* written out as it is: nothing to gain by compressing first */
    snprintf(l->where, sizeof l->where, "file %.600s", l->file_path);
}

static int send_file(pub_daemon *d, pub_out *o)
{
    char why[400];
    int rc = write_lines(o, why, sizeof why);
    if (rc == 0) /* in the file now: a kill before the report must not write it twice */
        pub_seals_safe(&d->seals, o->seal_slot);
    pub_send_complete_later(d, o->req, rc == 0 ? 200 : 0, rc == 0 ? NULL : why);
    return 0;
}

const pub_sink_ops pub_sink_file = { "file", NULL, NULL, describe, send_file, pub_verdict_done };
