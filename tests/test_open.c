/* Opening queues: names, files and permissions, roles, geometry, consumer
 * restart, and the wait/wake protocol. */
#include "helpers.h"

#include "check.h"
#include "consumer_internal.h"
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(open, .fini = th_cleanup);

static int open_rc(const char *name, const rp_queue_opts *o)
{
    rp_queue *q = NULL;
    int rc = rp_queue_open(&q, name, o);
    rp_queue_close(q);
    return rc;
}

static const char *ring_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", th_dir(), name);
    return path;
}

Test(open, queue_names)
{
    rp_queue_opts o = th_opts(1 << 14);
    char n64[65], n65[66];
    memset(n64, 'a', 64);
    n64[64] = '\0';
    memset(n65, 'b', 65);
    n65[65] = '\0';
    const char *bad[] = { "", ".hidden", "..", "a/b", "../escape", "sp ace", "new\nline", "ü", n65 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(open_rc(bad[i], &o), RP_EINVAL, "name \"%s\" accepted", bad[i]);
    cr_assert_eq(open_rc(NULL, &o), RP_EINVAL);
    const char *good[] = { n64, "a", "events.v2", "A-b_c.9" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert_eq(open_rc(good[i], &o), 0, "name \"%s\" refused", good[i]);
}

Test(open, file_mode_default_and_custom)
{
    rp_queue_opts o = th_opts(1 << 14);
    struct stat st;
    cr_assert_eq(open_rc("m600", &o), 0);
    cr_assert_eq(stat(ring_path("m600"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    o.mode = 0640;
    cr_assert_eq(open_rc("m640", &o), 0);
    cr_assert_eq(stat(ring_path("m640"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
    const unsigned others[] = { 0666, 0604, 0601 };
    for (size_t i = 0; i < 3; i++) {
        o.mode = others[i];
        cr_assert_eq(open_rc("mo", &o), RP_EINVAL, "a ring open to others (%o) created", others[i]);
        cr_assert_neq(access(ring_path("mo"), F_OK), 0);
    }
}

Test(open, ring_open_to_others_refused)
{
    rp_queue_opts o = th_opts(1 << 14);
    cr_assert_eq(open_rc("ww", &o), 0);
    const unsigned others[] = { 0666, 0604, 0602 };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(chmod(ring_path("ww"), others[i]), 0);
        cr_assert_eq(open_rc("ww", &o), RP_EPERM, "mode %o accepted", others[i]);
    }
}

/* A ring owned by another user is refused, unless shared on purpose with a
 * group we name (and that group may read and write it). Needs root to give
 * a file away. */
Test(open, foreign_owner_refused_unless_group_shared)
{
    rp_queue_opts o = th_opts(1 << 14);
    rp_queue *q = NULL;
    char why[300];
    struct stat st;
    if (geteuid() != 0)
        cr_skip_test("needs root to chown a ring to another user");
    cr_assert_eq(open_rc("foreign", &o), 0);
    cr_assert_eq(chown(ring_path("foreign"), 4242, 4343), 0);
    cr_assert_eq(rp_queue_open_why(&q, "foreign", &o, why, sizeof why), RP_EPERM);
    cr_assert_not_null(strstr(why, "owned by uid 4242"), "%s", why);
    cr_assert_not_null(strstr(why, "name it (ring.group, --group, group=)"), "names what a user can set: %s", why);
    o.flags |= RP_OPT_GROUP;
    o.gid = 4343;
    cr_assert_eq(open_rc("foreign", &o), RP_EPERM, "group without rw access (mode 0600) accepted");
    cr_assert_eq(chmod(ring_path("foreign"), 0660), 0);
    cr_assert_eq(open_rc("foreign", &o), 0, "shared with our group, refused");
    o.gid = 4444;
    cr_assert_eq(open_rc("foreign", &o), RP_EPERM, "another group accepted");

    o.gid = 4343; /* a new shared ring gets the group and 0660 */
    cr_assert_eq(open_rc("shared", &o), 0);
    cr_assert_eq(stat(ring_path("shared"), &st), 0);
    cr_assert_eq(st.st_gid, 4343);
    cr_assert_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);
}

/* Issue 14: a RINGPUB_DIR that does not exist said "no such queue". */
Test(open, missing_ring_directory_is_named)
{
    rp_queue_opts o = th_opts(1 << 14);
    rp_queue *q = NULL;
    char why[300], dir[300];
    snprintf(dir, sizeof dir, "%s/not-there", th_dir());
    o.dir = dir;
    cr_assert_eq(rp_queue_open_why(&q, "x", &o, why, sizeof why), RP_ENODIR);
    cr_assert_str_eq(rp_strerror(RP_ENODIR), "the ring directory does not exist");
    cr_assert_not_null(strstr(why, dir), "%s", why);
    cr_assert_not_null(strstr(why, "RINGPUB_DIR"), "%s", why);
}

Test(open, symlink_never_followed)
{
    rp_queue_opts o = th_opts(1 << 14);
    char target[300], real[300];
    cr_assert_eq(open_rc("real", &o), 0);
    snprintf(real, sizeof real, "%s", ring_path("real"));
    cr_assert_eq(symlink(real, ring_path("link")), 0);
    cr_assert_eq(open_rc("link", &o), RP_EPERM, "opened a ring through a symlink");
    /* a dangling symlink is not created through either */
    snprintf(target, sizeof target, "%s/victim", th_dir());
    cr_assert_eq(symlink(target, ring_path("dangling")), 0);
    cr_assert_neq(open_rc("dangling", &o), 0);
    cr_assert_neq(access(target, F_OK), 0, "a file was created through the symlink");
}

Test(open, directory_or_fifo_refused)
{
    rp_queue_opts o = th_opts(1 << 14);
    cr_assert_eq(mkdir(ring_path("adir"), 0700), 0);
    cr_assert_neq(open_rc("adir", &o), 0);
    cr_assert_eq(mkfifo(ring_path("afifo"), 0600), 0);
    cr_assert_eq(open_rc("afifo", &o), RP_EPERM);
}

Test(open, no_create_and_ringpub_dir)
{
    rp_queue_opts o = th_opts(1 << 14);
    o.flags = RP_OPT_NO_CREATE;
    cr_assert_eq(open_rc("absent", &o), RP_ENOENT);
    /* with opts.dir unset, RINGPUB_DIR decides */
    cr_assert_eq(setenv("RINGPUB_DIR", th_dir(), 1), 0);
    rp_queue_opts e;
    memset(&e, 0, sizeof e);
    e.capacity = 1 << 14;
    e.max_event = 1024;
    cr_assert_eq(open_rc("viaenv", &e), 0);
    cr_assert_eq(access(ring_path("viaenv"), F_OK), 0);
    cr_assert_eq(setenv("RINGPUB_DIR", "/nonexistent/ringpub", 1), 0);
    cr_assert_eq(open_rc("viaenv", &e), RP_ENODIR, "a missing directory is named as such");
    unsetenv("RINGPUB_DIR");
}

Test(open, creator_sets_geometry)
{
    rp_queue_opts a = th_opts(1 << 16), b = th_opts(1 << 20);
    a.max_event = 1000;
    b.max_event = 50000;
    rp_queue *qa, *qb;
    cr_assert_eq(rp_queue_open(&qa, "geo", &a), 0);
    cr_assert_eq(rp_queue_open(&qb, "geo", &b), 0);
    cr_assert_eq(rp_queue_max_event(qb), 1000);
    static char big[1001];
    cr_assert_eq(rp_queue_put(qb, big, sizeof big), RP_ETOOBIG);
    cr_assert_eq(rp_queue_put(qb, big, 1000), 0);
    rp_stats st;
    char why[256];
    cr_assert_eq(rp_ring_stat("geo", &b, &st, why, sizeof why), 0, "%s", why);
    cr_assert_eq(st.capacity, 1 << 16);
    cr_assert_eq(st.creator_pid, (uint32_t)getpid());
    rp_queue_close(qa);
    rp_queue_close(qb);
}

Test(open, one_consumer_at_a_time)
{
    rp_queue_opts o = th_opts(1 << 14);
    rp_consumer *c1, *c2;
    char why[256];
    rp_stats st;
    c1 = th_consumer("solo", &o);
    cr_assert_eq(rp_consumer_open(&c2, "solo", &o, why, sizeof why), RP_EBUSY);
    cr_assert_not_null(strstr(why, "already has a consumer"), "%s", why);
    cr_assert_eq(rp_ring_stat("solo", &o, &st, why, sizeof why), 0);
    cr_assert_eq(st.consumer_attached, 1);
    rp_consumer_close(c1);
    cr_assert_eq(rp_ring_stat("solo", &o, &st, why, sizeof why), 0);
    cr_assert_eq(st.consumer_attached, 0);
    c2 = th_consumer("solo", &o);
    rp_consumer_close(c2);
}

/* A consumer killed with unreleased batches: its successor starts at the
 * released head — nothing released is repeated, nothing unreleased lost. */
#define TOTAL 20000u
#define RELEASED 7000u

Test(open, consumer_restart_resumes_at_head)
{
    rp_queue_opts o = th_opts(1 << 22);
    rp_queue *q;
    int ready[2], status;
    char x;
    th_sink s;

    cr_assert_eq(rp_queue_open(&q, "restart", &o), 0);
    cr_assert_eq(th_produce(q, 0, 0, TOTAL, TH_EV_MIN, 200, 5), TOTAL);
    cr_assert_eq(pipe(ready), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        rp_consumer *c;
        th_sink cs;
        memset(&cs, 0, sizeof cs);
        if (rp_consumer_open(&c, "restart", &o, NULL, 0) != 0)
            _exit(2);
        /* release exactly RELEASED events, then poll more without releasing */
        rp_event ev[1000];
        rp_batch b = { ev, 1000, 0, 0, 0, 0 };
        uint64_t done = 0;
        while (done < RELEASED) {
            b.max_events = RELEASED - done < 1000 ? RELEASED - done : 1000;
            int n = rp_consumer_poll(c, &b, 1 << 30);
            if (n <= 0 || rp_consumer_release(c, &b) != 0)
                _exit(3);
            done += (uint64_t)n;
        }
        b.max_events = 1000;
        if (rp_consumer_poll(c, &b, 1 << 30) <= 0)
            _exit(4);
        if (write(ready[1], "r", 1) != 1)
            _exit(5);
        pause(); /* killed here, holding an unreleased batch */
        _exit(6);
    }
    close(ready[1]);
    cr_assert_eq(read(ready[0], &x, 1), 1, "the child consumer failed");
    cr_assert_eq(kill(child, SIGKILL), 0);
    cr_assert_eq(waitpid(child, &status, 0), child);

    rp_consumer *c = th_consumer("restart", &o); /* the OFD lock died with it */
    memset(&s, 0, sizeof s);
    s.next[0] = RELEASED; /* the successor must start exactly here */
    cr_assert_eq(th_drain(c, &s, TOTAL - RELEASED, TH_DEADLINE_MS), 0);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.next[0], TOTAL);
    cr_assert_eq(s.events, TOTAL - RELEASED);
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.events_out, TOTAL, "counters survive the restart");
    cr_assert_eq(st.head, st.tail);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* wait/wake: a sleeping consumer is woken by one put; a consumer that is
 * not asleep costs producers no wake-up; an empty wait times out. */
Test(open, sleeping_consumer_woken_by_put)
{
    rp_queue_opts o = th_opts(1 << 14);
    rp_queue *q;
    pthread_t t;
    th_waiter w;
    rp_stats st;

    cr_assert_eq(rp_queue_open(&q, "wake", &o), 0);
    w.c = th_consumer("wake", &o);
    th_tsan_share_mapping(w.c, q);
    uint64_t t0 = th_now_ms();
    cr_assert_eq(rp_consumer_wait(w.c, 50), RP_ETIMEDOUT);
    cr_assert_geq(th_now_ms() - t0, 50);

    cr_assert_eq(pthread_create(&t, NULL, th_wait_thread, &w), 0);
    /* await the consumer's sleeping flag (bounded), then put once */
    uint64_t deadline = th_now_ms() + TH_DEADLINE_MS;
    while (!__atomic_load_n(&q->m.hdr->sleeping, __ATOMIC_SEQ_CST) && th_now_ms() < deadline)
        sched_yield();
    cr_assert_eq(rp_queue_put(q, "wake up", 7), 0);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, 0);
    cr_assert_lt(w.waited_ms, 10000, "woken after %llu ms", (unsigned long long)w.waited_ms);
    rp_consumer_stats(w.c, &st);
    cr_assert_eq(st.wakeups, 1);

    /* the consumer is awake: puts make no wake-up */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(rp_queue_put(q, "more", 4), 0);
    rp_consumer_stats(w.c, &st);
    cr_assert_eq(st.wakeups, 1);
    cr_assert_eq(rp_consumer_wait(w.c, 1000), 0, "events are ready");
    rp_consumer_close(w.c);
    rp_queue_close(q);
}

/* A consumer killed in the middle of releasing (after marking `releasing`,
 * part way through refilling the space) must not leave a ring that reads as
 * corrupt: the next consumer finishes that release and resumes after it. */
Test(open, consumer_killed_mid_release_is_finished_on_reopen)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    th_sink s;
    cr_assert_eq(rp_queue_open(&q, "midrel", &o), 0);
    cr_assert_eq(th_produce(q, 0, 0, 10, 200, 200, 1), 10);
    rp_consumer *c = th_consumer("midrel", &o);
    rp_event ev[5];
    rp_batch b = { ev, 5, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(c, &b, 1 << 20), 5);
    /* what release_to would do, stopped half way: releasing set, first half
     * of the space zeroed, head not moved */
    uint64_t half = b.start + ((b.end - b.start) / 2 & ~(uint64_t)7);
    __atomic_store_n(&c->m.hdr->releasing, b.end, __ATOMIC_RELEASE);
    for (uint64_t p = b.start; p < half; p += 8)
        *(uint64_t *)(void *)(c->m.data + (p & c->m.mask)) = 0;
    rp_consumer_close(c); /* dies without releasing */

    c = th_consumer("midrel", &o);
    memset(&s, 0, sizeof s);
    s.next[0] = 5; /* events 0-4 were released: 5-9 must follow, intact */
    cr_assert_eq(th_drain(c, &s, 5, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.next[0], 10);
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, st.tail);
    rp_consumer_close(c);
    /* and the refilled space is usable again */
    cr_assert_eq(th_produce(q, 0, 10, 300, 200, 200, 2), 300);
    rp_queue_close(q);
}
