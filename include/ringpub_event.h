/*
 * ringpub_event.h — building events in C, header-only (C17 and C++17), for
 * three families of habits:
 *
 *  1. baseplate's legacy schemaless v1 events: topic, type, timestamp (ms),
 *     uuid and fields; a field is normal, obfuscated (sensitive: under
 *     payload.obfuscated_data) or high-cardinality (not indexed: under
 *     payload.interana_excluded). Fields live in caller-provided storage;
 *     serializing writes into a caller-provided buffer — no allocation.
 *
 *         rp_v1_field f[16];
 *         rp_v1_event e;
 *         rp_v1_init(&e, "test_topic", "click", f, 16);
 *         rp_v1_set_str(&e, "user", "alice", RP_FIELD_NORMAL);
 *         rp_v1_set_str(&e, "ip", "10.0.0.1", RP_FIELD_OBFUSCATED);
 *         long n = rp_v1_serialize(&e, buf, sizeof buf);  // or RP_E*
 *         rp_queue_put(q, buf, (size_t)n);
 *
 *  2. a tracker in the manner of Open edX event-tracking: emit(name, data)
 *     annotated with the UTC time, and named contexts entered and exited per
 *     thread whose key/values are merged into every event emitted while they
 *     are active (the later context wins on a clash); a registry of named
 *     trackers with a default.
 *
 *  3. Event Platform events: $schema, meta.stream and dt (ISO-8601 UTC).
 *
 * Strings must be valid UTF-8 (RP_EINVAL otherwise); JSON escaping is done
 * here (ringpub_json.h). Values given as "raw" must already be valid JSON.
 */
#ifndef RINGPUB_EVENT_H
#define RINGPUB_EVENT_H

#include "ringpub_json.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

/* ---- time and ids ---------------------------------------------------- */

/* rp_now_ms — wall-clock milliseconds since the epoch. */
static inline int64_t rp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define RP_ISO8601_SIZE 32

/* rp_iso8601 — "2026-11-22T21:42:11.123Z" for ms since the epoch (clamped
 * to years 1970..9999). */
static inline void rp_iso8601(int64_t ms, char out[RP_ISO8601_SIZE])
{
    const int64_t max_ms = 253402300799999LL; /* 9999-12-31T23:59:59.999Z */
    ms = ms < 0 ? 0 : ms > max_ms ? max_ms : ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, RP_ISO8601_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* rp_uuid4 — a random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx",
 * from getrandom(2) (one syscall, like Python's uuid.uuid4()). Returns 0, or
 * RP_EINVAL if the kernel gave no random bytes. */
static inline int rp_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return RP_EINVAL;
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    for (int i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[36] = '\0';
    return 0;
}

/* ---- 1. baseplate v1 events ------------------------------------------- */

typedef enum { RP_FIELD_NORMAL, RP_FIELD_OBFUSCATED, RP_FIELD_HIGH_CARDINALITY } rp_field_kind;
typedef enum { RP_VAL_STR, RP_VAL_INT, RP_VAL_DOUBLE, RP_VAL_BOOL, RP_VAL_NULL, RP_VAL_RAW } rp_val_type;

/* A field. Strings (name, str, raw) are not copied: keep them alive until
 * the event is serialized. */
typedef struct rp_v1_field {
    const char *name;
    rp_field_kind kind;
    rp_val_type type;
    const char *str; /* RP_VAL_STR (len bytes) or RP_VAL_RAW (len bytes of JSON) */
    size_t len;
    int64_t i;       /* RP_VAL_INT, RP_VAL_BOOL */
    double d;        /* RP_VAL_DOUBLE */
} rp_v1_field;

typedef struct rp_v1_event {
    const char *topic, *type;
    int64_t ts_ms;
    char uuid[37];
    rp_v1_field *fields;
    size_t n, cap;
} rp_v1_event;

/* rp_v1_init — an event of topic/type stamped now with a fresh uuid4,
 * its fields kept in fields[cap]. Returns 0 or RP_EINVAL. */
static inline int rp_v1_init(rp_v1_event *e, const char *topic, const char *type, rp_v1_field *fields, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->topic = topic;
    e->type = type;
    e->ts_ms = rp_now_ms();
    e->fields = fields;
    e->cap = cap;
    if (!topic || !type || (!fields && cap))
        return RP_EINVAL;
    return rp_uuid4(e->uuid);
}

/* rp_v1_get — the field called name, or NULL. */
static inline const rp_v1_field *rp_v1_get(const rp_v1_event *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->fields[i].name, name) == 0)
            return &e->fields[i];
    return NULL;
}

