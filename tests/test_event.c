/* The event builders (ringpub_json.h, ringpub_event.h): the v1 layout,
 * JSON escaping and UTF-8 rejection, buffer bounds, the tracker's contexts
 * across real threads, the registry, Event Platform fields. Output is
 * checked by parsing it back with jansson. */
#include "helpers.h"

#include "check.h"
#include "ringpub_event.h"

#include <jansson.h>
#include <pthread.h>

TestSuite(event);

static json_t *parse(const char *s, long n)
{
    json_error_t e;
    cr_assert_gt(n, 0, "serialize failed: %ld", n);
    json_t *j = json_loadb(s, (size_t)n, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(j, "not JSON (%s): %.*s", e.text, (int)n, s);
    return j;
}

static const char *str_at(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

Test(event, v1_layout_with_special_sections)
{
    rp_v1_field f[8];
    rp_v1_event e;
    char buf[1024];
    cr_assert_eq(rp_v1_init(&e, "test_topic", "click", f, 8), 0);
    e.ts_ms = 1700000000123;
    memcpy(e.uuid, "00000000-0000-4000-8000-000000000000", 37);
    cr_assert_eq(rp_v1_set_str(&e, "user", "alice", RP_FIELD_NORMAL), 0);
    cr_assert_eq(rp_v1_set_int(&e, "n", -5, RP_FIELD_NORMAL), 0);
    cr_assert_eq(rp_v1_set_str(&e, "ip", "10.0.0.1", RP_FIELD_OBFUSCATED), 0);
    cr_assert_eq(rp_v1_set_str(&e, "session", "s-123", RP_FIELD_HIGH_CARDINALITY), 0);
    cr_assert_eq(rp_v1_set_bool(&e, "ok", 1, RP_FIELD_NORMAL), 0);
    cr_assert_eq(rp_v1_set_raw(&e, "tags", "[\"a\",1]", RP_FIELD_NORMAL), 0);
    long n = rp_v1_serialize(&e, buf, sizeof buf);
    cr_assert_str_eq(buf,
                     "{\"event_topic\":\"test_topic\",\"event_type\":\"click\",\"event_ts\":1700000000123,"
                     "\"uuid\":\"00000000-0000-4000-8000-000000000000\",\"payload\":{\"user\":\"alice\",\"n\":-5,"
                     "\"ok\":true,\"tags\":[\"a\",1],\"obfuscated_data\":{\"ip\":\"10.0.0.1\"},"
                     "\"interana_excluded\":{\"session\":\"s-123\"}}}");
    json_decref(parse(buf, n));
}

Test(event, set_replaces_get_finds_full_is_refused)
{
    rp_v1_field f[2];
    rp_v1_event e;
    char buf[512];
    cr_assert_eq(rp_v1_init(&e, "t", "y", f, 2), 0);
    cr_assert_eq(strlen(e.uuid), 36);
    cr_assert_eq(e.uuid[14], '4', "version 4: %s", e.uuid);
    cr_assert_eq(rp_v1_set_int(&e, "a", 1, RP_FIELD_NORMAL), 0);
    cr_assert_eq(rp_v1_set_int(&e, "a", 2, RP_FIELD_OBFUSCATED), 0, "replace");
    cr_assert_eq(e.n, 1);
    cr_assert_eq(rp_v1_get(&e, "a")->i, 2);
    cr_assert_eq(rp_v1_get(&e, "a")->kind, RP_FIELD_OBFUSCATED);
    cr_assert_null(rp_v1_get(&e, "b"));
    cr_assert_eq(rp_v1_set_int(&e, "b", 3, RP_FIELD_NORMAL), 0);
    cr_assert_eq(rp_v1_set_int(&e, "c", 4, RP_FIELD_NORMAL), RP_ETOOBIG, "no room for a third field");
    cr_assert_gt(rp_v1_serialize(&e, buf, sizeof buf), 0);
    cr_assert_null(strstr(buf, "interana_excluded"), "empty sections are left out: %s", buf);
}

Test(event, strings_are_escaped_and_round_trip)
{
    static const char *const samples[] = {
        "plain", "quote \" backslash \\ slash /", "line\nfeed\ttab\rcr\b\f", "\x01\x1f ctl",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "",
    };
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        char buf[256];
        rp_json w;
        rp_json_init(&w, buf, sizeof buf);
        rp_json_arr_begin(&w);
        rp_json_cstr(&w, samples[i]);
        rp_json_arr_end(&w);
        long n = rp_json_finish(&w);
        json_t *j = parse(buf, n);
        cr_assert_str_eq(json_string_value(json_array_get(j, 0)), samples[i], "sample %zu: %s", i, buf);
        json_decref(j);
    }
}

Test(event, invalid_utf8_is_refused)
{
    static const char *const bad[] = {
        "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf0\x80\x80\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "ok\xc3", "\xe2\x82",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[64];
        rp_json w;
        rp_json_init(&w, buf, sizeof buf);
        rp_json_cstr(&w, bad[i]);
        cr_assert_eq(rp_json_finish(&w), RP_EINVAL, "bad sample %zu accepted", i);
        cr_assert_eq(rp_json_valid_utf8(bad[i], strlen(bad[i])), 0, "sample %zu", i);
    }
    rp_v1_field f[2];
    rp_v1_event e;
    char buf[512];
    rp_v1_init(&e, "t", "y", f, 2);
    rp_v1_set_str(&e, "k", "\xed\xa0\x80", RP_FIELD_NORMAL);
    cr_assert_eq(rp_v1_serialize(&e, buf, sizeof buf), RP_EINVAL, "a surrogate in a field");
    char nan_buf[32];
    rp_json w;
    rp_json_init(&w, nan_buf, sizeof nan_buf);
    rp_json_double(&w, 0.0 / 0.0);
    cr_assert_eq(rp_json_finish(&w), RP_EINVAL, "NaN is not JSON");
}

/* Every buffer smaller than the text: RP_ETOOBIG, never a write past it. */
Test(event, small_buffers_are_refused_without_overflow)
{
    rp_v1_field f[4];
    rp_v1_event e;
    char full[1024];
    rp_v1_init(&e, "topic", "type", f, 4);
    rp_v1_set_str(&e, "s", "quote\"and\\ctl\x01", RP_FIELD_NORMAL);
    rp_v1_set_str(&e, "o", "x", RP_FIELD_OBFUSCATED);
    long n = rp_v1_serialize(&e, full, sizeof full);
    cr_assert_gt(n, 0);
    for (long cap = 1; cap <= n; cap++) {
        char *b = (char *)malloc((size_t)cap); /* exact size: ASan sees any overflow */
        cr_assert_eq(rp_v1_serialize(&e, b, (size_t)cap), RP_ETOOBIG, "cap %ld", cap);
        free(b);
    }
    char *b = (char *)malloc((size_t)n + 1);
    cr_assert_eq(rp_v1_serialize(&e, b, (size_t)n + 1), n);
    free(b);
}

/* ---- tracker ------------------------------------------------------------ */

typedef struct {
    char last[4096];
    int count;
} capture;

static int capture_sink(const void *data, size_t len, void *arg)
{
    capture *c = (capture *)arg;
    if (len >= sizeof c->last)
        return RP_ETOOBIG;
    memcpy(c->last, data, len);
    c->last[len] = '\0';
    c->count++;
    return 0;
}

Test(event, tracker_merges_contexts_later_wins)
{
    capture cap = { "", 0 };
    rp_tracker t;
    cr_assert_eq(rp_tracker_init(&t, "main", capture_sink, &cap), 0);
    rp_context req = { "request", { "user_id", "path", "org" }, { "42", "\"/a\"", "\"edx\"" }, 3 };
    rp_context course = { "course", { "course_id", "org" }, { "\"c1\"", "\"mitx\"" }, 2 };
    cr_assert_eq(rp_tracker_enter(&t, &req), 0);
    cr_assert_eq(rp_tracker_enter(&t, &course), 0);
    cr_assert_eq(rp_tracker_emit(&t, "video.play", "{\"pos\":1.5}"), 0);
    json_t *j = parse(cap.last, (long)strlen(cap.last));
    cr_assert_str_eq(str_at(j, "name", NULL), "video.play");
    cr_assert_str_eq(str_at(j, "context", "org"), "mitx", "the later context wins");
    cr_assert_str_eq(str_at(j, "context", "course_id"), "c1");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "context"), "user_id")), 42);
    cr_assert_eq(json_real_value(json_object_get(json_object_get(j, "data"), "pos")), 1.5);
    const char *ts = str_at(j, "timestamp", NULL);
    cr_assert(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z', "ISO-8601 UTC: %s", ts);
    json_decref(j);

    cr_assert_eq(rp_tracker_exit(&t, "course"), 0);
    cr_assert_eq(rp_tracker_emit(&t, "x", NULL), 0);
    j = parse(cap.last, (long)strlen(cap.last));
    cr_assert_str_eq(str_at(j, "context", "org"), "edx", "after exit the earlier value is back");
    cr_assert_null(str_at(j, "context", "course_id"));
    json_decref(j);
    cr_assert_eq(rp_tracker_exit(&t, "course"), RP_EINVAL, "not entered any more");
    rp_tracker_destroy(&t);
}

