/* Batches the collector refuses for good, with the real binaries: a 400
 * or a 401 goes to the dead-letter file, `ringpub redeliver` sends dead
 * letters and quarantined events again once the cause is fixed, a 413
 * splits the batch (live or replayed from the spool). */
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

TestSuite(refusals, .fini = rig_fini);

/* The events in dead-letter file w->path, each line checked for w->want. */
typedef struct dead_letters {
    const char *path, *want;
    uint64_t events;
} dead_letters;

static int all_dead_lettered(void *ctx)
{
    dead_letters *w = (dead_letters *)ctx;
    static char line[200000];
    FILE *f = fopen(w->path, "r");
    w->events = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *e = strstr(line, "\"events\":");
        cr_assert_not_null(strstr(line, w->want), "%.200s", line);
        w->events += e ? strtoull(e + 9, NULL, 10) : 0;
    }
    if (f)
        fclose(f);
    return w->events >= 100;
}

/* A 4xx other than 408/429 is final: the batch goes to the dead-letter
 * file with its status, and the ring moves on. */
static int dead_letter_case(const char *arg1, const char *arg2, const char *cfg, int status)
{
    int port = free_port();
    uint64_t acc[MAXP];
    producers p;
    tally t;
    char want[32];
    snprintf(want, sizeof want, "\"status\":%d", status);
    pid_t col = rig_collector(port, arg1, arg2);
    rig_config(port, cfg);
    pid_t d = rig_daemon();
    start_producers(&p, 1, 100, 10000);
    join_producers(&p, acc);
    dead_letters w = { path_in("spool/e2e.deadletter.jsonl"), want, 0 };
    await_file(w.path);
    th_await(all_dead_lettered, &w, 10000, 20);
    cr_assert_eq(w.events, 100, "dead-lettered %llu of 100", (unsigned long long)w.events);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.lines, 0);
    return port;
}

Test(refusals, status_400_goes_to_dead_letter, .init = rig_setup)
{
    dead_letter_case("--fail-rate=1", "--fail-status=400", NULL, 400);
}

/* A collector that does not know ringpub's key: every batch gets 401. */
static int wrong_key_case(void)
{
    static char keys[320];
    snprintf(keys, sizeof keys, "--keys=%s", path_in("other.keys"));
    FILE *f = fopen(path_in("other.keys"), "w");
    cr_assert_not_null(f);
    fputs("other=c2VjcmV0\n", f);
    fclose(f);
    cr_assert_eq(chmod(path_in("other.keys"), 0600), 0);
    return dead_letter_case(keys, NULL, NULL, 401);
}

Test(refusals, bad_signature_401_goes_to_dead_letter, .init = rig_setup)
{
    wrong_key_case();
    cr_assert_gt(rig_lines_with("ringpub.log", "key.name \"ringpub-dev\" or key.secret is wrong"), 0,
                 "the 401 line says what to fix");
}

/* `ringpub redeliver` with argv's options (NULL-terminated, at most 3);
 * its exit code, its output in out. */
static int redeliver(const char *opt1, const char *opt2, char *out, size_t outlen)
{
    char *argv[] = { (char *)bin("ringpub"), "redeliver", "--queue", "e2e", "--config", (char *)path_in("ringpub.ini"),
                     (char *)opt1, (char *)opt2, NULL };
    return run_capture(argv, out, outlen);
}

/* Issue 14: after a 401 nothing could send the dead-letter file again.
 * Once the collector knows the key, `ringpub redeliver` counts (dry run),
 * then sends every batch once; a second run finds nothing. */
Test(refusals, dead_letters_redelivered_once_the_cause_is_fixed, .init = rig_setup)
{
    uint64_t acc[MAXP] = { 100 };
    tally t;
    char out[2000];
    int port = wrong_key_case();
    const char *dl = "spool/e2e.deadletter.jsonl";
    int lines = rig_lines_with(dl, "");
    cr_assert_eq(redeliver("--dry-run", NULL, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "batches (100 events) would be sent to"), "%s", out);
    cr_assert_eq(rig_lines_with(dl, ""), lines, "a dry run moves nothing");
    cr_assert_eq(redeliver(NULL, NULL, out, sizeof out), 1, "the collector still refuses: %s", out);
    cr_assert_not_null(strstr(out, "kept: "), "%s", out);
    cr_assert_eq(rig_lines_with(dl, ""), lines, "refused lines go back");
    pid_t col = rig_collector(port, NULL, NULL); /* now it knows ringpub-dev */
    cr_assert_eq(redeliver(NULL, NULL, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "(100 events) delivered to"), "%s", out);
    cr_assert_not_null(strstr(out, "; 0 lines kept"), "%s", out);
    cr_assert_eq(redeliver(NULL, NULL, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "nothing to send"), "%s", out);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, 100);
    cr_assert_eq(t.dups, 0);
    glob_t g;
    char pattern[600];
    snprintf(pattern, sizeof pattern, "%s.redeliver-*", path_in(dl));
    cr_assert_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH, "no FILE.redeliver-PID left");
}