/* rp_v1_set — set (or replace) a field; its name and kind come from f.
 * Returns 0, RP_ETOOBIG (no room for another field) or RP_EINVAL. */
static inline int rp_v1_set(rp_v1_event *e, const rp_v1_field *f)
{
    if (!f->name)
        return RP_EINVAL;
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->fields[i].name, f->name) == 0) {
            e->fields[i] = *f;
            return 0;
        }
    if (e->n == e->cap)
        return RP_ETOOBIG;
    e->fields[e->n++] = *f;
    return 0;
}

/* rp_v1_set_str, _int, _double, _bool — set field `name` of section k to
 * value v (through rp_v1_set: replaced if the name is there already). A
 * string is copied when the event is written, not here: v must live until
 * then. 0, RP_EINVAL (no name, or a NULL string) or RP_ETOOBIG (full). */
static inline int rp_v1_set_str(rp_v1_event *e, const char *name, const char *v, rp_field_kind k)
{
    rp_v1_field f = { name, k, RP_VAL_STR, v, v ? strlen(v) : 0, 0, 0 };
    return v ? rp_v1_set(e, &f) : RP_EINVAL;
}

static inline int rp_v1_set_int(rp_v1_event *e, const char *name, int64_t v, rp_field_kind k)
{
    rp_v1_field f = { name, k, RP_VAL_INT, NULL, 0, v, 0 };
    return rp_v1_set(e, &f);
}

static inline int rp_v1_set_double(rp_v1_event *e, const char *name, double v, rp_field_kind k)
{
    rp_v1_field f = { name, k, RP_VAL_DOUBLE, NULL, 0, 0, v };
    return rp_v1_set(e, &f);
}

static inline int rp_v1_set_bool(rp_v1_event *e, const char *name, int v, rp_field_kind k)
{
    rp_v1_field f = { name, k, RP_VAL_BOOL, NULL, 0, v != 0, 0 };
    return rp_v1_set(e, &f);
}

/* raw: a JSON value given as text (an object, an array, ...). */
static inline int rp_v1_set_raw(rp_v1_event *e, const char *name, const char *json, rp_field_kind k)
{
    rp_v1_field f = { name, k, RP_VAL_RAW, json, json ? strlen(json) : 0, 0, 0 };
    return json ? rp_v1_set(e, &f) : RP_EINVAL;
}

static inline void rp__v1_value(rp_json *w, const rp_v1_field *f)
{
    switch (f->type) {
    case RP_VAL_STR: rp_json_str(w, f->str, f->len); break;
    case RP_VAL_INT: rp_json_int(w, f->i); break;
    case RP_VAL_DOUBLE: rp_json_double(w, f->d); break;
    case RP_VAL_BOOL: rp_json_bool(w, (int)f->i); break;
    case RP_VAL_NULL: rp_json_null(w); break;
    case RP_VAL_RAW: rp_json_raw(w, f->str, f->len); break;
    }
}

/* The fields of one kind, as members of the current object. */
static inline size_t rp__v1_members(rp_json *w, const rp_v1_event *e, rp_field_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->fields[i].kind == k) {
            rp_json_key(w, e->fields[i].name);
            rp__v1_value(w, &e->fields[i]);
            n++;
        }
    return n;
}

static inline size_t rp__v1_count(const rp_v1_event *e, rp_field_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += e->fields[i].kind == k;
    return n;
}

/*
 * rp_v1_serialize — the v1 JSON layout into buf[cap]:
 *   {"event_topic":T,"event_type":Y,"event_ts":MS,"uuid":U,"payload":{
 *      normal fields..., "obfuscated_data":{...}, "interana_excluded":{...}}}
 * (a special section only when it has fields). Returns the length, or
 * RP_ETOOBIG (buffer too small) / RP_EINVAL (invalid UTF-8, NaN).
 */
