/* ringctl, the installed binary: create, ls, tail, stat, rm and their
 * safety checks, with real producer and consumer processes. */
#include "rig.h"

#include "check.h"

#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

TestSuite(ctl, .fini = rig_fini);

static char out[1 << 16];

static int ctl(const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = { (char *)bin("ringctl"), (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
    return run_capture(argv, out, sizeof out);
}

static void setup(void)
{
    setenv("RINGPUB_DIR", th_dir(), 1);
}

/* A child that holds the consumer role of `name` until its pipe closes. */
static pid_t hold_consumer(const char *name, int *release_fd)
{
    int go[2], ready[2];
    char c;
    cr_assert_eq(pipe(go), 0);
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        rp_consumer *cons;
        rp_queue_opts o = th_opts(1 << 16);
        close(go[1]);
        int rc = rp_consumer_open(&cons, name, &o, NULL, 0);
        if (write(ready[1], &c, 1) != 1 || rc != 0)
            _exit(1);
        if (read(go[0], &c, 1) < 0) /* until the test closes it */
            _exit(1);
        rp_consumer_close(cons);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    cr_assert_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *release_fd = go[1];
    return pid;
}

Test(ctl, create_put_tail_ls_rm, .init = setup)
{
    cr_assert_eq(ctl("create", "q1", "--capacity", "1MiB"), 0, "%s", out);
    cr_assert_not_null(strstr(out, "1048576 bytes"), "%s", out);
    cr_assert_eq(ctl("create", "q1", NULL, NULL), 1, "created twice");
    cr_assert_not_null(strstr(out, "already exists"), "%s", out);
    cr_assert_eq(ctl("create", "../x", NULL, NULL), 2, "%s", out);
    /* sizes as the config file writes them (one parser, units.h): 2MB was refused */
    cr_assert_eq(ctl("create", "q2", "--capacity", "2MB"), 0, "%s", out);
    cr_assert_not_null(strstr(out, "2097152 bytes"), "%s", out);
    cr_assert_eq(ctl("create", "q3", "--capacity", "2 parsecs"), 2, "%s", out);

    rp_queue *q;
    cr_assert_eq(rp_queue_open(&q, "q1", NULL), 0);
    for (int i = 0; i < 50; i++) {
        char ev[64];
        int n = snprintf(ev, sizeof ev, "{\"n\":%d}", i);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    cr_assert_eq(ctl("tail", "q1", "-n", "3"), 0, "%s", out);
    cr_assert_str_eq(out, "{\"n\":47}\n{\"n\":48}\n{\"n\":49}\n", "the newest three, oldest first");
    cr_assert_eq(ctl("tail", "q1", NULL, NULL), 0);
    cr_assert_eq(ctl("tail", "q1", "-n", "3"), 0);
    cr_assert_str_eq(out, "{\"n\":47}\n{\"n\":48}\n{\"n\":49}\n", "tail consumed nothing");

    cr_assert_eq(ctl("ls", "--interval", "50", NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "q1"), "%s", out);
    cr_assert_not_null(strstr(out, "PRODUCERS"), "%s", out);
    cr_assert_eq(ctl("stat", "q1", NULL, NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "capacity     1048576"), "%s", out);

    cr_assert_eq(ctl("rm", "q1", NULL, NULL), 1, "removed with unconsumed events and a producer attached");
    cr_assert_not_null(strstr(out, "--force"), "%s", out);
    rp_queue_close(q);
    cr_assert_eq(ctl("rm", "q1", "--force", NULL), 0, "%s", out);
    cr_assert_eq(ctl("tail", "q1", NULL, NULL), 1, "removed");
}

/* The daemon's metrics file next to the ring is another process's: a link
 * planted in its place is not followed, an oversized file is not read,
 * lines that are not samples are not shown (mfile.h). */
Test(ctl, stat_treats_the_daemons_metrics_file_as_hostile, .init = setup)
{
    char path[600], target[600];
    cr_assert_eq(ctl("create", "m1", NULL, NULL), 0, "%s", out);
    cr_assert_eq(ctl("stat", "m1", "--once", NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "no daemon has drained this ring"), "%s", out);

    snprintf(target, sizeof target, "%s/elsewhere", th_dir());
    snprintf(path, sizeof path, "%s/.m1.metrics", th_dir());
    FILE *f = fopen(target, "w");
    cr_assert_not_null(f);
    fputs("ringpub_sent_total{queue=\"m1\"} 999\n", f);
    fclose(f);
    cr_assert_eq(symlink(target, path), 0);
    cr_assert_eq(ctl("stat", "m1", "--once", NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "metrics not shown"), "%s", out);
    cr_assert_null(strstr(out, "999"), "followed a planted link: %s", out);

    unlink(path);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("# HELP x\nringpub_sent_total{queue=\"m1\"} 42\n\033[2Jevil 7\nnot a sample\n", f);
    for (int i = 0; i < 70000; i++) /* larger than ringctl reads */
        fputc(' ', f);
    fclose(f);
    cr_assert_eq(ctl("stat", "m1", "--once", NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "metrics not shown"), "read an oversized file: %s", out);
    cr_assert_eq(truncate(path, 70), 0);
    cr_assert_eq(ctl("stat", "m1", "--once", NULL), 0, "%s", out);
    cr_assert_not_null(strstr(out, "ringpub_sent_total"), "%s", out);
    cr_assert_not_null(strstr(out, " 42\n"), "%s", out);
    cr_assert_null(strstr(out, "\033"), "printed a control sequence: %s", out);
    cr_assert_null(strstr(out, "not a sample"), "%s", out);
    cr_assert_eq(ctl("rm", "m1", NULL, NULL), 0, "%s", out);
    cr_assert_eq(access(path, F_OK), -1, "rm left the metrics file behind");
}

Test(ctl, rm_refused_while_a_consumer_holds_the_ring, .init = setup)
{
    int release;
    cr_assert_eq(ctl("create", "held", NULL, NULL), 0, "%s", out);
    pid_t c = hold_consumer("held", &release);
    cr_assert_eq(ctl("rm", "held", "--force", NULL), 1, "removed under a live consumer");
    cr_assert_not_null(strstr(out, "live consumer"), "%s", out);
    close(release);
    th_reap_ok(c, "consumer");
    cr_assert_eq(ctl("rm", "held", NULL, NULL), 0, "%s", out);
}

/* Issue 14: `ringctl load` with nothing draining used to retry RP_EFULL
 * for 60 s and then report a short count. Now it says so at once; with a
 * consumer it runs. */
Test(ctl, load_says_when_nothing_drains, .init = setup)
{
    int release;
    uint64_t t0 = th_now_ms();
    cr_assert_eq(ctl("create", "idle", NULL, NULL), 0, "%s", out);
    char *argv[] = { (char *)bin("ringctl"), "load", "--queue", "idle", "--procs", "1", "--events", "10", NULL };
    cr_assert_eq(run_capture(argv, out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "nothing is draining queue idle (no consumer attached)"), "%s", out);
    cr_assert_lt(th_now_ms() - t0, 10000, "it did not wait for --seconds");
    pid_t c = hold_consumer("idle", &release);
    cr_assert_eq(run_capture(argv, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "put 10 of 10 events"), "%s", out);
    close(release);
    th_reap_ok(c, "consumer");
}

/* tail while a producer process writes and a consumer releases: every line
 * it prints is a whole event, never a torn or recycled one. */
Test(ctl, tail_under_load_prints_whole_events, .init = setup)
{
    rp_queue_opts o = th_opts(1 << 14); /* small: space is recycled fast */
    rp_consumer *cons = th_consumer("busy", &o);
    pid_t p = fork();
    cr_assert_neq(p, -1);
    if (p == 0) {
        rp_queue *q;
        char ev[128];
        if (rp_queue_open(&q, "busy", &o) != 0)
            _exit(1);
        for (uint64_t i = 0, until = th_now_ms() + 3000; i < 300000 && th_now_ms() < until;) {
            int n = snprintf(ev, sizeof ev, "{\"n\":%llu,\"pad\":\"%040llu\"}", (unsigned long long)i,
                             (unsigned long long)i);
            if (rp_queue_put(q, ev, (size_t)n) == 0)
                i++;
        }
        _exit(0);
    }
    rp_event evs[256];
    rp_batch b = { evs, 256, 0, 0, 0, 0 };
    int tails = 0, lines = 0;
    while (waitpid(p, NULL, WNOHANG) == 0) {
        int n = rp_consumer_poll(cons, &b, 1 << 20);
        cr_assert_geq(n, 0);
        cr_assert_eq(rp_consumer_release(cons, &b), 0);
        if (tails < 40 && ctl("tail", "busy", "-n", "20") == 0) {
            tails++;
            for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
                unsigned long long a, c;
                cr_assert_eq(sscanf(l, "{\"n\":%llu,\"pad\":\"%llu\"}", &a, &c), 2, "torn: %s", l);
                cr_assert_eq(a, c, "mixed event: %s", l);
                lines++;
            }
        }
    }
    rp_consumer_close(cons);
    cr_assert_gt(tails, 0);
    cr_assert_gt(lines, 0, "tail showed nothing under load");
}

/* Every binary answers --version, -h and --help, and an unknown option is
 * named as such (ringbench said "missing value for --bogus"). */
Test(ctl, every_binary_has_version_and_help, .init = setup)
{
    static const char *const names[] = { "ringpub", "ringcollect", "ringctl", "ringbench", "ringjs" };
    static const char *const flags[] = { "--version", "-h", "--help" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (size_t f = 0; f < 3; f++) {
            char *argv[] = { (char *)bin(names[i]), (char *)flags[f], NULL };
            cr_assert_eq(run_capture(argv, out, sizeof out), 0, "%s %s: %s", names[i], flags[f], out);
            cr_assert_not_null(strstr(out, f ? "usage" : names[i]), "%s %s: %s", names[i], flags[f], out);
        }
    char *bogus[] = { (char *)bin("ringbench"), (char *)"--bogus", NULL };
    cr_assert_eq(run_capture(bogus, out, sizeof out), 2);
    cr_assert_str_eq(out, "ringbench: unknown option --bogus\n");
}
