/* The daemon's configuration: baseplate's INI section and keys, ours,
 * environment interpolation, and one clear error per bad value. */
#include "helpers.h"

#include "check.h"
#include "config.h"
#include "ini.h"
#include "metrics.h"
#include "sinks/sink.h"

TestSuite(config, .fini = th_cleanup);

static const char *write_ini(const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/test.ini", th_dir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(path, 0600), 0);
    return path;
}

/* What every http section must name: a collector and a key. */
#define REQUIRED "collector.hostname = c.example:80\nkey.name = k\nkey.secret = aHVudGVyMg==\n"

/* Load text as queue "main"; return rc, err in err[]. */
static int load(const char *text, pub_config *c, char *err, size_t errlen)
{
    pub_config_defaults(c, "main");
    int rc = pub_config_load(c, write_ini(text), err, errlen);
    return rc ? rc : pub_config_check(c, err, errlen);
}

/* A config file holding the secret, readable by others: refused, or only a
 * warning when allowed; without a secret in it, its mode does not matter. */
Test(config, exposed_secret_refused)
{
    pub_config c;
    char err[512] = "";
    const char *path = write_ini("[event-publisher:main]\nkey.secret = aHVudGVyMg==\n");
    cr_assert_eq(chmod(path, 0640), 0);
    pub_config_defaults(&c, "main");
    cr_assert_eq(pub_config_load(&c, path, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "readable by group or others (mode 640)"), "%s", err);
    pub_config_defaults(&c, "main");
    c.allow_insecure = 1;
    cr_assert_eq(pub_config_load(&c, path, err, sizeof err), 0);
    cr_assert_not_null(strstr(c.warning, "chmod 600"), "%s", c.warning);
    path = write_ini("[event-publisher:main]\nkey.name = k\n");
    cr_assert_eq(chmod(path, 0644), 0);
    pub_config_defaults(&c, "main");
    cr_assert_eq(pub_config_load(&c, path, err, sizeof err), 0, "%s", err);
}

