/* contain.h with real processes: a child that dies of a fault while an
 * event is marked leaves that event for the next run; one killed with
 * kill -9 (not a crash) or one that had left the event does not; a marker
 * of another ring, or a hostile marker file, is not taken for a crash. */
#include "check.h"
#include "contain.h"
#include "helpers.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(contain, .fini = th_cleanup);

#define RING_NS 1234567ull

static const char *marker(void)
{
    static char p[512]; /* made once, before any fork: th_dir() is per process */
    if (!p[0])
        snprintf(p, sizeof p, "%s/q.processing", th_dir());
    return p;
}

/* A child opens the marker, marks event pos, then does `how`:
 * 's' SIGSEGV, 'a' abort(), 'k' waits for kill -9, 'l' leaves the event and exits. */
static int child_run(char how, uint64_t pos)
{
    int ready[2], st;
    marker();
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        pub_contain c;
        char why[300];
        if (pub_contain_open(&c, marker(), RING_NS, 0, why, sizeof why) != 0)
            _exit(3);
        pub_contain_enter(&c, pos);
        c.mark->stage = 2;
        if (how == 's')
            *(volatile int *)(uintptr_t)16 = 1;
        if (how == 'a')
            abort();
        if (how == 'l') {
            pub_contain_leave(&c);
            _exit(0);
        }
        if (write(ready[1], "r", 1) != 1)
            _exit(4);
        pause();
        _exit(5);
    }
    close(ready[1]);
    if (how == 'k') {
        char b;
        cr_assert_eq(read(ready[0], &b, 1), 1, "the child never got ready");
        kill(pid, SIGKILL);
    }
    close(ready[0]);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

static pub_contain reopen(uint64_t ring_ns, uint64_t released)
{
    pub_contain c;
    char why[300];
    cr_assert_eq(pub_contain_open(&c, marker(), ring_ns, released, why, sizeof why), 0, "%s", why);
    return c;
}

static int check(pub_contain *c, uint64_t pos)
{
    const pub_crash *k = NULL;
    int r = pub_contain_check(c, pos, &k);
    cr_assert(r == 0 || (k && k->pos1 == pos + 1));
    return r;
}

Test(contain, a_fault_leaves_the_event_for_the_next_run)
{
    int st = child_run('s', 41);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "the child still dies of its fault (status %d)", st);
    pub_contain c = reopen(RING_NS, 0);
    cr_assert_not_null(c.last, "the last run's crash is known");
    cr_assert_eq(c.last->pos1, 42);
    cr_assert_eq(c.last->sig, SIGSEGV);
    cr_assert_eq(c.last->stage, 2, "which processor ran");
    cr_assert_eq(check(&c, 40), 0);
    cr_assert_eq(check(&c, 41), 1, "report it");
    pub_contain_close(&c); /* died before the error stream was durable */
    c = reopen(RING_NS, 0);
    cr_assert_null(c.last, "no new crash");
    cr_assert_eq(check(&c, 41), 1, "the report is redone");
    pub_contain_reported(&c);
    cr_assert_eq(check(&c, 41), 2, "reported: skip it");
    pub_contain_close(&c);
    c = reopen(RING_NS, 0);
    cr_assert_eq(check(&c, 41), 2, "not reported twice, not run again, while it is in the ring");
    pub_contain_close(&c);
    c = reopen(RING_NS, 42);
    cr_assert_eq(check(&c, 41), 0, "released: forgotten");
    pub_contain_close(&c);
}

/* Crash after crash before the ring moves on: each event is remembered. */
Test(contain, crashes_accumulate_until_released)
{
    child_run('s', 41);
    child_run('a', 0); /* abort() is a crash too; position 0 is a position */
    pub_contain c = reopen(RING_NS, 0);
    cr_assert_eq(c.last->sig, SIGABRT);
    cr_assert_eq(check(&c, 41), 1);
    cr_assert_eq(check(&c, 0), 1);
    pub_contain_close(&c);
    c = reopen(RING_NS, 1);
    cr_assert_eq(check(&c, 0), 0);
    cr_assert_eq(check(&c, 41), 1);
    pub_contain_close(&c);
}

Test(contain, kill9_and_clean_exits_are_not_crashes)
{
    int st = child_run('k', 9);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    pub_contain c = reopen(RING_NS, 0);
    cr_assert_null(c.last, "killed from outside: the event is processed again");
    cr_assert_eq(check(&c, 9), 0);
    pub_contain_close(&c);
    child_run('l', 10);
    c = reopen(RING_NS, 0);
    cr_assert_null(c.last);
    pub_contain_close(&c);
}

Test(contain, another_ring_or_a_hostile_file_is_no_crash)
{
    child_run('s', 5);
    pub_contain c = reopen(RING_NS + 1, 0);
    cr_assert_null(c.last, "a crash on a ring that is gone");
    cr_assert_eq(check(&c, 5), 0);
    pub_contain_close(&c);

    pub_mark m; /* the right magic and ring, nonsense entries */
    child_run('l', 1);
    FILE *f = fopen(marker(), "r+");
    cr_assert_not_null(f);
    cr_assert_eq(fread(&m, sizeof m, 1, f), 1);
    m.pos1 = 100;
    m.sig = 1000;
    for (int i = 0; i < PUB_MAX_CRASHED; i++)
        m.crashed[i] = (pub_crash){ (uint64_t)i + 1, i % 2 ? -3 : 11, 1 << 30, i % 2 ? 0 : 9, 0 };
    rewind(f);
    cr_assert_eq(fwrite(&m, sizeof m, 1, f), 1);
    fclose(f);
    c = reopen(RING_NS, 0);
    cr_assert_null(c.last, "signal 1000 is no crash");
    for (uint64_t pos = 0; pos < 20; pos++)
        cr_assert_eq(check(&c, pos), 0, "entry %llu is nonsense", (unsigned long long)pos);
    pub_contain_close(&c);

    f = fopen(marker(), "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 64; i++)
        fputc(0xff, f);
    fclose(f);
    c = reopen(RING_NS, 0);
    cr_assert_null(c.last, "garbage is not a crash");
    pub_contain_close(&c);

    char why[300];
    cr_assert_eq(chmod(marker(), 0644), 0);
    cr_assert_eq(pub_contain_open(&c, marker(), RING_NS, 0, why, sizeof why), -1);
    cr_assert_not_null(strstr(why, "closed to group and others"), "%s", why);
}
