/* seals.h: the seal log outlives a process killed with kill -9, and is
 * checked, never trusted: another ring's records, released ones, torn ones
 * and those of lanes no longer configured are dropped; copies of one range
 * merge (safe if any copy is); a full log refuses, counted; a file open to
 * others or a link is refused. */
#include "check.h"
#include "helpers.h"
#include "seals.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(seals, .fini = th_cleanup);

#define RING_NS 987654321ull

static const char *log_path(void)
{
    static char p[512]; /* made once, before any fork: th_dir() is per process */
    if (!p[0])
        snprintf(p, sizeof p, "%s/q.sealed", th_dir());
    return p;
}

static void open_log(pub_seals *s, uint64_t ring_ns, uint64_t released, uint32_t nlanes)
{
    char why[400];
    cr_assert_eq(pub_seals_open(s, log_path(), ring_ns, released, nlanes, why, sizeof why), 0, "%s", why);
}

static void assert_rec(const pub_seal_rec *r, uint32_t lane, uint64_t first, uint64_t last, int safe)
{
    cr_assert_eq(r->lane & ~PUB_SEAL_SAFE, lane);
    cr_assert_eq(r->first, first);
    cr_assert_eq(r->last, last);
    cr_assert_eq(!!(r->lane & PUB_SEAL_SAFE), safe, "lane %u %llu..%llu safe flag", lane,
                 (unsigned long long)first, (unsigned long long)last);
}

Test(seals, records_outlive_kill9_and_come_back_by_lane_then_position)
{
    log_path();
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        pub_seals s;
        char why[400];
        if (pub_seals_open(&s, log_path(), RING_NS, 0, 4, why, sizeof why) != 0)
            _exit(3);
        pub_seals_add(&s, 1, 500, 900);
        pub_seals_safe(&s, pub_seals_add(&s, 0, 100, 400));
        pub_seals_add(&s, 0, 401, 700);
        raise(SIGKILL);
        _exit(4);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %#x", st);
    pub_seals s;
    open_log(&s, RING_NS, 0, 4);
    cr_assert_eq(s.nredo, 3);
    assert_rec(&s.redo[0], 0, 100, 400, 1);
    assert_rec(&s.redo[1], 0, 401, 700, 0);
    assert_rec(&s.redo[2], 1, 500, 900, 0);
    pub_seals_close(&s);
}

/* Into an open log: one record to be released, one to keep, one of lane 3,
 * one torn, and one range recorded twice, the copy marked safe. */
static void add_mixed(pub_seals *s)
{
    pub_seals_add(s, 0, 10, 20);
    pub_seals_add(s, 0, 30, 40);
    pub_seals_add(s, 3, 50, 60);
    int torn = pub_seals_add(s, 1, 70, 80);
    pub_seals_add(s, 2, 90, 95);
    pub_seals_safe(s, pub_seals_add(s, 2, 90, 95));
    s->f->slot[torn].last = 81; /* a kill between two stores */
}

Test(seals, what_cannot_be_trusted_is_dropped)
{
    pub_seals s;
    open_log(&s, RING_NS, 0, 4);
    add_mixed(&s);
    pub_seals_close(&s);
    open_log(&s, RING_NS + 1, 0, 4); /* another ring: none of them */
    cr_assert_eq(s.nredo, 0);
    pub_seals_close(&s);
    open_log(&s, RING_NS, 0, 4);     /* and that open emptied the log */
    cr_assert_eq(s.nredo, 0);
    add_mixed(&s);
    pub_seals_close(&s);
    open_log(&s, RING_NS, 25, 3);    /* released up to 25, three lanes */
    cr_assert_eq(s.nredo, 2, "kept %zu records", s.nredo);
    assert_rec(&s.redo[0], 0, 30, 40, 0);
    assert_rec(&s.redo[1], 2, 90, 95, 1);
    pub_seals_close(&s);
}

Test(seals, release_frees_records_and_a_full_log_refuses)
{
    pub_seals s;
    open_log(&s, RING_NS, 0, 1);
    for (uint64_t i = 0; i < PUB_SEAL_SLOTS; i++)
        cr_assert_geq(pub_seals_add(&s, 0, i * 10, i * 10 + 9), 0);
    cr_assert_eq(pub_seals_add(&s, 0, 1 << 20, (1 << 20) + 9), -1);
    cr_assert_eq(s.overflow, 1);
    pub_seals_released(&s, 20); /* past the first two batches */
    cr_assert_eq(s.n, PUB_SEAL_SLOTS - 2);
    cr_assert_geq(pub_seals_add(&s, 0, 1 << 20, (1 << 20) + 9), 0);
    pub_seals_close(&s);
    open_log(&s, RING_NS, 20, 1);
    cr_assert_eq(s.nredo, PUB_SEAL_SLOTS - 1);
    assert_rec(&s.redo[0], 0, 20, 29, 0);
    assert_rec(&s.redo[s.nredo - 1], 0, 1 << 20, (1 << 20) + 9, 0);
    pub_seals_close(&s);
}

Test(seals, a_log_open_to_others_or_a_link_is_refused)
{
    pub_seals s;
    char why[400], link[600];
    open_log(&s, RING_NS, 0, 1);
    pub_seals_close(&s);
    cr_assert_eq(chmod(log_path(), 0644), 0);
    cr_assert_eq(pub_seals_open(&s, log_path(), RING_NS, 0, 1, why, sizeof why), -1);
    cr_assert(strstr(why, "seal log") && strstr(why, "closed to group and others"), "%s", why);
    snprintf(link, sizeof link, "%s/link.sealed", th_dir());
    cr_assert_eq(symlink(log_path(), link), 0);
    cr_assert_eq(pub_seals_open(&s, link, RING_NS, 0, 1, why, sizeof why), -1);
    cr_assert(strstr(why, link), "%s", why);
}
