/* A corrupt or foreign ring file is reported (RP_ECORRUPT / RP_EVERSION with
 * a message naming the problem), never a crash or a read out of bounds. */
#include "helpers.h"

#include "check.h"
#include "consumer_internal.h"
#include <fcntl.h>
#include <stddef.h>

TestSuite(corrupt, .fini = th_cleanup);

#define CAP (1u << 16)

static rp_queue_opts opts(void)
{
    rp_queue_opts o = th_opts(CAP);
    o.flags = RP_OPT_NO_POPULATE;
    return o;
}

/* Create ring `name` with a few events in it; return its path. */
static const char *make_ring(const char *name, int events)
{
    static char path[256];
    rp_queue_opts o = opts();
    rp_queue *q;
    uint8_t ev[100];
    cr_assert_eq(rp_queue_open(&q, name, &o), 0);
    for (int i = 0; i < events; i++) {
        th_ev_fill(ev, 0, (uint64_t)i, sizeof ev);
        cr_assert_eq(rp_queue_put(q, ev, sizeof ev), 0);
    }
    rp_queue_close(q);
    snprintf(path, sizeof path, "%s/%s", th_dir(), name);
    return path;
}

static void poke(const char *path, off_t off, const void *v, size_t n)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, v, n, off), (ssize_t)n);
    close(fd);
}

static void poke64(const char *path, off_t off, uint64_t v) { poke(path, off, &v, 8); }
static void poke32(const char *path, off_t off, uint32_t v) { poke(path, off, &v, 4); }

/* Opening ring `name` as consumer and as producer fails with rc, and the
 * consumer's message contains `needle`. */
static void expect_open_fails(const char *name, int rc, const char *needle)
{
    rp_queue_opts o = opts();
    o.flags |= RP_OPT_NO_CREATE;
    rp_consumer *c = NULL;
    rp_queue *q = NULL;
    char why[256];
    cr_assert_eq(rp_consumer_open(&c, name, &o, why, sizeof why), rc, "consumer: %s", why);
    cr_assert_not_null(strstr(why, needle), "message \"%s\" lacks \"%s\"", why, needle);
    cr_assert_eq(rp_queue_open_why(&q, name, &o, why, sizeof why), rc, "producer: %s", why);
    cr_assert_null(q);
}

Test(corrupt, foreign_file_bad_magic)
{
    const char *p = make_ring("magic", 0);
    poke32(p, offsetof(rp_ring_hdr, ident), 0x464c457f); /* an ELF file, say */
    expect_open_fails("magic", RP_ECORRUPT, "not a ringpub ring");
}

Test(corrupt, future_major_version)
{
    const char *p = make_ring("ver", 0);
    poke64(p, offsetof(rp_ring_hdr, ident), rp__ident() + ((uint64_t)1 << 32));
    char want[64];
    snprintf(want, sizeof want, "this build reads only version %u", RP_LAYOUT_MAJOR);
    expect_open_fails("ver", RP_EVERSION, want);
}

Test(corrupt, capacity_not_power_of_two)
{
    const char *p = make_ring("cap", 0);
    poke64(p, offsetof(rp_ring_hdr, capacity), CAP + 8);
    expect_open_fails("cap", RP_ECORRUPT, "bad geometry");
}

Test(corrupt, capacity_larger_than_file)
{
    const char *p = make_ring("big", 0);
    poke64(p, offsetof(rp_ring_hdr, capacity), (uint64_t)CAP * 4);
    expect_open_fails("big", RP_ECORRUPT, "file is");
}

Test(corrupt, truncated_file)
{
    const char *p = make_ring("trunc", 0);
    cr_assert_eq(truncate(p, RP_HDR_SIZE + CAP / 2), 0);
    expect_open_fails("trunc", RP_ECORRUPT, "file is");
    cr_assert_eq(truncate(p, 100), 0);
    expect_open_fails("trunc", RP_ECORRUPT, "shorter than its header");
}