typedef struct {
    rp_tracker *t;
    const char *val;
    int ok;
} thread_arg;

static void *tracker_thread(void *p)
{
    thread_arg *a = (thread_arg *)p;
    char buf[1024], want[64];
    rp_context c = { "thread", { "who" }, { a->val }, 1 };
    snprintf(want, sizeof want, "\"context\":{\"who\":%s}", a->val);
    rp_tracker_enter(a->t, &c);
    a->ok = 1;
    for (int i = 0; i < 2000; i++) {
        rp_json w;
        /* serialize only (the sink is shared): the context must be this thread's */
        rp_iso8601(rp_now_ms(), buf);
        rp__ctx_stack *s = rp__stack(a->t);
        rp_json_init(&w, buf, sizeof buf);
        rp_json_obj_begin(&w);
        rp_json_key(&w, "context");
        rp_json_obj_begin(&w);
        rp_json_key(&w, s->ctx[0]->keys[0]);
        rp_json_raw(&w, s->ctx[0]->values[0], strlen(s->ctx[0]->values[0]));
        rp_json_obj_end(&w);
        rp_json_obj_end(&w);
        if (rp_json_finish(&w) < 0 || !strstr(buf, want) || s->n != 1)
            a->ok = 0;
    }
    rp_tracker_exit(a->t, "thread");
    return NULL;
}

