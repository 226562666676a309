/* stream.h — `ringjs stream`: create (or check) the JetStream stream that
 * receives ringpub's batches. */
#ifndef RINGJS_STREAM_H
#define RINGJS_STREAM_H

#include <nats/nats.h>

/* Create stream `name` on `subjects` (comma-separated) with `replicas`
 * copies and a de-duplication window of dup_s seconds, or accept it if it
 * already exists. Prints one line; returns the exit code. */
int ringjs_stream(jsCtx *js, const char *name, const char *subjects, int replicas, int dup_s);

#endif
