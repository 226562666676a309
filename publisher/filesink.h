/*
 * filesink.h — the local JSONL file sink (sink = file), like event-
 * tracking's logger backend: each batch is decoded back into its events,
 * appended one JSON line per event to file.path and fdatasync'ed; the batch
 * is safe once that returns.
 */
#ifndef RINGPUB_FILESINK_H
#define RINGPUB_FILESINK_H

#include "config.h"

#include <stddef.h>

/* pub_file_sink_write — append the events of a compressed batch body
 * (codec, v2 or v2j per `version`). 0, or -1 with one line in why. */
int pub_file_sink_write(const char *path, pub_compression codec, const char *version, const void *body, size_t len,
                        size_t plain_len, char *why, size_t whylen);

#endif
