/*
 * ringpub_json.h — a tiny JSON writer into a caller-provided buffer, the
 * base of the event builders (ringpub_event.h). Header-only, C17 and C++17,
 * no allocation. Strings are checked to be valid UTF-8 (no overlong forms,
 * no surrogates, nothing past U+10FFFF) and escaped per RFC 8259.
 *
 * A writer remembers its first error; check rp_json_error() (or the result
 * of rp_json_finish()) once at the end instead of after every call.
 *
 *     char buf[512];
 *     rp_json w;
 *     rp_json_init(&w, buf, sizeof buf);
 *     rp_json_obj_begin(&w);
 *     rp_json_key(&w, "user"); rp_json_str(&w, name, strlen(name));
 *     rp_json_key(&w, "n");    rp_json_int(&w, 42);
 *     rp_json_obj_end(&w);
 *     long len = rp_json_finish(&w);    // bytes, or RP_ETOOBIG / RP_EINVAL
 */
#ifndef RINGPUB_JSON_H
#define RINGPUB_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef RP_ETOOBIG
#define RP_ETOOBIG (-2) /* same codes as ringpub.h */
#define RP_EINVAL (-3)
#endif

#define RP_JSON_MAX_DEPTH 32

typedef struct rp_json {
    char *buf;
    size_t len, cap;
    int err;                            /* first error: 0, RP_ETOOBIG, RP_EINVAL */
    int depth;
    uint8_t need_comma[RP_JSON_MAX_DEPTH]; /* a value was written at this depth */
    uint8_t after_key;                  /* the next value follows a key */
} rp_json;

/* rp_json_init — write into buf[cap] (cap >= 1; the text is NUL-terminated). */
static inline void rp_json_init(rp_json *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    if (!buf || cap == 0)
        w->err = RP_EINVAL;
    else
        buf[0] = '\0';
}

/* rp_json_error — the first error so far (0 if none). */
static inline int rp_json_error(const rp_json *w) { return w->err; }

static inline void rp__json_put(rp_json *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (n >= w->cap - w->len) {
        w->err = RP_ETOOBIG;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Separator before a value (or a key) at the current depth. */
static inline void rp__json_sep(rp_json *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->need_comma[w->depth])
        rp__json_put(w, ",", 1);
    w->need_comma[w->depth] = 1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static inline size_t rp__utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;                 /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) { k = 2; cp = c & 0x1F; }
    else if (c < 0xF0) { k = 3; cp = c & 0x0F; }
    else if (c < 0xF5) { k = 4; cp = c & 0x07; }
    else return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;                           /* overlong, surrogate, or out of range */
    return k;
}

/* rp_json_valid_utf8 — 1 if s[0..n) is valid UTF-8. */
static inline int rp_json_valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = rp__utf8_len(p + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* A JSON string literal of s[0..n) (escaped); invalid UTF-8 is RP_EINVAL. */
static inline void rp__json_quote(rp_json *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    if (!s && n) {
        w->err = w->err ? w->err : RP_EINVAL;
        return;
    }
    rp__json_put(w, "\"", 1);
    for (size_t i = 0; i < n && !w->err;) {
        unsigned char c = p[i];
        size_t k = rp__utf8_len(p + i, n - i);
        if (!k) {
            w->err = RP_EINVAL;
            return;
        }
        if (c < 0x20 || c == '"' || c == '\\') {
            char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
            size_t elen = 2;
            rp__json_put(w, s + i - run, run);
            run = 0;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
                elen = 6;
            }
            rp__json_put(w, esc, elen);
            i++;
            continue;
        }
        run += k;
        i += k;
    }
    rp__json_put(w, s + n - run, run);
    rp__json_put(w, "\"", 1);
}

/* rp_json_key — an object key (valid UTF-8), then its value. */
static inline void rp_json_key(rp_json *w, const char *key)
{
    rp__json_sep(w);
    rp__json_quote(w, key, key ? strlen(key) : 1);
    rp__json_put(w, ":", 1);
    w->after_key = 1;
}

/* Values. A string must be valid UTF-8; raw must be valid JSON (not checked). */
static inline void rp_json_str(rp_json *w, const char *s, size_t n) { rp__json_sep(w); rp__json_quote(w, s, n); }
static inline void rp_json_cstr(rp_json *w, const char *s) { rp_json_str(w, s, s ? strlen(s) : 1); }
static inline void rp_json_raw(rp_json *w, const char *json, size_t n) { rp__json_sep(w); rp__json_put(w, json, n); }
static inline void rp_json_null(rp_json *w) { rp_json_raw(w, "null", 4); }
static inline void rp_json_bool(rp_json *w, int v) { rp_json_raw(w, v ? "true" : "false", v ? 4 : 5); }

/* An integer, in decimal. */
static inline void rp_json_int(rp_json *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    rp_json_raw(w, num, (size_t)n);
}

/* A finite double (NaN and infinities are not JSON: RP_EINVAL). */
static inline void rp_json_double(rp_json *w, double v)
{
    char num[32];
    if (v != v || v - v != 0) {
        w->err = w->err ? w->err : RP_EINVAL;
        return;
    }
    int n = snprintf(num, sizeof num, "%.17g", v);
    rp_json_raw(w, num, (size_t)n);
}

static inline void rp__json_open(rp_json *w, char c)
{
    rp__json_sep(w);
    rp__json_put(w, &c, 1);
    if (w->depth + 1 >= RP_JSON_MAX_DEPTH) {
        w->err = w->err ? w->err : RP_EINVAL;
        return;
    }
    w->need_comma[++w->depth] = 0;
}

static inline void rp__json_close(rp_json *w, char c)
{
    if (w->depth == 0) {
        w->err = w->err ? w->err : RP_EINVAL;
        return;
    }
    w->depth--;
    rp__json_put(w, &c, 1);
}

/* Open and close objects and arrays, nested up to RP_JSON_MAX_DEPTH (deeper,
 * or a close with nothing open: the writer's error becomes RP_EINVAL). */
static inline void rp_json_obj_begin(rp_json *w) { rp__json_open(w, '{'); }
static inline void rp_json_obj_end(rp_json *w) { rp__json_close(w, '}'); }
static inline void rp_json_arr_begin(rp_json *w) { rp__json_open(w, '['); }
static inline void rp_json_arr_end(rp_json *w) { rp__json_close(w, ']'); }

/* rp_json_finish — the text's length, or its first error (RP_ETOOBIG: the
 * buffer is too small; RP_EINVAL: invalid UTF-8, NaN, unbalanced nesting). */
static inline long rp_json_finish(const rp_json *w)
{
    if (w->err)
        return w->err;
    return w->depth ? RP_EINVAL : (long)w->len;
}

#endif /* RINGPUB_JSON_H */