static inline long rp_v1_serialize(const rp_v1_event *e, char *buf, size_t cap)
{
    static const char *const section[] = { NULL, "obfuscated_data", "interana_excluded" };
    rp_json w;
    rp_json_init(&w, buf, cap);
    rp_json_obj_begin(&w);
    rp_json_key(&w, "event_topic");
    rp_json_cstr(&w, e->topic);
    rp_json_key(&w, "event_type");
    rp_json_cstr(&w, e->type);
    rp_json_key(&w, "event_ts");
    rp_json_int(&w, e->ts_ms);
    rp_json_key(&w, "uuid");
    rp_json_cstr(&w, e->uuid);
    rp_json_key(&w, "payload");
    rp_json_obj_begin(&w);
    rp__v1_members(&w, e, RP_FIELD_NORMAL);
    for (int k = RP_FIELD_OBFUSCATED; k <= RP_FIELD_HIGH_CARDINALITY; k++)
        if (rp__v1_count(e, (rp_field_kind)k)) {
            rp_json_key(&w, section[k]);
            rp_json_obj_begin(&w);
            rp__v1_members(&w, e, (rp_field_kind)k);
            rp_json_obj_end(&w);
        }
    rp_json_obj_end(&w);
    rp_json_obj_end(&w);
    return rp_json_finish(&w);
}

/* ---- 2. a tracker with per-thread contexts ------------------------------ */

#define RP_TRACKER_MAX_CONTEXTS 16
#define RP_CONTEXT_MAX_PAIRS 16

/* A named context: key/value pairs (values are JSON text, e.g. "\"web\"" or
 * "42"), merged into every event emitted while it is entered. */
typedef struct rp_context {
    const char *name;
    const char *keys[RP_CONTEXT_MAX_PAIRS];
    const char *values[RP_CONTEXT_MAX_PAIRS];
    int n;
} rp_context;

typedef struct rp__ctx_stack {
    const rp_context *ctx[RP_TRACKER_MAX_CONTEXTS];
    int n;
} rp__ctx_stack;

/* Where a tracker's events go: put(data, len, arg) returns 0 or an RP_E*
 * code (for a ringpub queue: rp_queue_put). */
typedef int (*rp_tracker_sink)(const void *data, size_t len, void *arg);

typedef struct rp_tracker {
    const char *name;
    rp_tracker_sink sink;
    void *sink_arg;
    pthread_key_t stack_key; /* per-thread context stack */
    int key_ok;
} rp_tracker;

static inline void rp__free_stack(void *p) { free(p); }

/* rp_tracker_init — a tracker sending to sink(arg). 0 or RP_EINVAL. */
static inline int rp_tracker_init(rp_tracker *t, const char *name, rp_tracker_sink sink, void *arg)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->sink = sink;
    t->sink_arg = arg;
    t->key_ok = pthread_key_create(&t->stack_key, rp__free_stack) == 0;
    return t->key_ok && sink ? 0 : RP_EINVAL;
}

/* rp_tracker_destroy — after every thread is done with it. */
static inline void rp_tracker_destroy(rp_tracker *t)
{
    if (t->key_ok) {
        free(pthread_getspecific(t->stack_key));
        pthread_key_delete(t->stack_key);
    }
    t->key_ok = 0;
}

