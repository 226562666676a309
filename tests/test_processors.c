/* The processor chain (publisher/process.c) and the error stream's events
 * (publisher/errstream.c): what passes, what is filtered, what fails and
 * why; output checked by parsing it back with jansson. */
#include "helpers.h"

#include "check.h"
#include "errstream.h"
#include "process.h"

#include <jansson.h>
#include <sodium.h>

TestSuite(processors, .fini = th_cleanup);

static pub_procs chain(const char *procs, const char *required, const char *keep, const char *drop)
{
    pub_procs p;
    char err[300];
    cr_assert_eq(pub_procs_parse(&p, procs, required, keep, drop, 4, 1000, err, sizeof err), 0, "%s", err);
    return p;
}

static pub_proc_result run(const pub_procs *p, const char *ev, char *why, const char **which, char **out)
{
    const char *o;
    size_t n;
    int owned;
    int route;
    pub_proc_result r = pub_process(p, ev, strlen(ev), 1700000000123, &o, &n, &owned, &route, which, why, 300);
    *out = strndup(o, n);
    if (owned)
        free((void *)o);
    return r;
}

Test(processors, parse_refuses_unknown_processors)
{
    pub_procs p;
    char err[300];
    cr_assert_eq(pub_procs_parse(&p, "validate, frobnicate", "", "", "", 4, 0, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "frobnicate"), "%s", err);
    cr_assert_eq(pub_procs_parse(&p, "", "", "", "", 4, 0, err, sizeof err), 0);
    cr_assert_eq(p.n, 0, "no processors: events pass untouched");
}

Test(processors, validate_names_what_is_wrong)
{
    pub_procs p = chain("validate", "$schema, meta.stream, dt", "", "");
    static const struct { const char *ev, *needle; } bad[] = {
        { "{\"meta\":{\"stream\":\"s\"},\"dt\":\"x\"}", "required field $schema" },
        { "{\"$schema\":\"/a\",\"meta\":{},\"dt\":\"x\"}", "required field meta.stream" },
        { "{\"$schema\":\"/a\",\"meta\":\"flat\",\"dt\":\"x\"}", "required field meta.stream" },
        { "[1,2]", "not a JSON object" },
        { "{\"a\":", "not valid JSON" },
        { "{\"a\":1,\"a\":2}", "not valid JSON" },
        { "{\"$schema\":\"/a\",\"meta\":{\"stream\":\"s\"},\"dt\":\"x\",\"d\":[[[[1]]]]}", "nesting deeper" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char why[300], *out;
        const char *which;
        cr_assert_eq(run(&p, bad[i].ev, why, &which, &out), PROC_FAILED, "accepted: %s", bad[i].ev);
        cr_assert_str_eq(which, "validate");
        cr_assert_not_null(strstr(why, bad[i].needle), "%s: %s", bad[i].ev, why);
        free(out);
    }
    char why[300], *out;
    const char *which;
    const char *good = "{\"$schema\":\"/a\",\"meta\":{\"stream\":\"s\"},\"dt\":\"x\",\"d\":[[1]]}";
    cr_assert_eq(run(&p, good, why, &which, &out), PROC_PASS, "%s", why);
    cr_assert_str_eq(out, good, "validate does not rewrite");
    free(out);
    char big[1200];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{', big[sizeof big - 2] = '}', big[sizeof big - 1] = '\0';
    pub_procs q = chain("validate", "", "", "");
    cr_assert_eq(run(&q, big, why, &which, &out), PROC_FAILED);
    cr_assert_not_null(strstr(why, "over validate.max_bytes"), "%s", why);
    free(out);
}

Test(processors, set_meta_dt_stamps_the_receive_time)
{
    pub_procs p = chain("set_meta_dt", "", "", "");
    char why[300], *out;
    const char *which;
    cr_assert_eq(run(&p, "{\"a\":1}", why, &which, &out), PROC_PASS, "%s", why);
    cr_assert_str_eq(out, "{\"a\":1,\"meta\":{\"dt\":\"2023-11-14T22:13:20.123Z\"}}");
    free(out);
    cr_assert_eq(run(&p, "{\"meta\":{\"stream\":\"s\",\"dt\":\"old\"}}", why, &which, &out), PROC_PASS);
    cr_assert_str_eq(out, "{\"meta\":{\"stream\":\"s\",\"dt\":\"2023-11-14T22:13:20.123Z\"}}");
    free(out);
    cr_assert_eq(run(&p, "{\"meta\":7}", why, &which, &out), PROC_FAILED);
    cr_assert_str_eq(which, "set_meta_dt");
    free(out);
}

Test(processors, keep_and_drop_by_name_patterns)
{
    pub_procs keep = chain("keep", "", "app.*, audit", "");
    pub_procs drop = chain("drop", "", "", "debug.*");
    static const struct { const char *ev; pub_proc_result keep, drop; } cases[] = {
        { "{\"meta\":{\"stream\":\"app.click\"}}", PROC_PASS, PROC_PASS },
        { "{\"name\":\"audit\"}", PROC_PASS, PROC_PASS },
        { "{\"event_type\":\"debug.trace\"}", PROC_FILTERED, PROC_FILTERED },
        { "{\"event_topic\":\"other\"}", PROC_FILTERED, PROC_PASS },
        { "{\"x\":1}", PROC_FILTERED, PROC_PASS },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char why[300], *out;
        const char *which;
        cr_assert_eq(run(&keep, cases[i].ev, why, &which, &out), cases[i].keep, "keep %s", cases[i].ev);
        free(out);
        cr_assert_eq(run(&drop, cases[i].ev, why, &which, &out), cases[i].drop, "drop %s", cases[i].ev);
        free(out);
    }
}

Test(processors, error_events_carry_reason_processor_queue_and_original)
{
    pub_buf b;
    json_error_t e;
    cr_assert_geq(sodium_init(), 0);
    pub_buf_init(&b, 1 << 20);
    cr_assert_eq(pub_err_add(&b, "main", "validate", "required field dt is missing", "{\"a\":\"\\u00e9\"}", 14,
                             1700000000123), 0);
    cr_assert_eq(pub_err_add(&b, "main", "validate", "not valid JSON", "\xff\xfe", 2, 1700000000123), 0);
    char *nl = memchr(b.data, '\n', b.len);
    cr_assert_not_null(nl);
    json_t *j = json_loadb((const char *)b.data, (size_t)(nl - (char *)b.data), 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "$schema")), "/error/1.0.0");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "meta"), "stream")), "ringpub.error");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "meta"), "dt")), "2023-11-14T22:13:20.123Z");
    cr_assert_str_eq(json_string_value(json_object_get(j, "queue")), "main");
    cr_assert_str_eq(json_string_value(json_object_get(j, "processor")), "validate");
    cr_assert_str_eq(json_string_value(json_object_get(j, "raw_event")), "{\"a\":\"\\u00e9\"}");
    json_decref(j);
    j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &e);
    cr_assert_not_null(j, "%s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "raw_event_base64")), "//4=", "not UTF-8: base64");
    json_decref(j);

    char path[300];
    snprintf(path, sizeof path, "%s/errors.jsonl", th_dir());
    size_t len = b.len;
    cr_assert_eq(pub_err_flush(&b, path), 0);
    cr_assert_eq(b.len, 0, "flushed");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((size_t)st.st_size, len);
    cr_assert_eq(st.st_mode & 0777, 0600);
    pub_buf_free(&b);
}

