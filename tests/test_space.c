/* The ring's memory is reserved when it is created: a memory filesystem
 * without room (Docker's 64 MiB /dev/shm, a small emptyDir) is an error at
 * open, never a SIGBUS inside a put later; an absurd capacity is refused
 * with what there is; the default geometry fits Docker's /dev/shm twice.
 * Each test mounts its own tmpfs in a private mount namespace (Criterion
 * runs every test in a process of its own). */
#include "helpers.h"

#include "check.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

static char mnt[64];

/* Unmount before the directory goes: a mount point cannot be removed. */
static void space_fini(void)
{
    if (mnt[0])
        umount2(mnt, MNT_DETACH);
    th_cleanup();
}

TestSuite(space, .fini = space_fini);

/* A tmpfs of `size` (mount syntax) at a fresh directory, seen by this test
 * process only. Skips when mount namespaces are not allowed here. */
static const char *small_shm(const char *size)
{
    char opt[64];
    if (unshare(CLONE_NEWNS) != 0)
        cr_skip_test("no mount namespaces here (unshare: not root?)");
    cr_assert_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    snprintf(mnt, sizeof mnt, "%s/mnt", th_dir());
    cr_assert_eq(mkdir(mnt, 0700), 0);
    snprintf(opt, sizeof opt, "size=%s,mode=0700", size);
    cr_assert_eq(mount("tmpfs", mnt, "tmpfs", 0, opt), 0);
    return mnt;
}

static rp_queue_opts in(const char *dir, uint64_t capacity)
{
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.dir = dir;
    o.capacity = capacity;
    o.max_event = 1024;
    return o;
}

/* The sizes of layout 1's failure: a ring bigger than the filesystem, and
 * a second ring when the first took the room. Both fail at open now. */
Test(space, a_ring_that_does_not_fit_fails_at_open)
{
    const char *d = small_shm("1m");
    rp_queue *q, *q2;
    char why[256];
    rp_queue_opts big = in(d, 2 << 20), half = in(d, 512 << 10);

    cr_assert_eq(rp_queue_open_why(&q, "big", &big, why, sizeof why), RP_ENOSPC, "%s", why);
    cr_assert_not_null(strstr(why, "MiB free"), "says how much there is: %s", why);
    cr_assert_eq(rp_queue_open_why(&q, "a", &half, why, sizeof why), 0, "%s", why);
    cr_assert_eq(rp_queue_open_why(&q2, "b", &half, why, sizeof why), RP_ENOSPC, "%s", why);
    cr_assert_null(q2);
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "%s/a", d);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_geq((uint64_t)st.st_blocks * 512, (uint64_t)st.st_size, "every byte of the ring is allocated");
    rp_queue_close(q);
}

/* Fill a ring on a nearly full filesystem: puts say RP_EFULL, never SIGBUS;
 * every accepted event is read back. */
Test(space, a_full_filesystem_cannot_make_a_put_fault)
{
    const char *d = small_shm("600k");
    rp_queue_opts o = in(d, 512 << 10);
    o.flags = RP_OPT_NO_POPULATE; /* no pre-fault hides a sparse file: only the allocation counts */
    rp_queue *q;
    th_sink s;
    char why[256];
    uint8_t ev[200];

    cr_assert_eq(rp_queue_open_why(&q, "fill", &o, why, sizeof why), 0, "%s", why);
    /* take whatever room is left with another file */
    char path[128];
    snprintf(path, sizeof path, "%s/filler", d);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    memset(ev, 0x5a, sizeof ev);
    while (fwrite(ev, 1, sizeof ev, f) == sizeof ev && fflush(f) == 0)
        ;
    fclose(f);
    rp_consumer *c = th_consumer("fill", &o);
    uint64_t put = 0;
    for (uint64_t seq = 0;; seq++) {
        th_ev_fill(ev, 1, seq, sizeof ev);
        int rc = rp_queue_put(q, ev, sizeof ev);
        if (rc == RP_EFULL)
            break;
        cr_assert_eq(rc, 0, "put: %s", rp_strerror(rc));
        put++;
    }
    cr_assert_gt(put, (512u << 10) / 256, "the whole ring was usable: %llu events", (unsigned long long)put);
    memset(&s, 0, sizeof s);
    cr_assert_eq(th_drain(c, &s, put, TH_DEADLINE_MS), 0, "poll: %s", rp_consumer_why(c));
    cr_assert_eq(s.events, put);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    rp_consumer_close(c);
    rp_queue_close(q);
}

/* `ringctl create --capacity 1e12` and `ring.capacity = 1TiB` went through
 * and then faulted in RAM: refused now, with the numbers. */
Test(space, absurd_capacity_is_refused_with_what_there_is)
{
    rp_queue *q;
    char why[256];
    rp_queue_opts o = th_opts((uint64_t)1e12);
    cr_assert_eq(rp_queue_open_why(&q, "huge", &o, why, sizeof why), RP_ENOSPC, "%s", why);
    cr_assert_not_null(strstr(why, "does not fit"), "%s", why);
    cr_assert_not_null(strstr(why, "MiB free"), "%s", why);
}

/* Docker's default /dev/shm is 64 MiB: two queues of the default geometry
 * fit, with room to spare. */
Test(space, default_geometry_fits_docker_shm_twice)
{
    const char *d = small_shm("64m");
    rp_queue *q1, *q2;
    char why[256];
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.dir = d;
    cr_assert_eq(rp_queue_open_why(&q1, "events", &o, why, sizeof why), 0, "%s", why);
    cr_assert_eq(rp_queue_open_why(&q2, "audit", &o, why, sizeof why), 0, "%s", why);
    cr_assert_eq(q1->m.capacity, RP_DEFAULT_CAPACITY);
    cr_assert_leq(2 * (RP_HDR_SIZE + RP_DEFAULT_CAPACITY), (uint64_t)48 << 20, "a quarter left over");
    rp_queue_close(q1);
    rp_queue_close(q2);
}

/* Rings of the older layouts (1, and 2, which had no pins) are refused
 * with one clear line. */
Test(space, older_layout_rings_are_refused)
{
    rp_queue_opts o = th_opts(1 << 16);
    rp_queue *q;
    char path[128], why[256], want[96];
    cr_assert_eq(rp_queue_open(&q, "old", &o), 0);
    rp_queue_close(q);
    snprintf(path, sizeof path, "%s/old", th_dir());
    o.flags |= RP_OPT_NO_CREATE;
    for (uint64_t v = 1; v < RP_LAYOUT_MAJOR; v++) {
        FILE *f = fopen(path, "r+");
        cr_assert_not_null(f);
        uint64_t ident = (uint64_t)RP_MAGIC | v << 32 | (uint64_t)1 << 48;
        cr_assert_eq(fwrite(&ident, 8, 1, f), 1);
        fclose(f);
        cr_assert_eq(rp_queue_open_why(&q, "old", &o, why, sizeof why), RP_EVERSION, "%s", why);
        snprintf(want, sizeof want, "ring layout version %u, this build reads only version %u", (unsigned)v,
                 RP_LAYOUT_MAJOR);
        cr_assert_not_null(strstr(why, want), "%s", why);
    }
}
