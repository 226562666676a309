/*
 * body.h — parse a batch body as baseplate's publisher (and ringpub) sends it
 * (ringcollect, ringjs, and ringpub's per-event JetStream mode):
 *   /v2:  {"1":{"lst":["rec",N,E1,...,EN]}}   (N must match)
 *   /v2j: [E1,...,EN]
 * with jansson (a well-kept JSON parser: strict RFC 8259, bounded nesting).
 */
#ifndef RINGPUB_BODY_H
#define RINGPUB_BODY_H

#include "codec.h"

#include <jansson.h>
#include <stddef.h>

/* body_parse — returns a new jansson array of the events, or NULL with one
 * line in why. json: 1 for the 2j form. */
json_t *body_parse(const char *body, size_t len, int json, char *why, size_t whylen);

/* body_unpack — decompress body[len] (codec; at most max_plain bytes) and
 * parse it as body_parse does for collector version `version` ("2" or
 * "2j"). The events, or NULL with one line in why. */
json_t *body_unpack(pub_compression codec, const void *body, size_t len, size_t max_plain, const char *version,
                    char *why, size_t whylen);

/* A span of bytes in a body: one event. */
typedef struct body_span {
    size_t off, len;
} body_span;

/* body_spans — the events of a batch body in the form ringpub's batches have
 * (version "2": {"1":{"lst":["rec",N,...]}}, "2j": [...]), as byte spans,
 * found without parsing them: a ',' at depth 0 outside a string ends one.
 * Returns the count (at most max spans are stored), or -1 if the framing is
 * not that form. A caller that knows the count compares it. */
long body_spans(const char *body, size_t len, const char *version, body_span *spans, size_t max);

#endif
