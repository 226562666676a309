/*
 * dump.h — `ringjs dump`: a durable pull consumer that turns the batches in
 * a stream back into events, one JSON line each, like ringcollect's files.
 * A fetched group of messages is written and fdatasync'ed before it is
 * acked, so a crash repeats events (at least once) but never skips one.
 */
#ifndef RINGJS_DUMP_H
#define RINGJS_DUMP_H

#include <nats/nats.h>
#include <stdint.h>

/* Read stream `stream` (filter `subject`) through durable consumer
 * `durable`, appending events to `out`, until no message came for idle_ms
 * (0: run until killed). Prints a summary line; returns the exit code. */
int ringjs_dump(jsCtx *js, const char *stream, const char *subject, const char *durable, const char *out,
                int64_t idle_ms);

#endif
