/*
 * body.h — parse a batch body as baseplate's publisher sends it:
 *   /v2:  {"1":{"lst":["rec",N,E1,...,EN]}}   (N must match)
 *   /v2j: [E1,...,EN]
 * with jansson (a well-kept JSON parser: strict RFC 8259, bounded nesting).
 */
#ifndef RINGCOLLECT_BODY_H
#define RINGCOLLECT_BODY_H

#include <jansson.h>
#include <stddef.h>

/* body_parse — returns a new jansson array of the events, or NULL with one
 * line in why. json: 1 for the 2j form. */
json_t *body_parse(const char *body, size_t len, int json, char *why, size_t whylen);

#endif
