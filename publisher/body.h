/*
 * body.h — parse a batch body as baseplate's publisher (and ringpub) sends it
 * (ringcollect, ringjs, and ringpub's per-event JetStream mode):
 *   /v2:  {"1":{"lst":["rec",N,E1,...,EN]}}   (N must match)
 *   /v2j: [E1,...,EN]
 * with jansson (a well-kept JSON parser: strict RFC 8259, bounded nesting).
 */
#ifndef RINGPUB_BODY_H
#define RINGPUB_BODY_H

#include <jansson.h>
#include <stddef.h>

/* body_parse — returns a new jansson array of the events, or NULL with one
 * line in why. json: 1 for the 2j form. */
json_t *body_parse(const char *body, size_t len, int json, char *why, size_t whylen);

#endif