Test(corrupt, max_event_over_capacity)
{
    const char *p = make_ring("maxev", 0);
    poke32(p, offsetof(rp_ring_hdr, max_event), CAP);
    expect_open_fails("maxev", RP_ECORRUPT, "max event");
}

Test(corrupt, head_after_tail)
{
    const char *p = make_ring("pos", 3);
    poke64(p, offsetof(rp_ring_hdr, head), 1 << 20);
    rp_queue_opts o = opts();
    rp_consumer *c;
    char why[256];
    cr_assert_eq(rp_consumer_open(&c, "pos", &o, why, sizeof why), RP_ECORRUPT);
    cr_assert_not_null(strstr(why, "positions invalid"), "%s", why);
}

Test(corrupt, tail_out_of_range_refused_by_producer)
{
    const char *p = make_ring("tail", 0);
    rp_queue_opts o = opts();
    rp_queue *q;
    int rc;
    cr_assert_eq(rp_queue_open(&q, "tail", &o), 0);
    poke64(p, offsetof(rp_ring_hdr, tail), (uint64_t)CAP * 3);
    rc = rp_queue_put(q, "abcdefgh", 8);
    cr_assert_eq(rc, RP_ECORRUPT, "put: %d %s", rc, rp_strerror(rc));
    poke64(p, offsetof(rp_ring_hdr, tail), 12); /* unaligned */
    rc = rp_queue_put(q, "abcdefgh", 8);
    cr_assert_eq(rc, RP_ECORRUPT, "put: %d %s", rc, rp_strerror(rc));
    /* A tail behind the head: a producer trusting its cached head may still
     * write inside the data area (never outside it); the consumer refuses. */
    poke64(p, offsetof(rp_ring_hdr, head), 4096);
    poke64(p, offsetof(rp_ring_hdr, tail), 1024);
    rp_queue_put(q, "abcdefgh", 8);
    rp_consumer *c;
    char why[256];
    cr_assert_eq(rp_consumer_open(&c, "tail", &o, why, sizeof why), RP_ECORRUPT);
    cr_assert_not_null(strstr(why, "positions invalid"), "%s", why);
    rp_queue_close(q);
}

/* Poll a ring whose first record header was overwritten with word. */
static void expect_poll_fails(const char *name, uint64_t word, const char *needle)
{
    const char *p = make_ring(name, 3);
    poke64(p, RP_HDR_SIZE, word);
    rp_queue_opts o = opts();
    rp_consumer *c = th_consumer(name, &o);
    rp_event ev[8];
    rp_batch b = { ev, 8, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(c, &b, 1 << 20), RP_ECORRUPT);
    cr_assert_not_null(strstr(rp_consumer_why(c), needle), "%s", rp_consumer_why(c));
    rp_consumer_close(c);
}

Test(corrupt, record_longer_than_max_event)
{
    expect_poll_fails("len", rp__rec_word(RP_REC_COMMIT, CAP / 2, 1), "over the max event");
}

Test(corrupt, record_past_tail)
{
    expect_poll_fails("past", rp__rec_word(RP_REC_SKIP, CAP / 2, 1), "runs past the tail");
}

Test(corrupt, record_header_without_tag)
{
    expect_poll_fails("live", 0x1234, "invalid header");
}

Test(corrupt, record_commit_and_skip)
{
    expect_poll_fails("flags", rp__rec_word(RP_REC_COMMIT | RP_REC_SKIP, 8, 1), "invalid header");
}

/* Poll, releasing each batch, until it reports corruption or runs dry;
 * checks each event's content and counts them. */
static int poll_good(rp_consumer *c, int *seen, uint64_t *next_seq)
{
    rp_event ev[16];
    rp_batch b = { ev, 16, 0, 0, 0, 0 };
    for (;;) {
        int n = rp_consumer_poll(c, &b, 1 << 20);
        if (n <= 0)
            return n;
        for (int i = 0; i < n; i++) {
            uint32_t id;
            uint64_t seq;
            cr_assert(th_ev_check(ev[i].data, ev[i].len, &id, &seq), "event content");
            cr_assert_geq(seq, *next_seq);
            *next_seq = seq + 1;
            (*seen)++;
        }
        cr_assert_eq(rp_consumer_release(c, &b), 0);
    }
}

