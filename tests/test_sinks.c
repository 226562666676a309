/* Sinks other than plain HTTP, with the real binaries: an HTTPS collector
 * whose certificate is verified, and sink = file. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(sinks, .fini = rig_fini);

/* HTTPS: ringpub verifies the collector's certificate. With the system CAs
 * a self-signed collector is refused (no HTTP answer: the batches are
 * spooled, nothing is delivered); with tls.ca_file naming its certificate,
 * the spooled batches and new ones go through. */
Test(sinks, https_collector_is_verified, .init = rig_setup)
{
    int port = free_port();
    char cert[300], key[300], cmd[1000], a1[320], a2[320], extra[500];
    uint64_t acc[MAXP];
    producers p;
    tally t;
    snprintf(cert, sizeof cert, "%s", path_in("cert.pem"));
    snprintf(key, sizeof key, "%s", path_in("key.pem"));
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null", key, cert);
    cr_assert_eq(system(cmd), 0, "openssl could not make a certificate");
    cr_assert_eq(chmod(key, 0600), 0);
    snprintf(a1, sizeof a1, "--tls-cert=%s", cert);
    snprintf(a2, sizeof a2, "--tls-key=%s", key);
    pid_t col = rig_collector(port, a1, a2);
    rig_config(port, "collector.scheme = https\n");
    pid_t d = rig_daemon();
    start_producers(&p, 1, 500, 30000);
    join_producers(&p, acc);
    await_spooled("an unverifiable collector got the batches");
    stop(d, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, 0, "delivered to a collector that failed verification");

    snprintf(extra, sizeof extra, "collector.scheme = https\ntls.ca_file = %s\n", cert);
    rig_config(port, extra);
    d = rig_daemon();
    rig_deliver_and_stop(&t, 1, acc, acc[0], d, col);
}

/* sink = file: every event as a JSON line in a local file, fsynced before
 * its ring space goes; no collector at all. */
Test(sinks, file_sink_gets_every_event_once, .init = rig_setup)
{
    uint64_t acc[MAXP];
    producers p;
    tally t;
    rig_config(1, "sink = file\n");
    pid_t d = rig_daemon();
    start_producers(&p, 2, 5000, 30000);
    join_producers(&p, acc);
    rig_out = "spool/e2e.events.jsonl";
    await_delivered(&t, 2, acc, sum(acc, 2));
    stop(d, SIGTERM);
    count_delivered(&t, 2, acc);
    cr_assert_eq(t.unique, 10000);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(t.bad, 0);
}

/* sink = file writes each event as the producer put it — not parsed and
 * re-serialized (spacing, key order and escapes kept) — one per line: a line
 * break between JSON tokens becomes a space. Both body versions. */
Test(sinks, file_sink_writes_events_as_put, .init = rig_setup)
{
    static const char *const events[] = {
        "{\"p\": 0, \"s\": 0, \"z\": 1, \"a\": \"caf\\u00e9\"}",
        "{\"p\":0,\"s\":1,\n  \"nested\": {\"k\": [1, 2.50, true]}}",
        "{ \"p\" : 0 ,\r\n \"s\" : 2 }",
    };
    static const char *const want =
        "{\"p\": 0, \"s\": 0, \"z\": 1, \"a\": \"caf\\u00e9\"}\n"
        "{\"p\":0,\"s\":1,   \"nested\": {\"k\": [1, 2.50, true]}}\n"
        "{ \"p\" : 0 ,   \"s\" : 2 }\n";
    for (int v = 0; v < 2; v++) {
        char cfg[128], got[1024] = "";
        rp_queue_opts o;
        snprintf(cfg, sizeof cfg, "sink = file\ncollector.version = %s\nfile.path = %s\n", v ? "2j" : "2",
                 path_in(v ? "out/v2j.jsonl" : "out/v2.jsonl"));
        rig_config(1, cfg);
        pid_t d = rig_daemon();
        rp_queue *q = rig_direct_queue(&o);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(rp_queue_put(q, events[i], strlen(events[i])), 0);
        rp_queue_close(q);
        cr_assert(th_await(rig_ring_released, NULL, 10000, 10), "the file sink did not take the events");
        stop_clean(d, SIGTERM);
        FILE *f = fopen(path_in(v ? "out/v2j.jsonl" : "out/v2.jsonl"), "r");
        cr_assert_not_null(f);
        size_t n = fread(got, 1, sizeof got - 1, f);
        fclose(f);
        got[n] = '\0';
        cr_assert_str_eq(got, want, "version %s", v ? "2j" : "2");
    }
}
