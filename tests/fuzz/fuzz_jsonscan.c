/*
 * fuzz_jsonscan — ringcollect's one-pass /v2j checker (tools/collect/
 * jsonscan.c) against jansson, differentially: whenever jsonscan answers,
 * jansson (json_loadb with JSON_REJECT_DUPLICATES, as body_parse() calls it)
 * must agree — OK means jansson reads an array of objects, as many as were
 * handed out, each span on its own equal to jansson's element and free of
 * line breaks; BAD means jansson refuses the body or finds a non-object —
 * except for a body holding a NUL byte, which jansson 2.14 skips between
 * tokens and RFC 8259 (and jsonscan) does not allow.
 * JSONSCAN_SLOW leaves the answer to jansson and is not checked.
 */
#include "jsonscan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_t *spans;
} ctx;

static int each(void *c, const char *ev, size_t len)
{
    json_error_t e;
    if (memchr(ev, '\n', len) || memchr(ev, '\r', len))
        abort(); /* would break the JSONL line */
    json_t *one = json_loadb(ev, len, JSON_REJECT_DUPLICATES, &e);
    if (!one)
        abort(); /* a span that is not JSON on its own */
    json_array_append_new(((ctx *)c)->spans, one);
    return 0;
}

static int all_objects(json_t *a)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
        if (!json_is_object(e))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    char why[256];
    json_error_t e;
    ctx c = { json_array() };
    int rc = jsonscan_objects((const char *)in, n, each, &c, why, sizeof why);
    json_t *j = json_loadb((const char *)in, n, JSON_REJECT_DUPLICATES, &e);
    if (rc == JSONSCAN_OK) {
        if (!j || !json_is_array(j) || !all_objects(j) || !json_equal(j, c.spans))
            abort(); /* accepted what jansson refuses or reads otherwise */
    } else if (rc == JSONSCAN_BAD) {
        if (j && json_is_array(j) && all_objects(j) && !memchr(in, 0, n))
            abort(); /* refused what jansson accepts */
    } else if (rc != JSONSCAN_SLOW) {
        abort();
    }
    json_decref(j);
    json_decref(c.spans);
    return 0;
}