/* A record smashed by a writer that bypassed the API: the events before it
 * are read, its bytes are handed out for quarantine, the events after it
 * are read, and every byte of the ring is released. */
Test(corrupt, smashed_record_is_quarantined_and_reading_resumes)
{
    const char *p = make_ring("smash", 10);
    uint64_t size = rp__rec_size(100), next_seq = 0;
    uint8_t junk[24];
    memset(junk, 0xa5, sizeof junk);
    poke(p, RP_HDR_SIZE + 5 * size, junk, sizeof junk);
    rp_queue_opts o = opts();
    rp_consumer *c = th_consumer("smash", &o);
    int seen = 0;
    cr_assert_eq(poll_good(c, &seen, &next_seq), RP_ECORRUPT);
    cr_assert_eq(seen, 5, "the events before the smashed one come first");
    cr_assert_not_null(strstr(rp_consumer_why(c), "record at position"), "%s", rp_consumer_why(c));

    rp_batch qb;
    rp_event bad;
    cr_assert_eq(rp_consumer_skip_corrupt(c, &qb, &bad), 0);
    cr_assert_eq(bad.pos, 5 * size);
    cr_assert_eq(bad.len, size, "exactly the smashed record: %u", bad.len);
    cr_assert_eq(memcmp(bad.data, junk, sizeof junk), 0);
    cr_assert_eq(qb.n, 0);
    cr_assert_eq(rp_consumer_release(c, &qb), 0);
    cr_assert_eq(rp_consumer_skip_corrupt(c, &qb, &bad), RP_EINVAL, "nothing left to skip");

    cr_assert_eq(poll_good(c, &seen, &next_seq), 0);
    cr_assert_eq(seen, 9, "the events after it follow");
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, st.tail, "all space released");
    rp_consumer_close(c);
}

/* Broken positions cannot be stepped over: skip_corrupt refuses. */
Test(corrupt, broken_positions_are_not_skippable)
{
    const char *p = make_ring("pos", 3);
    rp_queue_opts o = opts();
    rp_consumer *c = th_consumer("pos", &o);
    rp_event ev[4], bad;
    rp_batch b = { ev, 4, 0, 0, 0, 0 };
    poke64(p, offsetof(rp_ring_hdr, tail), (uint64_t)CAP * 5);
    cr_assert_eq(rp_consumer_poll(c, &b, 1 << 20), RP_ECORRUPT);
    cr_assert_eq(rp_consumer_skip_corrupt(c, &b, &bad), RP_EINVAL);
    rp_consumer_close(c);
}

/* Random bytes in the data area and random (valid) positions: poll either
 * reports corruption or returns views that lie inside the ring. */
