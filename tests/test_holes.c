/* A stalled producer's record (a hole) and the daemon's batches: the ring
 * steps over the hole, hands out the events after it, and hands the hole's
 * event out late, alone, when it commits. Every sealed batch's recorded
 * range (seals.h) must still be exactly its events, or a daemon restarted
 * after kill -9 rebuilds other batches under the recorded ids: duplicates,
 * or, for a batch already delivered, the hole's event skipped as sent. The
 * collector stays down and there is no spool, so no batch is safe and every
 * record stays in the log to be read; then the daemon is killed and started
 * again with the collector up, and rebuilds those batches: every event
 * arrives, once. */
#include "rig.h"

#include "check.h"
#include "seals.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

TestSuite(holes, .fini = rig_fini);

#define LOG_REL "spool/e2e.sealed"

/* The stalled producer: claims, says whether it could (and where), waits
 * to be told, commits. */
typedef struct {
    rp_queue *q;
    int told[2], go[2];
    uint64_t pos;
} staller;

static void *stall(void *p)
{
    staller *s = (staller *)p;
    static const char ev[] = "{\"p\":0,\"s\":0,\"who\":\"the stalled producer\"}";
    rp_claim c;
    char x = rp_queue_claim(s->q, sizeof ev - 1, &c) == 0;
    if (x) {
        memcpy(c.data, ev, sizeof ev - 1);
        s->pos = c.pos;
    }
    if (write(s->told[1], &x, 1) != 1 || !x || read(s->go[0], &x, 1) != 1)
        return NULL;
    rp_queue_commit(s->q, &c, sizeof ev - 1);
    return s;
}

/* An event put through a claim, so the test knows its position. */
static uint64_t put_at(rp_queue *q, int seq)
{
    char ev[64];
    rp_claim c;
    int len = snprintf(ev, sizeof ev, "{\"p\":1,\"s\":%d,\"who\":\"after the hole\"}", seq);
    cr_assert_eq(rp_queue_claim(q, (size_t)len, &c), 0);
    memcpy(c.data, ev, (size_t)len);
    cr_assert_eq(rp_queue_commit(q, &c, (size_t)len), 0);
    return c.pos;
}

/* The records in the seal log now (the daemon writes them through a shared
 * mapping: read as they are). */
static int read_log(pub_seal_rec *out, int max)
{
    pub_seal_file *f;
    int n = 0;
    FILE *fp = fopen(path_in(LOG_REL), "r");
    if (!fp)
        return 0;
    f = (pub_seal_file *)mmap(NULL, sizeof *f, PROT_READ, MAP_SHARED, fileno(fp), 0);
    fclose(fp);
    if (f == MAP_FAILED)
        return 0;
    for (int i = 0; i < PUB_SEAL_SLOTS && n < max; i++)
        if (f->slot[i].check != 0)
            out[n++] = f->slot[i];
    munmap(f, sizeof *f);
    return n;
}

typedef struct {
    const uint64_t *pos;
    int n;
} wanted;

/* Every position in w lies in a recorded range. */
static int all_recorded(void *ctx)
{
    const wanted *w = (const wanted *)ctx;
    pub_seal_rec r[64];
    int n = read_log(r, 64);
    for (int k = 0; k < w->n; k++) {
        int in = 0;
        for (int i = 0; i < n && !in; i++)
            in = r[i].first <= w->pos[k] && w->pos[k] <= r[i].last;
        if (!in)
            return 0;
    }
    return 1;
}

static void say_log(char *out, size_t len)
{
    pub_seal_rec r[64];
    int n = read_log(r, 64);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, " [%llu, %llu]", (unsigned long long)r[i].first,
                                 (unsigned long long)r[i].last);
}

/* Wait (bounded) until the n events at pos are all in recorded ranges;
 * log gets the records as they are then. */
static void await_recorded(const uint64_t *pos, int n, uint64_t hole, char *log, size_t len, const char *what)
{
    wanted w = { pos, n };
    int ok = th_await(all_recorded, &w, 20000, 10);
    say_log(log, len);
    cr_assert(ok, "%s (hole at %llu):%s", what, (unsigned long long)hole, log);
}

Test(holes, batches_never_span_a_hole_and_its_late_event_travels_alone, .init = rig_setup)
{
    rp_queue_opts o;
    staller s = { 0 };
    pthread_t t;
    uint64_t pos[7];
    pub_seal_rec r[64];
    char log[2048], x = 1;
    int n, holders = 0;

    /* nobody listens on the port: every batch stays out, retried */
    int port = free_port();
    rig_config(port, "spool.max_bytes = 0\ninflight.max = 64\nbatch.max_age = 200ms\n");
    pid_t d = rig_daemon();
    s.q = rig_direct_queue(&o);
    cr_assert_eq(pipe(s.told), 0);
    cr_assert_eq(pipe(s.go), 0);
    cr_assert_eq(pthread_create(&t, NULL, stall, &s), 0);
    cr_assert(read(s.told[0], &x, 1) == 1 && x == 1, "the stalled producer could not claim");
    pos[0] = s.pos;

    /* events after the hole: the daemon steps over it and batches them */
    for (int i = 1; i <= 3; i++)
        pos[i] = put_at(s.q, i - 1);
    await_recorded(pos + 1, 3, pos[0], log, sizeof log, "the events after the hole were never sealed");

    /* the hole's event commits while more events come after it */
    cr_assert_eq(write(s.go[1], &x, 1), 1);
    for (int i = 4; i <= 6; i++)
        pos[i] = put_at(s.q, i - 1);
    cr_assert_eq(pthread_join(t, NULL), 0);
    await_recorded(pos, 7, pos[0], log, sizeof log, "not every event is in a recorded range");

    n = read_log(r, 64);
    for (int i = 0; i < n; i++) {
        cr_assert_leq(r[i].first, r[i].last, "an inverted range:%s", log);
        for (int j = 0; j < i; j++)
            cr_assert(r[i].last < r[j].first || r[j].last < r[i].first, "ranges overlap:%s", log);
        if (r[i].first <= pos[0] && pos[0] <= r[i].last) {
            holders++;
            cr_assert(r[i].first == pos[0] && r[i].last == pos[0],
                      "the hole's event (at %llu) shares a range with others:%s", (unsigned long long)pos[0], log);
        }
    }
    cr_assert_eq(holders, 1, "the hole's event is in %d ranges:%s", holders, log);

    stop(d, SIGKILL);
    pid_t col = rig_collector(port, NULL, NULL);
    d = rig_daemon();
    uint64_t acc[2] = { 1, 6 };
    tally tl;
    rig_deliver_and_stop(&tl, 2, acc, 7, d, col);
    cr_assert_eq(tl.dups, 0, "%llu duplicates after the restart", (unsigned long long)tl.dups);
    rp_queue_close(s.q);
}