/* Contexts are per thread: two real threads never see each other's. */
Test(event, tracker_contexts_are_per_thread)
{
    capture cap = { "", 0 };
    rp_tracker t;
    pthread_t th[2];
    thread_arg a[2] = { { &t, "\"one\"", 0 }, { &t, "\"two\"", 0 } };
    cr_assert_eq(rp_tracker_init(&t, "main", capture_sink, &cap), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, tracker_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert(a[0].ok && a[1].ok, "a thread saw another thread's context");
    cr_assert_eq(rp_tracker_emit(&t, "main.thread", NULL), 0);
    cr_assert_not_null(strstr(cap.last, "\"context\":{}"), "%s", cap.last);
    rp_tracker_destroy(&t);
}

Test(event, registry_names_and_default)
{
    capture c1 = { "", 0 }, c2 = { "", 0 };
    rp_tracker a, b, dup;
    rp_registry r = { { NULL }, 0 };
    rp_tracker_init(&a, "first", capture_sink, &c1);
    rp_tracker_init(&b, "default", capture_sink, &c2);
    rp_tracker_init(&dup, "first", capture_sink, &c2);
    cr_assert_null(rp_registry_get(&r, NULL));
    cr_assert_eq(rp_registry_add(&r, &a), 0);
    cr_assert_eq(rp_registry_get(&r, NULL), &a, "the first is the default");
    cr_assert_eq(rp_registry_add(&r, &b), 0);
    cr_assert_eq(rp_registry_get(&r, NULL), &b, "unless one is called default");
    cr_assert_eq(rp_registry_get(&r, "first"), &a);
    cr_assert_null(rp_registry_get(&r, "nope"));
    cr_assert_eq(rp_registry_add(&r, &dup), RP_EINVAL, "names are unique");
    rp_tracker_destroy(&a);
    rp_tracker_destroy(&b);
    rp_tracker_destroy(&dup);
}

Test(event, event_platform_fields)
{
    char buf[512];
    rp_json w;
    rp_json_init(&w, buf, sizeof buf);
    rp_ep_begin(&w, "/analytics/button/click/1.0.0", "analytics.click");
    rp_json_key(&w, "button");
    rp_json_cstr(&w, "buy");
    long n = rp_ep_end(&w);
    json_t *j = parse(buf, n);
    cr_assert_str_eq(str_at(j, "$schema", NULL), "/analytics/button/click/1.0.0");
    cr_assert_str_eq(str_at(j, "meta", "stream"), "analytics.click");
    cr_assert_str_eq(str_at(j, "button", NULL), "buy");
    const char *dt = str_at(j, "dt", NULL);
    cr_assert(dt && strlen(dt) == 24 && dt[4] == '-' && dt[10] == 'T' && dt[23] == 'Z', "dt: %s", dt);
    json_decref(j);
}
