/* ringbench's harness is tested, not its speed: short runs of every mode
 * must add up (attempts = consumed + full), the JSON must parse, and a
 * baseline that cannot run here must say why. Plus the histogram. */
#include "helpers.h"

#include "check.h"
#include "hist.h"

#include <jansson.h>
#include <sys/wait.h>

TestSuite(bench, .fini = th_cleanup);

/* Run ringbench with args (and --json); return the parsed output. */
static json_t *ringbench(const char *args)
{
    char cmd[600], out[1 << 16];
    const char *d = getenv("RINGPUB_BIN_DIR");
    /* bounded: a harness that ignores its own limits must fail, not hang */
    snprintf(cmd, sizeof cmd, "timeout 120 %s/ringbench --json %s", d ? d : "zig-out/bin", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x: %s", cmd, status, out);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    cr_assert_not_null(j, "%s: output is not JSON (%s): %s", cmd, e.text, out);
    return j;
}

static void check_counts(json_t *run)
{
    const char *name = json_string_value(json_object_get(run, "backend"));
    cr_assert(json_is_true(json_object_get(run, "available")), "%s unavailable", name);
    json_int_t put = json_integer_value(json_object_get(run, "put"));
    json_int_t attempts = json_integer_value(json_object_get(run, "attempts"));
    json_int_t consumed = json_integer_value(json_object_get(run, "consumed"));
    json_int_t full = json_integer_value(json_object_get(run, "full"));
    cr_assert_gt(put, 0, "%s put nothing", name);
    cr_assert_eq(consumed, put, "%s: consumed %lld of %lld", name, (long long)consumed, (long long)put);
    cr_assert_eq(attempts, consumed + full, "%s: attempts %lld != consumed %lld + full %lld", name,
                 (long long)attempts, (long long)consumed, (long long)full);
    cr_assert(json_is_true(json_object_get(run, "counts_ok")));
    json_t *lat = json_object_get(run, "latency_ns");
    cr_assert_leq(json_integer_value(json_object_get(lat, "p50")), json_integer_value(json_object_get(lat, "p99")));
}

Test(bench, threads_against_every_baseline_add_up)
{
    json_t *j = ringbench("--producers 2 --events 20000 --vs mq,unix,memcpy --size 64-512");
    json_t *runs = json_object_get(j, "runs");
    cr_assert_eq(json_array_size(runs), 4);
    for (size_t i = 0; i < 4; i++)
        check_counts(json_array_get(runs, i));
    cr_assert(json_is_number(json_object_get(json_object_get(j, "ratios"), "mq")));
    json_decref(j);
}

Test(bench, processes_and_a_full_queue_add_up)
{
    /* a tiny ring: most puts are answered "full" and retried */
    json_t *j = ringbench("--procs --producers 2 --events 50000 --size 1000 --capacity 65536 --vs memcpy,unix");
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    check_counts(run);
    check_counts(json_array_get(json_object_get(j, "runs"), 1));
    check_counts(json_array_get(json_object_get(j, "runs"), 2));
    cr_assert(json_is_true(json_object_get(run, "procs")));
    json_decref(j);
}

Test(bench, offered_rate_mode)
{
    json_t *j = ringbench("--rate 20000 --events 2000 --sample 1");
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    check_counts(run);
    double rate = json_number_value(json_object_get(run, "puts_per_s"));
    cr_assert_lt(rate, 40000, "an offered rate of 20000/s ran at %.0f/s", rate);
    json_decref(j);
}

/* --seconds bounds an offered-rate run too (it was looked at every 1024
 * puts: `--rate 1 --seconds 13` ran for 12 minutes). */
Test(bench, offered_rate_stops_at_seconds)
{
    uint64_t t0 = th_now_ms();
    json_t *j = ringbench("--rate 2 --seconds 2");
    uint64_t took = th_now_ms() - t0;
    check_counts(json_array_get(json_object_get(j, "runs"), 0));
    cr_assert_lt(took, 10000, "a 2 s run at 2 events/s took %llu ms", (unsigned long long)took);
    json_decref(j);
}

/* The ring goes in $RINGPUB_DIR like every other ring (it was always under
 * /dev/shm): a directory that is missing makes the ring unavailable, and
 * says which directory. */
Test(bench, ring_directory_comes_from_RINGPUB_DIR)
{
    char absent[600];
    snprintf(absent, sizeof absent, "%s/absent", th_dir());
    setenv("RINGPUB_DIR", absent, 1);
    json_t *j = ringbench("--events 100");
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    cr_assert(json_is_false(json_object_get(run, "available")), "the ring ran without its directory");
    const char *why = json_string_value(json_object_get(run, "why"));
    cr_assert(why && strstr(why, absent), "the reason names the directory: %s", why ? why : "(none)");
    json_decref(j);
    setenv("RINGPUB_DIR", th_dir(), 1);
    j = ringbench("--events 100");
    check_counts(json_array_get(json_object_get(j, "runs"), 0));
    json_decref(j);
    unsetenv("RINGPUB_DIR");
}

Test(bench, unavailable_baseline_says_why)
{
    /* POSIX mq messages cannot be 100 KiB here (msgsize_max) */
    json_t *j = ringbench("--size 102400 --events 200 --vs mq");
    json_t *mq = json_array_get(json_object_get(j, "runs"), 1);
    if (json_is_true(json_object_get(mq, "available"))) {
        check_counts(mq); /* this host allows it: then it must add up */
    } else {
        const char *why = json_string_value(json_object_get(mq, "why"));
        cr_assert(why && strlen(why) > 10, "no reason given");
    }
    check_counts(json_array_get(json_object_get(j, "runs"), 0));
    json_decref(j);
}

Test(bench, histogram_percentiles)
{
    static hist h;
    memset(&h, 0, sizeof h);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_add(&h, v);
    cr_assert_eq(h.count, 100000);
    cr_assert_eq(h.max, 100000);
    uint64_t p50 = hist_pct(&h, 50), p99 = hist_pct(&h, 99);
    cr_assert(p50 >= 50000 && p50 <= 50000 * 1.04, "p50 %llu", (unsigned long long)p50);
    cr_assert(p99 >= 99000 && p99 <= 99000 * 1.04, "p99 %llu", (unsigned long long)p99);
    cr_assert_eq(hist_pct(&h, 100), 100000);
    for (uint64_t v = 0; v < 32; v++) { /* small values are exact */
        static hist one;
        memset(&one, 0, sizeof one);
        hist_add(&one, v);
        cr_assert_eq(hist_pct(&one, 50), v);
    }
}

Test(bench, bad_arguments_exit_2)
{
    char cmd[300];
    const char *d = getenv("RINGPUB_BIN_DIR");
    snprintf(cmd, sizeof cmd, "%s/ringbench --size 5-1 2>/dev/null", d ? d : "zig-out/bin");
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    snprintf(cmd, sizeof cmd, "%s/ringbench --backend nosuch 2>/dev/null", d ? d : "zig-out/bin");
    status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

Test(bench, e2e_mode_delivers_everything)
{
    json_t *j = ringbench("--e2e --size 200 --producers 2 --events 2000 --seconds 20");
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    cr_assert(json_is_true(json_object_get(run, "available")), "%s",
              json_string_value(json_object_get(run, "why")));
    json_int_t put = json_integer_value(json_object_get(run, "put"));
    cr_assert_eq(put, 4000);
    cr_assert_eq(json_integer_value(json_object_get(run, "consumed")), put, "not all delivered");
    json_int_t wire = json_integer_value(json_object_get(run, "wire_bytes"));
    cr_assert(wire > 0 && wire < put * 200, "wire bytes %lld", (long long)wire);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(run, "latency_ns"), "samples")), 0);
    json_decref(j);
}
