/*
 * jsonscan.h — a /v2j body (a JSON array of JSON objects) checked in one
 * pass without building a tree, and each object's bytes handed out as they
 * are, so the collector stores events without parsing and re-serializing
 * them (jansson's tree costs ~4x the rest of a request).
 *
 * Strict RFC 8259 where it answers: UTF-8 checked (no overlong forms, no
 * surrogates, at most U+10FFFF), escapes checked (\u0000 and lone
 * surrogates refused, as jansson does), numbers by the grammar, nesting at
 * most JSONSCAN_MAX_DEPTH. Where jansson's answer could differ or an event
 * could not be one JSONL line verbatim, it does not answer but says
 * JSONSCAN_SLOW, and the caller parses the body with jansson as before:
 * an object with more than JSONSCAN_MAX_KEYS keys or a key holding an
 * escape (duplicate keys are refused, as jansson's JSON_REJECT_DUPLICATES
 * does, only where comparing raw bytes is exact), a number with an exponent
 * or of more than 18 characters (jansson refuses what overflows), deeper
 * nesting, or a line break between tokens inside an event. One answer
 * differs on purpose: a NUL byte between tokens is refused (RFC 8259;
 * jansson 2.14 skips it).
 * tests/fuzz/fuzz_jsonscan.c checks every answer against jansson's.
 */
#ifndef RINGCOLLECT_JSONSCAN_H
#define RINGCOLLECT_JSONSCAN_H

#include <stddef.h>

#define JSONSCAN_MAX_DEPTH 64
#define JSONSCAN_MAX_KEYS 32

enum { JSONSCAN_OK = 0, JSONSCAN_BAD = -1, JSONSCAN_SLOW = -2 };

/* Called with each element of the array, in order (start, length). Returns
 * 0 to go on, non-zero to stop the scan (returned as is). */
typedef int (*jsonscan_each)(void *ctx, const char *event, size_t len);

/* jsonscan_objects — check that body[len] is a JSON array of objects and
 * hand each object to each(). Returns JSONSCAN_OK (each() saw every event),
 * JSONSCAN_BAD with one line in why (each() may have seen a prefix: hand
 * nothing on before OK), JSONSCAN_SLOW (use a full parser), or each()'s
 * non-zero answer. */
int jsonscan_objects(const char *body, size_t len, jsonscan_each each, void *ctx, char *why, size_t whylen);

#endif
