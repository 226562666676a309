/*
 * errstream.h — the error stream: events a processor refused, as error
 * events in the manner of EventGate's error.validation, one JSON line each
 * in errors.file, fdatasync'ed before the ring space of those events is
 * released:
 *   {"$schema":"/error/1.0.0","meta":{"stream":"ringpub.error","dt":...},
 *    "emitter_id":"ringpub","queue":Q,"processor":P,"message":WHY,
 *    "raw_event":"<the original event>"}   (raw_event_base64 if not UTF-8)
 */
#ifndef RINGPUB_ERRSTREAM_H
#define RINGPUB_ERRSTREAM_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* pub_err_add — append one error event line to pending. 0 or -1 (memory). */
int pub_err_add(pub_buf *pending, const char *queue, const char *processor, const char *why, const void *ev,
                size_t len, int64_t now_ms);

/* pub_err_flush — append pending to the file at path (0600), fdatasync,
 * and empty pending. 0, or -1 with errno (pending is kept). */
int pub_err_flush(pub_buf *pending, const char *path);

#endif