static inline rp__ctx_stack *rp__stack(rp_tracker *t)
{
    rp__ctx_stack *s = (rp__ctx_stack *)pthread_getspecific(t->stack_key);
    if (!s && (s = (rp__ctx_stack *)calloc(1, sizeof *s)) && pthread_setspecific(t->stack_key, s) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

/* rp_tracker_enter — enter context c on this thread (c must outlive it).
 * 0, RP_ETOOBIG (too deep) or RP_EINVAL. */
static inline int rp_tracker_enter(rp_tracker *t, const rp_context *c)
{
    rp__ctx_stack *s = rp__stack(t);
    if (!s || !c)
        return RP_EINVAL;
    if (s->n == RP_TRACKER_MAX_CONTEXTS)
        return RP_ETOOBIG;
    s->ctx[s->n++] = c;
    return 0;
}

/* rp_tracker_exit — leave the innermost context called name on this thread
 * (and any entered after it). 0, or RP_EINVAL if it is not entered. */
static inline int rp_tracker_exit(rp_tracker *t, const char *name)
{
    rp__ctx_stack *s = rp__stack(t);
    for (int i = s ? s->n - 1 : -1; i >= 0; i--)
        if (strcmp(s->ctx[i]->name, name) == 0) {
            s->n = i;
            return 0;
        }
    return RP_EINVAL;
}

/* 1 if key is set again by a context entered after index i. */
static inline int rp__shadowed(const rp__ctx_stack *s, int i, const char *key)
{
    for (int j = i + 1; j < s->n; j++)
        for (int k = 0; k < s->ctx[j]->n; k++)
            if (strcmp(s->ctx[j]->keys[k], key) == 0)
                return 1;
    return 0;
}

/*
 * rp_tracker_emit_buf — serialize {"name":N,"timestamp":ISO8601,"context":
 * {merged contexts},"data":DATA} into buf[cap] (data: JSON text, NULL for
 * {}), then send it. The later context wins on a clash. Returns 0, the
 * sink's error, or RP_ETOOBIG / RP_EINVAL from serializing.
 */
static inline int rp_tracker_emit_buf(rp_tracker *t, const char *name, const char *data, char *buf, size_t cap)
{
    rp__ctx_stack *s = rp__stack(t);
    char ts[RP_ISO8601_SIZE];
    rp_json w;
    rp_iso8601(rp_now_ms(), ts);
    rp_json_init(&w, buf, cap);
    rp_json_obj_begin(&w);
    rp_json_key(&w, "name");
    rp_json_cstr(&w, name);
    rp_json_key(&w, "timestamp");
    rp_json_cstr(&w, ts);
    rp_json_key(&w, "context");
    rp_json_obj_begin(&w);
    for (int i = 0; s && i < s->n; i++)
        for (int k = 0; k < s->ctx[i]->n; k++)
            if (!rp__shadowed(s, i, s->ctx[i]->keys[k])) {
                rp_json_key(&w, s->ctx[i]->keys[k]);
                rp_json_raw(&w, s->ctx[i]->values[k], strlen(s->ctx[i]->values[k]));
            }
    rp_json_obj_end(&w);
    rp_json_key(&w, "data");
    rp_json_raw(&w, data ? data : "{}", data ? strlen(data) : 2);
    rp_json_obj_end(&w);
    long n = rp_json_finish(&w);
    return n < 0 ? (int)n : t->sink(buf, (size_t)n, t->sink_arg);
}

/* rp_tracker_emit — the same with a per-call stack buffer of 8 KiB. */
static inline int rp_tracker_emit(rp_tracker *t, const char *name, const char *data)
{
    char buf[8192];
    return rp_tracker_emit_buf(t, name, data, buf, sizeof buf);
}

/* A registry of named trackers with a default (the first registered, or the
 * one named "default"). Caller-owned; not locked: fill it at start-up. */
#define RP_REGISTRY_MAX 16
typedef struct rp_registry {
    rp_tracker *t[RP_REGISTRY_MAX];
    int n;
} rp_registry;

/* rp_registry_add — 0, RP_ETOOBIG (full) or RP_EINVAL (name taken). */
static inline int rp_registry_add(rp_registry *r, rp_tracker *t)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->t[i]->name, t->name) == 0)
            return RP_EINVAL;
    if (r->n == RP_REGISTRY_MAX)
        return RP_ETOOBIG;
    r->t[r->n++] = t;
    return 0;
}

/* rp_registry_get — tracker `name`, or the default for NULL; NULL if none. */
static inline rp_tracker *rp_registry_get(const rp_registry *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->t[i]->name, name ? name : "default") == 0)
            return r->t[i];
    return !name && r->n ? r->t[0] : NULL;
}

/* ---- 3. Event Platform events ------------------------------------------ */

/*
 * rp_ep_begin — start an Event Platform event in w: {"$schema":S,
 * "meta":{"stream":M},"dt":ISO8601(now) — then add members with
 * rp_json_key()/values and close it with rp_ep_end().
 */
static inline void rp_ep_begin(rp_json *w, const char *schema, const char *stream)
{
    char dt[RP_ISO8601_SIZE];
    rp_iso8601(rp_now_ms(), dt);
    rp_json_obj_begin(w);
    rp_json_key(w, "$schema");
    rp_json_cstr(w, schema);
    rp_json_key(w, "meta");
    rp_json_obj_begin(w);
    rp_json_key(w, "stream");
    rp_json_cstr(w, stream);
    rp_json_obj_end(w);
    rp_json_key(w, "dt");
    rp_json_cstr(w, dt);
}

/* rp_ep_end — close the event; the length, or an RP_E* error. */
static inline long rp_ep_end(rp_json *w)
{
    rp_json_obj_end(w);
    return rp_json_finish(w);
}

#endif /* RINGPUB_EVENT_H */
