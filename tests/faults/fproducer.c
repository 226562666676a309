/*
 * fproducer — a producer for the fault matrix (tests/faults/run).
 *
 * Puts numbered JSON events {"p":ID,"s":SEQ,"pad":"..."} and keeps its
 * count of accepted puts in a file (mmap'd, so it survives kill -9): after
 * the process is gone, events 0..count-1 of producer ID were accepted.
 * The event at `count` may have been accepted too (killed between put and
 * count update), so it is never counted as lost.
 * Faults it can make:
 *   --die-at HOOK:N   at put N, SIGKILL itself at point HOOK of the put
 *                     (1 reserved, 2 claimed, 3 copied: see ringpub.h)
 *   --garbage-every N after every N puts, claim a record and overwrite its
 *                     header with garbage (bypassing the API), never commit
 */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

static int die_hook, die_armed;
#define RP_TEST_HOOK(where) \
    do { if (die_armed && (where) == die_hook) raise(SIGKILL); } while (0)
#include <ringpub.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

typedef struct {
    uint64_t accepted, full, garbage;
} counts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *arg)
{
    fprintf(stderr, "fproducer: %s%s\n", what, arg);
    exit(2);
}

static counts *map_counts(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, sizeof(counts)) != 0)
        fail("cannot create ", path);
    counts *c = (counts *)mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (c == MAP_FAILED)
        fail("cannot map ", path);
    return c;
}

/* Claim a record and smash its header: the consumer must quarantine it. */
static void put_garbage(rp_queue *q, counts *c)
{
    rp_claim cl;
    if (rp_queue_claim(q, 64, &cl) != 0)
        return;
    memset(cl.data, 0xee, 64);
    uint64_t junk = 0x5a5a5a5a00ffffffull;
    memcpy((char *)cl.data - 8, &junk, 8);
    c->garbage++;
}

int main(int argc, char **argv)
{
    const char *queue = NULL, *acc = NULL;
    long id = 0, size = 200, die_n = -1, garbage_every = 0;
    double rate = 0, seconds = 30;
    unsigned long long events = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--queue")) queue = v;
        else if (!strcmp(a, "--id")) id = strtol(v, NULL, 10);
        else if (!strcmp(a, "--events")) events = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--size")) size = strtol(v, NULL, 10);
        else if (!strcmp(a, "--rate")) rate = strtod(v, NULL);
        else if (!strcmp(a, "--seconds")) seconds = strtod(v, NULL);
        else if (!strcmp(a, "--accepted")) acc = v;
        else if (!strcmp(a, "--garbage-every")) garbage_every = strtol(v, NULL, 10);
        else if (!strcmp(a, "--die-at")) {
            if (sscanf(v, "%d:%ld", &die_hook, &die_n) != 2 || die_hook < 1 || die_hook > 3)
                fail("--die-at wants HOOK:N with HOOK 1-3, got ", v);
        } else
            fail("unknown option ", a);
    }
    if (!queue || !acc || size < 40 || size > 4000)
        fail("need --queue and --accepted; --size 40-4000", "");
    counts *c = map_counts(acc);
    rp_queue *q;
    char why[300], ev[4200], pad[4100];
    int rc = rp_queue_open_why(&q, queue, NULL, why, sizeof why);
    if (rc)
        fail("open: ", why);
    memset(pad, 'x', (size_t)size - 30);
    pad[size - 30] = '\0';
    double t0 = now_s(), until = t0 + seconds;
    struct timespec nap = { 0, 200000 };
    while (c->accepted < events && now_s() < until) {
        if (rate > 0 && (double)c->accepted > (now_s() - t0) * rate) {
            nanosleep(&nap, NULL);
            continue;
        }
        if (garbage_every && c->accepted > 0 && c->accepted % (uint64_t)garbage_every == 0 &&
            c->garbage < c->accepted / (uint64_t)garbage_every)
            put_garbage(q, c);
        die_armed = (long)c->accepted == die_n;
        int len = snprintf(ev, sizeof ev, "{\"p\":%ld,\"s\":%llu,\"pad\":\"%s\"}", id,
                           (unsigned long long)c->accepted, pad);
        rc = rp_queue_put(q, ev, (size_t)len);
        if (rc == 0)
            __atomic_store_n(&c->accepted, c->accepted + 1, __ATOMIC_RELEASE);
        else if (rc == RP_EFULL || rc == RP_EABANDONED) {
            c->full += rc == RP_EFULL;
            nanosleep(&nap, NULL);
        } else
            fail("put: ", rp_strerror(rc));
    }
    printf("accepted %llu full %llu garbage %llu\n", (unsigned long long)c->accepted,
           (unsigned long long)c->full, (unsigned long long)c->garbage);
    rp_queue_close(q);
    return 0;
}
