/* jsonscan.c — see jsonscan.h. A recursive-descent checker over the bytes;
 * nothing is allocated. */
#include "jsonscan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *end, *base;
    int slow;       /* an answer only jansson may give (jsonscan.h) */
    int line_break; /* a CR or LF between tokens of the current event */
    char *why;
    size_t whylen;
} scan;

static int bad(scan *s, const char *what)
{
    snprintf(s->why, s->whylen, "malformed JSON at byte %zu: %s", (size_t)(s->p - s->base), what);
    return JSONSCAN_BAD;
}

static void skip_ws(scan *s)
{
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == ' ' || c == '\t')
            s->p++;
        else if (c == '\n' || c == '\r')
            s->line_break = 1, s->p++;
        else
            break;
    }
}

static int hex4(const unsigned char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* One UTF-8 sequence starting at s->p (its first byte >= 0x80). */
static int utf8(scan *s)
{
    const unsigned char *p = s->p;
    unsigned c = p[0], n, cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07, min = 0x10000;
    else
        return bad(s, "invalid UTF-8");
    if ((size_t)(s->end - p) <= n)
        return bad(s, "truncated UTF-8");
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return bad(s, "invalid UTF-8");
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return bad(s, "invalid UTF-8");
    s->p += n + 1;
    return JSONSCAN_OK;
}

static int escape(scan *s)
{
    unsigned v, lo;
    s->p++; /* the backslash */
    if (s->p >= s->end)
        return bad(s, "truncated escape");
    switch (*s->p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        s->p++;
        return JSONSCAN_OK;
    case 'u':
        if (s->end - s->p < 5 || hex4(s->p + 1, &v) != 0)
            return bad(s, "invalid \\u escape");
        s->p += 5;
        if (v == 0)
            return bad(s, "\\u0000 is not allowed");
        if (v >= 0xdc00 && v <= 0xdfff)
            return bad(s, "lone low surrogate");
        if (v >= 0xd800 && v <= 0xdbff) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) != 0 ||
                lo < 0xdc00 || lo > 0xdfff)
                return bad(s, "lone high surrogate");
            s->p += 6;
        }
        return JSONSCAN_OK;
    default:
        return bad(s, "invalid escape");
    }
}

/* A string; *escaped set when it holds an escape. */
static int string(scan *s, int *escaped)
{
    int rc;
    s->p++; /* the opening quote */
    *escaped = 0;
    for (;;) {
        while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80 && *s->p != '"' && *s->p != '\\')
            s->p++; /* plain ASCII */
        if (s->p >= s->end)
            return bad(s, "unterminated string");
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return JSONSCAN_OK;
        }
        if (c < 0x20)
            return bad(s, "control character in a string");
        if (c == '\\') {
            *escaped = 1;
            rc = escape(s);
        } else {
            rc = utf8(s);
        }
        if (rc != JSONSCAN_OK)
            return rc;
    }
}

static int digits(scan *s)
{
    const unsigned char *from = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > from ? JSONSCAN_OK : bad(s, "digit expected");
}

static int number(scan *s)
{
    const unsigned char *from = s->p;
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (digits(s) != JSONSCAN_OK)
        return JSONSCAN_BAD;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) != JSONSCAN_OK)
            return JSONSCAN_BAD;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->slow = 1; /* jansson refuses what overflows a double */
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) != JSONSCAN_OK)
            return JSONSCAN_BAD;
    }
    if (s->p - from > 18)
        s->slow = 1; /* past int64 or a double's digits: jansson's answer */
    return JSONSCAN_OK;
}

static int literal(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return bad(s, "invalid literal");
    s->p += n;
    return JSONSCAN_OK;
}

static int value(scan *s, int depth);