static int route_of(const pub_procs *p, const char *ev)
{
    const char *o, *which;
    size_t n;
    int owned, route;
    char why[300];
    cr_assert_eq(pub_process(p, ev, strlen(ev), 0, &o, &n, &owned, &route, &which, why, sizeof why), PROC_PASS,
                 "%s", why);
    cr_assert_eq(owned, 0, "route does not rewrite the event");
    return route;
}

/* route: the first route whose patterns match the event's name (or the
 * string at route.by); no match, or no such string: -1, the queue's sink. */
Test(processors, route_picks_the_first_matching_route)
{
    pub_config c;
    pub_procs p;
    char err[300];
    pub_config_defaults(&c, "q");
    snprintf(c.processors, sizeof c.processors, "route");
    c.nroutes = 2;
    snprintf(c.routes[0].name, sizeof c.routes[0].name, "audit");
    snprintf(c.routes[0].match, sizeof c.routes[0].match, "audit.*, security.login");
    snprintf(c.routes[1].name, sizeof c.routes[1].name, "all");
    snprintf(c.routes[1].match, sizeof c.routes[1].match, "*.*");
    cr_assert_eq(pub_procs_configure(&p, &c, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(route_of(&p, "{\"meta\":{\"stream\":\"audit.x\"}}"), 0);
    cr_assert_eq(route_of(&p, "{\"event_type\":\"security.login\"}"), 0);
    cr_assert_eq(route_of(&p, "{\"event_type\":\"security.logout\"}"), 1, "the later route catches the rest");
    cr_assert_eq(route_of(&p, "{\"event_type\":\"plain\"}"), -1, "no match: the queue's own sink");
    cr_assert_eq(route_of(&p, "{\"event_type\":7}"), -1, "not a string: the queue's own sink");

    snprintf(c.route_by, sizeof c.route_by, "payload.topic");
    cr_assert_eq(pub_procs_configure(&p, &c, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(route_of(&p, "{\"event_type\":\"audit.x\",\"payload\":{\"topic\":\"none\"}}"), -1,
                 "route.by replaces the name");
    cr_assert_eq(route_of(&p, "{\"payload\":{\"topic\":\"audit.y\"}}"), 0);
    cr_assert_eq(route_of(&p, "{\"event_type\":\"audit.x\"}"), -1, "route.by missing: the queue's own sink");
}

/* Processors after route still apply: a dropped event is filtered whatever
 * its route. */
Test(processors, route_then_drop_filters)
{
    pub_config c;
    pub_procs p;
    char err[300], why[300];
    const char *o, *which;
    size_t n;
    int owned, route;
    pub_config_defaults(&c, "q");
    snprintf(c.processors, sizeof c.processors, "route, drop");
    snprintf(c.drop_match, sizeof c.drop_match, "audit.debug");
    c.nroutes = 1;
    snprintf(c.routes[0].name, sizeof c.routes[0].name, "audit");
    snprintf(c.routes[0].match, sizeof c.routes[0].match, "audit.*");
    cr_assert_eq(pub_procs_configure(&p, &c, 0, err, sizeof err), 0, "%s", err);
    const char *ev = "{\"name\":\"audit.debug\"}";
    cr_assert_eq(pub_process(&p, ev, strlen(ev), 0, &o, &n, &owned, &route, &which, why, sizeof why),
                 PROC_FILTERED);
    cr_assert_eq(route_of(&p, "{\"name\":\"audit.login\"}"), 0);
}
