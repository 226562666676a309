/* The documentation's ```ini examples (docs/configuration.md,
 * docs/operations.md), run as a user would run them: each block
 * becomes the queue's config (over the rig's collector, key and spool; its
 * paths and hosts pointed at this test's directory and servers), the real
 * `ringpub` starts, events of every kind the examples name are put, and
 * each one must end up exactly once delivered, or filtered, or in the error
 * stream, as the daemon's stop line counts them. Issue 14: the README's
 * own example used to start, then exit 1 at the first invalid event.
 * JetStream examples need a cluster: the jetstream suite runs those. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

TestSuite(readme, .fini = rig_fini);

#define KINDS 5
#define PER_KIND 20
#define INVALID 5
#define PUT (KINDS * PER_KIND + INVALID)

static void setup(void)
{
    mkdir(path_in("out"), 0700);
    mkdir(path_in("out2"), 0700);
    mkdir(path_in("log"), 0700);
    setenv("RINGPUB_DIR", th_dir(), 1);
}

/* s with every `from` replaced by `to`, into out (asserts it fits). */
static void replace_all(char *s, size_t cap, const char *from, const char *to)
{
    char tmp[8192];
    size_t n = 0, fl = strlen(from);
    for (const char *p = s; *p;) {
        const char *hit = strstr(p, from);
        size_t keep = hit ? (size_t)(hit - p) : strlen(p);
        cr_assert_lt(n + keep + strlen(to), sizeof tmp);
        memcpy(tmp + n, p, keep);
        n += keep;
        if (!hit)
            break;
        n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s", to);
        p = hit + fl;
    }
    tmp[n] = '\0';
    cr_assert_lt(n, cap);
    memcpy(s, tmp, n + 1);
}

/* Every file under th_dir()/rel (one level of subdirectories too) whose
 * lines mention readme_id N: seen[N]++ per mention. */
static void tally_ids(const char *rel, int *seen)
{
    char line[16384], sub[1200];
    DIR *dir = opendir(path_in(rel));
    struct dirent *e;
    if (!dir)
        return;
    while ((e = readdir(dir))) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        if (stat(path_in(sub), &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && !strchr(rel, '/')) {
            tally_ids(sub, seen);
            continue;
        }
        FILE *f = fopen(path_in(sub), "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f))
            for (const char *p = line; (p = strstr(p, "readme_id")); p++) {
                const char *q = p + 9 + strspn(p + 9, "\\\":");
                int id = atoi(q);
                if (id >= 0 && id < PUT)
                    seen[id]++;
            }
        fclose(f);
    }
    closedir(dir);
}

/* One event of each kind the examples name, PER_KIND times, and INVALID
 * events without the dt the first example requires. */
static void put_events(void)
{
    static const char *const kinds[KINDS] = { "analytics.page", "audit.login", "eventgate.click", "app.other",
                                             "debug.trace" };
    rp_queue_opts o;
    rp_queue *q = rig_direct_queue(&o);
    char ev[512];
    for (int i = 0; i < PUT; i++) {
        const char *k = kinds[i % KINDS];
        int n = i < KINDS * PER_KIND
                    ? snprintf(ev, sizeof ev,
                               "{\"$schema\":\"/test/readme/1.0.0\",\"meta\":{\"stream\":\"%s\"},"
                               "\"dt\":\"2026-11-24T00:00:00Z\",\"event_type\":\"%s\",\"readme_id\":%d}",
                               k, k, i)
                    : snprintf(ev, sizeof ev, "{\"$schema\":\"/test/readme/1.0.0\",\"meta\":{\"stream\":\"%s\"},"
                                              "\"readme_id\":%d}", k, i);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    rp_queue_close(q);
}

/* The counts of the daemon's "stopped:" line. */
static void stop_counts(unsigned long long *delivered, unsigned long long *filtered, unsigned long long *errors)
{
    char line[4096];
    int found = 0;
    FILE *f = fopen(path_in("ringpub.log"), "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "stopped: "), *fl = strstr(line, " events dropped, ");
        if (p && fl && sscanf(p, "stopped: %llu events delivered", delivered) == 1 &&
            sscanf(fl, " events dropped, %llu filtered, %llu to the error stream", filtered, errors) == 2)
            found = 1;
    }
    fclose(f);
    cr_assert(found, "no stop line in ringpub.log");
}

Test(readme, every_ini_example_starts_and_delivers, .init = setup)
{
    static char blocks[8][4096];
    int n = rig_readme_blocks(blocks, 8), ran = 0;
    cr_assert_geq(n, 3, "the README has its examples");
    for (int b = 0; b < n; b++) {
        if (strstr(blocks[b], "sink = jetstream\n"))
            continue;
        char here[128], there[128], logdir[600], out2[600];
        int seen[PUT] = { 0 };
        unsigned long long delivered, filtered, errors, total = 0;
        int port = free_port(), port2 = free_port();
        snprintf(here, sizeof here, "http://127.0.0.1:%d", port);
        snprintf(there, sizeof there, "127.0.0.1:%d", port2);
        snprintf(logdir, sizeof logdir, "%s/", path_in("log"));
        snprintf(out2, sizeof out2, "%s", path_in("out2")); /* path_in's buffers are reused */
        replace_all(blocks[b], sizeof blocks[b], "/var/log/ringpub/", logdir);
        replace_all(blocks[b], sizeof blocks[b], "https://eventgate.internal", here);
        replace_all(blocks[b], sizeof blocks[b], "collector-b.internal:443", there);
        pid_t col = rig_collector(port, NULL, NULL);
        pid_t col2 = rig_collector(port2, "--out", out2);
        rig_config(port, blocks[b]);
        pid_t d = rig_daemon();
        put_events();
        th_await(rig_ring_released, NULL, E2E_WAIT_MS, 20);
        stop_clean(d, SIGTERM);
        stop(col, SIGTERM);
        stop(col2, SIGTERM);
        stop_counts(&delivered, &filtered, &errors);
        cr_assert_eq(delivered + filtered + errors, PUT,
                     "README example %d: %llu delivered + %llu filtered + %llu to the error stream of %d\n%s", b + 1,
                     delivered, filtered, errors, PUT, blocks[b]);
        cr_assert_gt(delivered, 0, "README example %d delivered nothing", b + 1);
        tally_ids("out", seen);
        tally_ids("out2", seen);
        tally_ids("log", seen);
        tally_ids("spool", seen);
        for (int i = 0; i < PUT; i++) {
            cr_assert_leq(seen[i], 1, "README example %d: event %d is in %d places", b + 1, i, seen[i]);
            total += (unsigned long long)seen[i];
        }
        cr_assert_eq(total, delivered + errors, "README example %d: %llu events found, %llu delivered + %llu errors",
                     b + 1, total, delivered, errors);
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s' '%s' '%s/e2e' && mkdir '%s' '%s' '%s'", path_in("out"),
                 path_in("out2"), path_in("log"), path_in("spool"), th_dir(), path_in("out"), path_in("out2"),
                 path_in("log"));
        cr_assert_eq(system(cmd), 0);
        ran++;
    }
    cr_assert_geq(ran, 2, "the http examples ran");
}