static int object(scan *s, int depth)
{
    const unsigned char *key[JSONSCAN_MAX_KEYS];
    size_t keylen[JSONSCAN_MAX_KEYS];
    int nkeys = 0, escaped, rc;
    s->p++; /* { */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return JSONSCAN_OK;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return bad(s, "object key expected");
        const unsigned char *k = s->p + 1;
        if ((rc = string(s, &escaped)) != JSONSCAN_OK)
            return rc;
        if (escaped || nkeys == JSONSCAN_MAX_KEYS) {
            s->slow = 1; /* duplicates only jansson can tell */
        } else {
            size_t kl = (size_t)(s->p - 1 - k);
            for (int i = 0; i < nkeys; i++)
                if (keylen[i] == kl && memcmp(key[i], k, kl) == 0)
                    return bad(s, "duplicate object key");
            key[nkeys] = k;
            keylen[nkeys++] = kl;
        }
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return bad(s, "':' expected");
        s->p++;
        if ((rc = value(s, depth + 1)) != JSONSCAN_OK)
            return rc;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
        } else if (s->p < s->end && *s->p == '}') {
            s->p++;
            return JSONSCAN_OK;
        } else {
            return bad(s, "',' or '}' expected");
        }
    }
}

static int array(scan *s, int depth)
{
    int rc;
    s->p++; /* [ */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return JSONSCAN_OK;
    }
    for (;;) {
        if ((rc = value(s, depth + 1)) != JSONSCAN_OK)
            return rc;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
        } else if (s->p < s->end && *s->p == ']') {
            s->p++;
            return JSONSCAN_OK;
        } else {
            return bad(s, "',' or ']' expected");
        }
    }
}

static int value(scan *s, int depth)
{
    int escaped;
    skip_ws(s);
    if (s->p >= s->end)
        return bad(s, "value expected");
    if (depth > JSONSCAN_MAX_DEPTH) {
        s->slow = 1;
        return JSONSCAN_SLOW; /* deeper than we recurse: jansson's answer */
    }
    switch (*s->p) {
    case '{': return object(s, depth);
    case '[': return array(s, depth);
    case '"': return string(s, &escaped);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return bad(s, "value expected");
    }
}

int jsonscan_objects(const char *body, size_t len, jsonscan_each each, void *ctx, char *why, size_t whylen)
{
    if (!body || len == 0) { /* an empty body (its buffer may be NULL) */
        snprintf(why, whylen, "a 2j body must be a JSON array");
        return JSONSCAN_BAD;
    }
    scan s = { (const unsigned char *)body, (const unsigned char *)body + len, (const unsigned char *)body, 0, 0,
               why, whylen };
    int rc;
    size_t i = 0;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '[') {
        snprintf(why, whylen, "a 2j body must be a JSON array");
        return JSONSCAN_BAD;
    }
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == ']') {
        s.p++;
    } else {
        for (;; i++) {
            skip_ws(&s);
            if (s.p < s.end && *s.p != '{') {
                if (value(&s, 1) != JSONSCAN_OK) /* malformed beats "not an object" */
                    return s.slow ? JSONSCAN_SLOW : JSONSCAN_BAD;
                snprintf(why, whylen, "event %zu of the batch is not a JSON object", i);
                return JSONSCAN_BAD;
            }
            if (s.p >= s.end)
                return bad(&s, "value expected");
            const unsigned char *from = s.p;
            s.line_break = 0;
            if ((rc = object(&s, 1)) != JSONSCAN_OK)
                return s.slow ? JSONSCAN_SLOW : rc;
            if (s.line_break || s.slow)
                return JSONSCAN_SLOW;
            if ((rc = each(ctx, (const char *)from, (size_t)(s.p - from))) != 0)
                return rc;
            skip_ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                continue;
            }
            if (s.p < s.end && *s.p == ']') {
                s.p++;
                break;
            }
            return bad(&s, "',' or ']' expected");
        }
    }
    skip_ws(&s);
    if (s.p != s.end)
        return bad(&s, "end of input expected");
    return JSONSCAN_OK;
}