/* `ringpub redeliver --quarantine`: a quarantined record whose bytes are a
 * whole JSON event is sent (once, under an id from its ring position);
 * garbage stays in the file. */
Test(refusals, quarantined_events_redelivered, .init = rig_setup)
{
    uint64_t acc[MAXP] = { 1 };
    tally t;
    char out[2000];
    int port = free_port();
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, NULL);
    cr_assert_eq(mkdir(path_in("spool"), 0700), 0);
    FILE *f = fopen(path_in("spool/e2e.quarantine.jsonl"), "w");
    cr_assert_not_null(f);
    /* {"p":0,"s":0} and 5 bytes of garbage, as the daemon writes them */
    fputs("{\"time\":1,\"queue\":\"e2e\",\"pos\":64,\"len\":13,\"reason\":\"x\","
          "\"bytes_base64\":\"eyJwIjowLCJzIjowfQ==\"}\n", f);
    fputs("{\"time\":1,\"queue\":\"e2e\",\"pos\":128,\"len\":5,\"reason\":\"x\","
          "\"bytes_base64\":\"/wABAv8=\"}\n", f);
    fclose(f);
    cr_assert_eq(redeliver("--quarantine", NULL, out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "1 batches (1 events) delivered to"), "%s", out);
    cr_assert_not_null(strstr(out, "line 2: kept: the record is not a JSON event"), "%s", out);
    cr_assert_eq(rig_lines_with("spool/e2e.quarantine.jsonl", "\"pos\":128"), 1, "the garbage stays");
    cr_assert_eq(rig_lines_with("spool/e2e.quarantine.jsonl", ""), 1, "only the garbage");
    await_delivered(&t, 1, acc, 1);
    stop(col, SIGTERM);
}

/* Issue 14: a 413 dead-lettered the whole batch. Now it is halved and the
 * halves sent again (halved again on another 413) until each fits; only an
 * event larger than the collector takes on its own is dead-lettered. With
 * spooled_first, the batches wait in the spool (no collector yet) and meet
 * the 413 on replay: the same, and the spool ends empty. */
static void status_413_splits(int spooled_first)
{
    int port = free_port();
    uint64_t acc[MAXP] = { 0 };
    tally t;
    rp_queue_opts o;
    char ev[4000];
    pid_t col = spooled_first ? 0 : rig_collector(port, "--max-decompressed=3KiB", NULL);
    rig_config(port, "batch.max_age = 300ms\n");
    pid_t d = rig_daemon();
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0; i < 400; i++) { /* ~50 KiB: batches of up to 64 KiB, many times what the collector takes */
        int n = snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"pad\":\"%0100d\"}", (unsigned long long)acc[0]++, i);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
        if (i == 200) { /* one event the collector never takes */
            n = snprintf(ev, sizeof ev, "{\"big\":\"%03500d\"}", 1);
            cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
        }
    }
    rp_queue_close(q);
    if (spooled_first) {
        await_spooled("nothing was spooled while the collector was down");
        col = rig_collector(port, "--max-decompressed=3KiB", NULL);
    }
    await_delivered(&t, 1, acc, 400);
    cr_assert_eq(rig_await_lines("spool/e2e.deadletter.jsonl", "one event is larger than the collector takes", 1,
                                 10000), 1);
    stop_clean(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(t.unique, 400);
    cr_assert_gt(rig_lines_with("ringpub.log", spooled_first ? "spooled batch" : "too large for the collector (413): "
                                "sent again as"), 0);
    cr_assert_eq(rig_lines_with("spool/e2e.deadletter.jsonl", ""), 1, "only the one event");
    cr_assert_eq(rig_lines_with("spool/e2e.deadletter.jsonl", "\"events\":1,"), 1);
    cr_assert_eq(spool_files(), 0, "a split batch's spool file is removed once its parts are safe");
}

Test(refusals, status_413_splits_the_batch, .init = rig_setup)
{
    status_413_splits(0);
}

Test(refusals, status_413_on_replay_splits_the_spooled_batch, .init = rig_setup)
{
    status_413_splits(1);
}
