/* body.c — see body.h. */
#include "body.h"

#include <stdio.h>
#include <string.h>

static json_t *tjson_events(json_t *root, char *why, size_t whylen)
{
    json_t *one = json_object_get(root, "1"), *lst = one ? json_object_get(one, "lst") : NULL;
    size_t n;
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_object(one) ||
        json_object_size(one) != 1 || !json_is_array(lst) || json_array_size(lst) < 2 ||
        !json_is_string(json_array_get(lst, 0)) ||
        strcmp(json_string_value(json_array_get(lst, 0)), "rec") != 0 ||
        !json_is_integer(json_array_get(lst, 1))) {
        snprintf(why, whylen, "not a TJSON list of records ({\"1\":{\"lst\":[\"rec\",N,...]}})");
        return NULL;
    }
    n = json_array_size(lst) - 2;
    if (json_integer_value(json_array_get(lst, 1)) != (json_int_t)n) {
        snprintf(why, whylen, "list says %lld records, has %zu",
                 (long long)json_integer_value(json_array_get(lst, 1)), n);
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, json_array_get(lst, i + 2));
    return out;
}

json_t *body_parse(const char *body, size_t len, int json, char *why, size_t whylen)
{
    json_error_t e;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e), *events;
    if (!root) {
        snprintf(why, whylen, "malformed JSON at byte %d: %s", e.position, e.text);
        return NULL;
    }
    if (json) {
        if (!json_is_array(root)) {
            snprintf(why, whylen, "a 2j body must be a JSON array");
            json_decref(root);
            return NULL;
        }
        return root;
    }
    events = tjson_events(root, why, whylen);
    json_decref(root);
    return events;
}

json_t *body_unpack(pub_compression codec, const void *body, size_t len, size_t max_plain, const char *version,
                    char *why, size_t whylen)
{
    pub_buf plain;
    json_t *events = NULL;
    pub_buf_init(&plain, max_plain);
    if (pub_decompress(codec, body, len, &plain) != 0)
        snprintf(why, whylen, "body does not decompress");
    else
        events = body_parse((const char *)plain.data, plain.len, strcmp(version, "2j") == 0, why, whylen);
    pub_buf_free(&plain);
    return events;
}

/* Index of the ',' or ']' that ends the JSON value starting at i (n if none). */
static size_t value_end(const char *s, size_t i, size_t n)
{
    int depth = 0, in_string = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth-- == 0)
                return i;
        } else if (c == ',' && depth == 0) {
            return i;
        }
    }
    return n;
}

long body_spans(const char *body, size_t len, const char *version, body_span *spans, size_t max)
{
    static const char tjson[] = "{\"1\":{\"lst\":[\"rec\",";
    size_t i, end;
    long n = 0;
    if (strcmp(version, "2j") == 0) {
        if (len < 2 || body[0] != '[' || body[len - 1] != ']')
            return -1;
        i = 1, end = len - 1;
    } else {
        if (len < sizeof tjson + 3 || memcmp(body, tjson, sizeof tjson - 1) != 0 ||
            memcmp(body + len - 3, "]}}", 3) != 0)
            return -1;
        i = sizeof tjson - 1 + strspn(body + sizeof tjson - 1, "0123456789");
        if (body[i] == ']')
            return 0;
        if (body[i] != ',')
            return -1;
        i++, end = len - 3;
    }
    while (i < end) {
        size_t stop = value_end(body, i, end);
        if ((size_t)n < max)
            spans[n] = (body_span){ i, stop - i };
        n++;
        i = stop + 1;
    }
    return n;
}