Test(config, baseplate_example_config)
{
    pub_config c;
    char err[512] = "";
    setenv("COLLECTOR_HOST", "events.example.com", 1);
    int rc = load("[app:main]\nfactory = x\n\n"
                  "[event-publisher:main]\n"
                  "collector.hostname = ${COLLECTOR_HOST}\n"
                  "collector.version = 2j\n"
                  "key.name = TestKey\n"
                  "key.secret = aHVudGVyMg==\n"
                  "; a comment\n"
                  "metrics.namespace = events.main\n"
                  "metrics.endpoint = 127.0.0.1:8125\n"
                  "max_queue_size = 500\n",
                  &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(c.collector_host, "events.example.com");
    cr_assert_str_eq(c.collector_version, "2j");
    cr_assert_str_eq(c.scheme, "https", "baseplate's default");
    cr_assert_str_eq(c.key_name, "TestKey");
    cr_assert_eq(c.key_secret_len, 7);
    cr_assert_eq(memcmp(c.key_secret, "hunter2", 7), 0);
    cr_assert_eq(c.max_queue_size, 500);
    cr_assert_eq(c.batch_max_bytes, 500 * 1024);
    cr_assert_eq(c.batch_max_age_ms, 1000);
    cr_assert_eq(c.compression, PUB_GZIP, "what baseplate sends; zstd is opt-in");
    cr_assert_eq(c.delivery, PUB_GUARANTEED);
    cr_assert_eq(c.sign_timestamp, -1, "not set: auto");
    cr_assert_eq(pub_config_stamps(&c), 1, "/v2j is ringpub's wire: signed in ringpub's form");
    snprintf(c.collector_version, sizeof c.collector_version, "2");
    cr_assert_eq(pub_config_stamps(&c), 0, "gzip to /v2: baseplate's wire, its signature covers the body only");
    c.compression = PUB_ZSTD;
    cr_assert_eq(pub_config_stamps(&c), 1, "zstd: ringpub's wire");
    c.sign_timestamp = 0;
    cr_assert_eq(pub_config_stamps(&c), 0, "set: as set");
}

/* Issue 14: a section without a collector or key used to post to
 * 127.0.0.1:8321 signed with the public development key. Now it is one
 * error naming what is missing; the development defaults serve only a
 * daemon started without a config file. */
Test(config, baseplate_required_keys)
{
    pub_config c;
    char err[512] = "";
    cr_assert_neq(load("[event-publisher:main]\nmax_queue_size = 10\n", &c, err, sizeof err), 0);
    cr_assert_str_eq(err, "missing required keys: collector.hostname, key.name, key.secret (or key.secret_file) "
                          "(baseplate's [event-publisher:main] names its collector and key)");
    cr_assert_neq(load("[event-publisher:main]\ncollector.hostname = h\nkey.name = k\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "missing required key: key.secret"), "%s", err);
    cr_assert_neq(load("[event-publisher:main]\nsink = file\nprocessors = route\nroute.r.match = *\n", &c, err,
                       sizeof err), 0, "route r posts to the (missing) collector");
    cr_assert_not_null(strstr(err, "collector.hostname"), "%s", err);
    cr_assert_eq(load("[event-publisher:main]\nsink = jetstream\n", &c, err, sizeof err), 0,
                 "JetStream needs no collector nor key: %s", err);
    cr_assert_eq(c.key_secret_len, 0, "not the development key");
    pub_config_defaults(&c, "main");
    cr_assert_eq(pub_config_check(&c, err, sizeof err), 0, "no config file: the demo's defaults: %s", err);
    cr_assert_str_eq(c.scheme, "http");
    cr_assert_eq(c.compression, PUB_ZSTD);
}

Test(config, our_keys_with_units)
{
    pub_config c;
    char err[512] = "";
    int rc = load("[event-publisher:main]\n"
                  "batch.max_bytes = 1MiB\nbatch.max_age = 250ms\ncompression = gzip\n"
                  "compression.level = 9\ndelivery = hasty\nretry.budget = 2m\n"
                  "retry.backoff_cap = 1.5s\npost.timeout = 10 seconds\ninflight.max = 8\n"
                  "spool.dir = /tmp/x\nspool.max_bytes = 2GiB\nring.capacity = 8MiB\n"
                  "ring.max_event = 64KiB\nsignature.timestamp = true\nring.group = events\n"
                  "tls.ca_file = /etc/ca.pem\ntls.client_cert = /etc/c.pem\ntls.client_key = /etc/k.pem\n"
                  "sink = jetstream\njetstream.url = nats://a:1,nats://b:2\njetstream.subject = ev.x\n",
                  &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(c.ring_group, "events");
    cr_assert_eq(c.tls_verify, 1, "verification is on unless turned off");
    cr_assert_str_eq(c.tls_ca_file, "/etc/ca.pem");
    cr_assert_str_eq(c.tls_client_cert, "/etc/c.pem");
    cr_assert_str_eq(c.tls_client_key, "/etc/k.pem");
    cr_assert_eq(c.sink, PUB_SINK_JETSTREAM);
    cr_assert_str_eq(c.js_url, "nats://a:1,nats://b:2");
    cr_assert_str_eq(c.js_subject, "ev.x");
    cr_assert_eq(c.batch_max_bytes, 1 << 20);
    cr_assert_eq(c.batch_max_age_ms, 250);
    cr_assert_eq(c.compression, PUB_GZIP);
    cr_assert_eq(c.compression_level, 9);
    cr_assert_eq(c.delivery, PUB_HASTY);
    cr_assert_eq(c.retry_budget_ms, 120000);
    cr_assert_eq(c.backoff_cap_ms, 1500);
    cr_assert_eq(c.post_timeout_ms, 10000);
    cr_assert_eq(c.inflight_max, 8);
    cr_assert_str_eq(c.spool_dir, "/tmp/x");
    cr_assert_eq(c.spool_max_bytes, 2ull << 30);
    cr_assert_eq(c.ring_capacity, 8 << 20);
    cr_assert_eq(c.ring_max_event, 65536);
    cr_assert_eq(c.sign_timestamp, 1);
}

/* Each bad value is refused with a message naming the key and line. */
Test(config, bad_values_name_the_key)
{
    static const struct { const char *line, *needle; } bad[] = {
        { "collector.version = 3", "collector.version" },
        { "collector.scheme = ftp", "collector.scheme" },
        { "key.secret = !!!notbase64", "key.secret" },
        { "max_queue_size = -5", "max_queue_size" },
        { "max_queue_size = 12abc", "max_queue_size" },
        { "batch.max_bytes = 10 parsecs", "batch.max_bytes" },
        { "batch.max_bytes = 999999GiB", "batch.max_bytes" },
        { "batch.max_age = 0ms", "batch.max_age" },
        { "compression = lz4", "compression" },
        { "delivery = maybe", "delivery" },
        { "post.timeout = 1.0001ms", "post.timeout" },
        { "signature.timestamp = perhaps", "signature.timestamp" },
        { "retry.jitter = some", "retry.jitter" },
        { "collector.hostname = http://events.example.com", "a URL; write the host" },
        { "collector.hostname = events.example.com/v2", "no path" },
        { "collector.hostname = events.example.com:http", "port is not a number" },
        { "collector.hostname = [::1", "closing ]" },
        { "retry.budget = 0", "\"0\" has no unit: write e.g. 0ms, 0s or 0m" },
        { "no.such.key = 1", "unknown key" },
        { "collector.hostname = ${NO_SUCH_VAR_RINGPUB}", "NO_SUCH_VAR_RINGPUB is not set" },
        { "collector.hostname = ${UNTERMINATED", "bad variable" },
        { "key.secret_file = /nonexistent/secret", "key.secret_file" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[256], err[512] = "";
        pub_config c;
        snprintf(text, sizeof text, "[event-publisher:main]\nkey.name = k\n%s\n", bad[i].line);
        cr_assert_neq(load(text, &c, err, sizeof err), 0, "accepted: %s", bad[i].line);
        cr_assert_not_null(strstr(err, bad[i].needle), "\"%s\": message \"%s\"", bad[i].line, err);
        cr_assert_not_null(strstr(err, "line 3"), "no line number: %s", err);
    }
}

Test(config, secret_never_in_messages)
{
    pub_config c;
    char err[512] = "";
    cr_assert_neq(load("[event-publisher:main]\nkey.secret = c2VjcmV0LXZhbHVl!\n", &c, err, sizeof err), 0);
    cr_assert_null(strstr(err, "c2VjcmV0"), "%s", err);
}

Test(config, secret_file_must_be_private)
{
    char path[256], text[512], err[512] = "";
    pub_config c;
    snprintf(path, sizeof path, "%s/secret", th_dir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("aHVudGVyMg==\n", f);
    fclose(f);
    chmod(path, 0644);
    snprintf(text, sizeof text, "[event-publisher:main]\ncollector.hostname = h\nkey.name = k\nkey.secret_file = %s\n",
             path);
    cr_assert_neq(load(text, &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "readable only by its owner"), "%s", err);
    chmod(path, 0600);
    cr_assert_eq(load(text, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.key_secret_len, 7);
}

Test(config, file_level_errors)
{
    pub_config c;
    char err[512] = "";
    cr_assert_neq(load("[event-publisher:other]\nkey.name = x\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "no [event-publisher:main] section"), "%s", err);
    cr_assert_neq(load("key.name = x\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "outside any [section]"), "%s", err);
    cr_assert_neq(load("[event-publisher:main\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "malformed section"), "%s", err);
    cr_assert_neq(load("[event-publisher:main]\njust words\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "expected 'key = value'"), "%s", err);
    static char longline[INI_LINE_MAX + 100];
    memset(longline, 'a', sizeof longline - 1);
    cr_assert_neq(load(longline, &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "longer than"), "%s", err);
    pub_config_defaults(&c, "main");
    cr_assert_neq(pub_config_load(&c, "/nonexistent/x.ini", err, sizeof err), 0);
    cr_assert_str_eq(err, "/nonexistent/x.ini: No such file or directory", "the path once");
}

/* Issue 14: duplicates are refused (as Python's configparser does), a
 * directory is named as such, and what is read is capped: /dev/zero used
 * to grow the daemon by 1.6 GB a second. */
Test(config, duplicates_directories_and_endless_files)
{
    pub_config c;
    char err[512] = "";
    cr_assert_neq(load("[event-publisher:main]\nkey.name = a\nbatch.max_age = 1s\nkey.name = b\n", &c, err,
                       sizeof err), 0);
    cr_assert_not_null(strstr(err, "line 4: key.name is set twice in [event-publisher:main] (first on line 2)"),
                       "%s", err);
    cr_assert_neq(load("[event-publisher:main]\nkey.name = a\n[other]\nx = 1\n[event-publisher:main]\n"
                       "key.secret = aHVudGVyMg==\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "line 5: section [event-publisher:main] appears twice (first on line 1)"),
                       "%s", err);
    cr_assert_eq(load("[a]\nx = 1\n[b]\nx = 1\n[event-publisher:main]\n" REQUIRED, &c, err, sizeof err),
                 0, "the same key in two sections is fine: %s", err);
    pub_config_defaults(&c, "main");
    cr_assert_neq(pub_config_load(&c, th_dir(), err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "a directory, not a config file"), "%s", err);
    cr_assert_eq(strstr(err, th_dir()), err, "%s", err);
    cr_assert_neq(pub_config_load(&c, "/dev/zero", err, sizeof err), 0);
    cr_assert_str_eq(err, "/dev/zero: more than 1048576 bytes: not a config file");
}

Test(config, cross_key_checks)
{
    pub_config c;
    char err[512] = "";
    cr_assert_neq(load("[event-publisher:main]\n" REQUIRED "batch.max_bytes = 50KiB\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "batch.max_bytes"), "%s", err);
    cr_assert_neq(load("[event-publisher:main]\n" REQUIRED "metrics.endpoint = nohost\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "metrics.endpoint"), "%s", err);
    cr_assert_neq(load("[event-publisher:main]\n" REQUIRED "jetstream.by_stream = true\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "jetstream.unit = event"), "%s", err);
    cr_assert_neq(load("[event-publisher:main]\n" REQUIRED "tls.client_cert = /c.pem\n", &c, err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "tls.client_key"), "%s", err);
}

Test(config, env_expansion)
{
    char out[64], err[256];
    setenv("RP_T_A", "alpha", 1);
    cr_assert_eq(ini_expand_env("x-$RP_T_A-${RP_T_A}-$$", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(out, "x-alpha-alpha-$");
    cr_assert_eq(ini_expand_env("$RP_T_A$RP_T_A$RP_T_A$RP_T_A", out, 12, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "longer than"));
}

/* route.R.* groups: created in order of first appearance, fields typed like
 * the queue's own keys; `processors` must name route exactly when routes
 * exist. */
Test(config, routes_parse_in_order)
{
    pub_config c;
    char err[512] = "";
    int rc = load("[event-publisher:main]\n" REQUIRED "processors = validate, route\nroute.by = event_topic\n"
                  "route.audit.match = audit.*, security.*\nroute.audit.sink = file\n"
                  "route.audit.file.path = /var/log/audit.jsonl\n"
                  "route.eg.sink = eventgate\nroute.eg.match = eg.*\n"
                  "route.eg.eventgate.url = http://127.0.0.1:1/v1/events\n"
                  "route.js-1.match = js.*\nroute.js-1.sink = jetstream\nroute.js-1.jetstream.subject = s.x\n"
                  "route.c_2.match = *\nroute.c_2.collector.hostname = other:80\n",
                  &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(c.nroutes, 4);
    cr_assert_str_eq(c.route_by, "event_topic");
    cr_assert_str_eq(c.routes[0].name, "audit");
    cr_assert_str_eq(c.routes[0].match, "audit.*, security.*");
    cr_assert_eq(c.routes[0].sink, PUB_SINK_FILE);
    cr_assert_str_eq(c.routes[0].file_path, "/var/log/audit.jsonl");
    cr_assert_str_eq(c.routes[1].name, "eg");
    cr_assert_eq(c.routes[1].sink, PUB_SINK_EVENTGATE);
    cr_assert_str_eq(c.routes[1].eventgate_url, "http://127.0.0.1:1/v1/events");
    cr_assert_eq(c.routes[2].sink, PUB_SINK_JETSTREAM);
    cr_assert_str_eq(c.routes[2].js_subject, "s.x");
    cr_assert_eq(c.routes[3].sink, PUB_SINK_HTTP, "http unless said");
    cr_assert_str_eq(c.routes[3].collector_host, "other:80");
}

Test(config, route_errors_name_the_key)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "route.a.match = x\n", "processors has no route" },
        { "processors = route\n", "needs at least one route" },
        { "processors = route\nroute.a.sink = file\n", "route.a.match" },
        { "processors = route\nroute.a/b.match = x\n", "route.a/b.match: route names are" },
        { "processors = route\nroute.a.match = x\nroute.a.frob = 1\n", "route.a.frob: unknown key" },
        { "processors = route\nroute.a.match = x\nroute.a.sink = kafka\n", "route.a.sink: \"kafka\" is not one of" },
        { "processors = route\nroute.r1.match=x\nroute.r2.match=x\nroute.r3.match=x\nroute.r4.match=x\n"
          "route.r5.match=x\nroute.r6.match=x\nroute.r7.match=x\nroute.r8.match=x\nroute.r9.match=x\n",
          "route.r9.match: at most 8 routes" },
        { "processors = route\nroute..match = x\n", "route names are" },
        { "processors = route\nroute.abcdefghijabcdefghijabcdefghijabc.match = x\n", "route names are 1-32" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pub_config c;
        char err[512] = "", text[1024];
        snprintf(text, sizeof text, "[event-publisher:main]\n" REQUIRED "%s", cases[i].text);
        cr_assert_eq(load(text, &c, err, sizeof err), -1, "case %zu accepted", i);
        cr_assert_not_null(strstr(err, cases[i].want), "case %zu: %s", i, err);
    }
}

/* Under systemd (ringpub@.service: StateDirectory=) the spool defaults to the
 * unit's state directory, the first of a list; elsewhere to /var/tmp. */
Test(config, spool_defaults_to_the_state_directory)
{
    pub_config c;
    unsetenv("STATE_DIRECTORY");
    pub_config_defaults(&c, "main");
    cr_expect_str_eq(c.spool_dir, "/var/tmp/ringpub");
    setenv("STATE_DIRECTORY", "/var/lib/ringpub:/var/lib/other", 1);
    pub_config_defaults(&c, "main");
    cr_expect_str_eq(c.spool_dir, "/var/lib/ringpub");
    setenv("STATE_DIRECTORY", "relative", 1); /* not what systemd sets: ignored */
    pub_config_defaults(&c, "main");
    cr_expect_str_eq(c.spool_dir, "/var/tmp/ringpub");
    unsetenv("STATE_DIRECTORY");
}

/* The defaults come from the key table: without a config file the
 * development ones, with one baseplate's; the values the daemon ran on before
 * the table held them. */
Test(config, defaults_from_the_table)
{
    pub_config c;
    char err[700];
    pub_config_defaults(&c, "q");
    cr_expect_str_eq(c.collector_host, PUB_DEV_COLLECTOR);
    cr_expect_str_eq(c.collector_version, "2j");
    cr_expect_str_eq(c.scheme, "http");
    cr_expect_str_eq(c.key_name, PUB_DEV_KEY_NAME);
    cr_expect_gt(c.key_secret_len, 0);
    cr_expect_eq(c.batch_max_age_ms, 200);
    cr_expect_eq(c.compression, PUB_ZSTD);
    cr_expect_eq(c.batch_max_bytes, 500 * 1024);
    cr_expect_eq(c.max_queue_size, 10000);
    cr_expect_eq(c.retry_budget_ms, 5 * 60 * 1000);
    cr_expect_eq(c.backoff_base_ms, 1000);
    cr_expect_eq(c.backoff_cap_ms, 5000);
    cr_expect_eq(c.post_timeout_ms, 3000);
    cr_expect_eq(c.inflight_max, 4);
    cr_expect_eq(c.spool_max_bytes, (uint64_t)1 << 30);
    cr_expect_eq(c.validate_max_depth, 32);
    cr_expect_eq(c.tls_verify, 1);
    cr_expect_eq(c.delivery, PUB_GUARANTEED);
    cr_expect_str_eq(c.eventgate_url, "http://127.0.0.1:8192/v1/events");
    cr_expect_str_eq(c.js_url, "nats://127.0.0.1:4222");
    cr_expect_str_eq(c.js_subject, "events.q");
    cr_expect_eq(c.ring_capacity, RP_DEFAULT_CAPACITY);
    cr_expect_eq(c.ring_max_event, RP_DEFAULT_MAX_EVENT);
    cr_expect_eq(c.compression_level, -1);
    cr_expect_eq(c.sign_timestamp, -1);
    /* a file starts from baseplate's wire, and names its collector and key */
    cr_assert_eq(pub_config_load(&c, write_ini("[event-publisher:q]\nspool.dir = /tmp/x\n"), err, sizeof err), 0,
                 "%s", err);
    cr_expect_str_eq(c.collector_host, "");
    cr_expect_str_eq(c.key_name, "");
    cr_expect_eq(c.key_secret_len, 0);
    cr_expect_str_eq(c.collector_version, "2");
    cr_expect_str_eq(c.scheme, "https");
    cr_expect_eq(c.batch_max_age_ms, 1000);
    cr_expect_eq(c.compression, PUB_GZIP);
    cr_expect_eq(c.batch_max_bytes, 500 * 1024);
}

/* The lines between `<!-- name:begin -->` and `<!-- name:end -->` of the
 * repository's file rel (malloc'd). */
static char *doc_block(const char *rel, const char *name)
{
    char path[1024], line[4096], begin[128], end[128], *doc = NULL;
    size_t doclen = 0;
    int in = 0;
    snprintf(path, sizeof path, "%s", __FILE__);
    snprintf(strrchr(path, '/'), sizeof path - (size_t)(strrchr(path, '/') - path), "/../%s", rel);
    snprintf(begin, sizeof begin, "<!-- %s:begin -->\n", name);
    snprintf(end, sizeof end, "<!-- %s:end -->\n", name);
    FILE *f = fopen(path, "r"), *d = open_memstream(&doc, &doclen);
    cr_assert_not_null(f, "%s", path);
    cr_assert_not_null(d);
    while (fgets(line, sizeof line, f)) {
        if (strcmp(line, end) == 0)
            in = 0;
        if (in)
            fputs(line, d);
        if (strcmp(line, begin) == 0)
            in = 1;
    }
    fclose(f);
    fclose(d);
    return doc;
}

/* What fn prints (malloc'd). */
static char *printed(void (*fn)(FILE *))
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    cr_assert_not_null(m);
    fn(m);
    fclose(m);
    cr_assert_gt(len, 1000);
    return out;
}

/* docs/configuration.md's key table is `ringpub --help-config`, printed
 * from the table the parser reads; docs/operations.md's metrics table is
 * `ringpub --help-metrics`, from the table statsd and /metrics read: the
 * documentation cannot drift from the code. */
Test(config, docs_tables_are_the_help_output)
{
    char *doc = doc_block("docs/configuration.md", "config-keys"), *help = printed(pub_config_help);
    cr_expect_str_eq(doc, help, "docs/configuration.md's table differs from ringpub --help-config: run "
                                "zig-out/bin/ringpub --help-config | tools/readme-block config-keys docs/configuration.md");
    free(doc);
    free(help);
    doc = doc_block("docs/operations.md", "metrics"), help = printed(pub_metrics_help);
    cr_expect_str_eq(doc, help, "docs/operations.md's table differs from ringpub --help-metrics: run "
                                "zig-out/bin/ringpub --help-metrics | tools/readme-block metrics docs/operations.md");
    free(doc);
    free(help);
}

/* Every `sink` value the config takes has its sink registered under the same
 * name (publisher/sinks/registry.c), with the parts every sink must have. */
Test(config, every_sink_is_registered)
{
    static const char *const names[] = { "http", "jetstream", "file", "eventgate" }; /* config.c's SINKS */
    for (int i = 0; i < 4; i++) {
        const pub_sink_ops *s = pub_sink_ops_of((pub_sink)i);
        cr_expect_str_eq(s->name, names[i]);
        cr_expect(s->describe && s->send, "sink %s lacks describe or send", s->name);
        pub_config c;
        char err[700];
        pub_config_defaults(&c, "q");
        cr_assert_eq(pub_config_set(&c, "sink", names[i], err, sizeof err), 0, "%s", err);
        cr_expect_eq(c.sink, (pub_sink)i, "sink = %s parsed as %d", names[i], (int)c.sink);
    }
}