Test(corrupt, random_garbage_never_escapes)
{
    const char *p = make_ring("junk", 0);
    static uint64_t junk[CAP / 8];
    uint64_t rng = 7;
    rp_queue_opts o = opts();
    int corrupt = 0, events = 0, skipped = 0;

    for (int round = 0; round < 300; round++) {
        for (size_t i = 0; i < CAP / 8; i++) {
            uint64_t r = th_rand(&rng);
            switch (r % 4) { /* mostly plausible headers, some noise */
            case 0: junk[i] = r; break;
            case 1: junk[i] = rp__rec_word(RP_REC_COMMIT, (uint32_t)(r >> 8) % 200, (uint32_t)(r >> 40)); break;
            case 2: junk[i] = rp__rec_word(RP_REC_SKIP, (uint32_t)(r >> 8) % 5000, 0); break;
            default: junk[i] = rp__rec_word(RP_REC_COMMIT | RP_REC_DONE, (uint32_t)(r >> 8) % 300, 0); break;
            }
        }
        uint64_t head = (th_rand(&rng) % (1u << 30)) & ~(uint64_t)7;
        uint64_t tail = head + ((th_rand(&rng) % CAP) & ~(uint64_t)7);
        poke(p, RP_HDR_SIZE, junk, sizeof junk);
        poke64(p, offsetof(rp_ring_hdr, head), head);
        poke64(p, offsetof(rp_ring_hdr, tail), tail);

        rp_consumer *c = th_consumer("junk", &o);
        rp_stats st;
        rp_consumer_stats(c, &st);
        rp_event ev[64];
        rp_batch b = { ev, 64, 0, 0, 0, 0 };
        for (int k = 0; k < 50; k++) {
            int n = rp_consumer_poll(c, &b, 1 << 20);
            if (n == RP_ECORRUPT) {
                rp_event bad;
                corrupt++;
                cr_assert_eq(rp_consumer_skip_corrupt(c, &b, &bad), 0, "%s", rp_consumer_why(c));
                const uint8_t *d = (const uint8_t *)bad.data;
                cr_assert(bad.len > 0 && d >= c->m.data && d + bad.len <= c->m.data + 2 * (size_t)CAP,
                          "quarantine view outside the ring");
                cr_assert_eq(rp_consumer_release(c, &b), 0);
                skipped++;
                continue;
            }
            cr_assert_geq(n, 0);
            for (int i = 0; i < n; i++) {
                const uint8_t *d = (const uint8_t *)ev[i].data;
                cr_assert_leq(ev[i].len, st.max_event);
                cr_assert(d >= c->m.data && d + ev[i].len <= c->m.data + 2 * (size_t)CAP,
                          "event view outside the ring");
                events++;
            }
            cr_assert_eq(rp_consumer_release(c, &b), 0);
        }
        rp_consumer_close(c);
    }
    cr_assert_gt(corrupt, 0, "some garbage must be recognised as such");
    cr_assert_gt(events, 0, "some garbage looks like events");
    cr_assert_eq(skipped, corrupt, "every corrupt record could be stepped over");
}

/* A ring file truncated under its consumer: check_file says so, and with
 * the guard a read of the lost pages sets the flag instead of killing the
 * process with SIGBUS; the fenced ring reads as empty. */
Test(corrupt, truncated_under_consumer_is_survivable)
{
    const char *p = make_ring("trunc", 5);
    rp_queue_opts o = opts();
    rp_consumer *c = th_consumer("trunc", &o);
    static volatile sig_atomic_t fault;
    char why[300];
    cr_assert_eq(rp_consumer_guard(c, &fault), 0);
    cr_assert_eq(rp_consumer_check_file(c, why, sizeof why), 0);
    cr_assert_eq(truncate(p, 4096), 0);
    cr_assert_eq(rp_consumer_check_file(c, why, sizeof why), RP_ECORRUPT);
    cr_assert_not_null(strstr(why, "truncated to 4096 bytes"), "%s", why);

    rp_event ev[8];
    rp_batch b = { ev, 8, 0, 0, 0, 0 };
    int n = rp_consumer_poll(c, &b, 1 << 20); /* touches the lost pages */
    cr_assert_eq(fault, 1, "the guard saw the fault");
    cr_assert_leq(n, 0, "no event read from lost pages");
    rp_stats st;
    rp_consumer_stats(c, &st);
    cr_assert_eq(st.head, st.tail, "fenced: empty");
    rp_consumer_close(c);
}

Test(corrupt, removed_under_consumer_is_reported)
{
    const char *p = make_ring("gone", 1);
    rp_queue_opts o = opts();
    rp_consumer *c = th_consumer("gone", &o);
    char why[300];
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(rp_consumer_check_file(c, why, sizeof why), RP_ENOENT);
    cr_assert_not_null(strstr(why, "removed"), "%s", why);
    rp_event ev[8];
    rp_batch b = { ev, 8, 0, 0, 0, 0 };
    cr_assert_eq(rp_consumer_poll(c, &b, 1 << 20), 1, "still readable");
    rp_consumer_close(c);
}
