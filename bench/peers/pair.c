/*
 * pair.c — the paired peer harness's driver (see pair.h): forks one
 * consumer and P producers, opens the counted window after a warm-up, and
 * prints one JSON line:
 *   {"transport":..,"size":..,"producers":..,"exclusive":..,"read":..,"backoff":..,"msgs":..,
 *    "seconds":..,"msgs_per_s":..,"mb_per_s":..,"errors":..,"offers":..,"backpressured":..,
 *    "consumer_cpu_ns_per_msg":..,"producer_cpu_ns_per_msg":..}
 * (CPU: each child's user + system time from go to its end, over every message
 * the consumer counted in that time; a spinning consumer's idle spins count)
 * msgs_per_s is counted at the consumer. Bounded: the run ends after
 * warmup + seconds, and the children are killed 10 s after that at the latest.
 *
 * Back pressure (--backoff): `spin` retries a refused offer at once, as
 * Aeron's streaming_publisher sample does (aeron_idle_strategy_busy_spinning);
 * `yield` retries at once PAIR_SPINS times in a row, then yields the CPU, as
 * the spin-then-yield stages of Aeron's back-off idle strategy do. On a
 * machine with fewer CPUs than processes a spinning producer takes CPU time
 * from the consumer it waits for; every transport runs under the same policy.
 *
 * What the consumer reads: each message's sequence number and producer id
 * (checked in order); with --read also every other byte, compared with the
 * filler the producer put there — the cost a real consumer pays to read an
 * event, which at large sizes is the line transfer between the two CPUs.
 */
#include "pair.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#define MAX_PRODUCERS 16

typedef struct ctl {
    int ready, go, stop;
    int failed;
    char why[256];
    uint64_t msgs, errors;      /* counted in the window */
    double window;              /* its real length, s */
    uint64_t msgs_all;          /* counted from go to the end, warm-up included */
    double cpu[MAX_PRODUCERS + 1]; /* CPU s (user + system) of each child; [0] the consumer */
    uint64_t offers[MAX_PRODUCERS], backpressured[MAX_PRODUCERS];
} ctl;

static ctl *C;
static uint64_t seen, bad;
static uint64_t next_seq[MAX_PRODUCERS];
static int read_all; /* --read */
static char filler[1u << 20]; /* every message's bytes after its first 16 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pair_seen(const void *msg, size_t len)
{
    uint64_t seq, id;
    seen++;
    if (len < 16) {
        bad++;
        return;
    }
    memcpy(&seq, msg, 8);
    memcpy(&id, (const char *)msg + 8, 8);
    if (read_all && memcmp((const char *)msg + 16, filler, len - 16) != 0) {
        bad++;
        return;
    }
    if (id >= MAX_PRODUCERS || seq != next_seq[id]) {
        bad++;
        if (id < MAX_PRODUCERS)
            next_seq[id] = seq + 1;
        return;
    }
    next_seq[id]++;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void fail(const char *why)
{
    snprintf(C->why, sizeof C->why, "%s", why);
    __atomic_store_n(&C->failed, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&C->stop, 1, __ATOMIC_RELEASE);
}

void pair_count(uint64_t n)
{
    if (read_all) /* nothing to read: a transport without messages (the memcpy floor) */
        fail("--read: this transport hands its consumer no messages to read");
    seen += n;
}

static void await_go(void)
{
    __atomic_fetch_add(&C->ready, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&C->go, __ATOMIC_ACQUIRE) && !__atomic_load_n(&C->stop, __ATOMIC_ACQUIRE))
        usleep(100);
}

static void run_consumer(const pair_opts *o)
{
    char why[256] = "";
    void *c = pair_this.consumer(o, why, sizeof why);
    if (!c) {
        fail(why);
        _exit(1);
    }
    await_go();
    double t0 = now_s(), open = t0 + o->warmup, close = open + o->seconds, t = t0;
    uint64_t at_open = 0, bad_open = 0;
    int counting = 0;
    while (!__atomic_load_n(&C->stop, __ATOMIC_ACQUIRE)) {
        if (pair_this.poll(c) < 0) {
            fail("the consumer's poll failed");
            _exit(1);
        }
        t = now_s();
        if (!counting && t >= open) {
            counting = 1;
            at_open = seen, bad_open = bad, open = t;
        } else if (counting && t >= close) {
            break;
        }
    }
    C->msgs = seen - at_open;
    C->errors = bad - bad_open;
    C->window = t - open;
    C->msgs_all = seen;
    C->cpu[0] = cpu_s();
    __atomic_store_n(&C->stop, 1, __ATOMIC_RELEASE);
    _exit(0);
}

static void run_producer(const pair_opts *o, int id)
{
    char why[256] = "";
    void *p = pair_this.producer(o, id, why, sizeof why);
    unsigned char *msg = (unsigned char *)malloc(o->size);
    uint64_t seq = 0, offers = 0, backpressured = 0, ident = (uint64_t)id;
    unsigned refused = 0; /* in a row */
    if (!p || !msg) {
        fail(p ? "out of memory" : why);
        _exit(1);
    }
    memcpy(msg, filler, o->size);
    memcpy(msg + 8, &ident, 8);
    await_go();
    while (((offers & 1023) != 0 || !__atomic_load_n(&C->stop, __ATOMIC_RELAXED))) {
        memcpy(msg, &seq, 8);
        int rc = pair_this.offer(p, msg, o->size);
        offers++;
        if (rc == 0) {
            seq++;
            refused = 0;
        } else if (rc == 1) {
            backpressured++;
            if (__atomic_load_n(&C->stop, __ATOMIC_RELAXED))
                break;
            if (o->yield && ++refused == PAIR_SPINS) {
                sched_yield();
                refused = 0;
            }
        } else {
            fail("a producer's offer failed");
            _exit(1);
        }
    }
    C->offers[id] = offers;
    C->backpressured[id] = backpressured;
    C->cpu[id + 1] = cpu_s();
    _exit(0);
}

static int parse(int argc, char **argv, pair_opts *o)
{
    *o = (pair_opts){ 64, 1, 2.0, 0.5, 0, (uint64_t)16 << 20, "/dev/shm", 0, 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--exclusive") == 0) {
            o->exclusive = 1;
            continue;
        }
        if (strcmp(a, "--read") == 0) {
            o->read = 1;
            continue;
        }
        if (!v)
            return fprintf(stderr, "%s: %s needs a value\n", argv[0], a), -1;
        errno = 0;
        if (strcmp(a, "--size") == 0)
            o->size = strtoul(v, &end, 10);
        else if (strcmp(a, "--producers") == 0)
            o->producers = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = strtod(v, &end);
        else if (strcmp(a, "--warmup") == 0)
            o->warmup = strtod(v, &end);
        else if (strcmp(a, "--capacity") == 0)
            o->capacity = strtoull(v, &end, 10);
        else if (strcmp(a, "--dir") == 0)
            o->dir = v, end = (char *)v + strlen(v);
        else if (strcmp(a, "--backoff") == 0 && (strcmp(v, "spin") == 0 || strcmp(v, "yield") == 0))
            o->yield = v[0] == 'y', end = (char *)v + strlen(v);
        else if (strcmp(a, "--backoff") == 0)
            end = NULL; /* neither: a bad value */
        else
            return fprintf(stderr, "%s: unknown option %s\n", argv[0], a), -1;
        if (errno || !end || *end)
            return fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], a, v), -1;
        i++;
    }
    if (o->size < 16 || o->size > (1u << 20) || o->producers < 1 || o->producers > MAX_PRODUCERS ||
        !(o->seconds > 0 && o->seconds <= 60) || !(o->warmup >= 0 && o->warmup <= 10))
        return fprintf(stderr, "%s: --size 16..1048576, --producers 1..%d, --seconds (0,60], --warmup [0,10]\n",
                       argv[0], MAX_PRODUCERS), -1;
    return 0;
}

int main(int argc, char **argv)
{
    pair_opts o;
    char why[256] = "";
    pid_t kids[MAX_PRODUCERS + 1];
    int n = 0, status, rc = 0;

    if (parse(argc, argv, &o) != 0)
        return 2;
    memset(filler, 'm', sizeof filler);
    read_all = o.read;
    C = (ctl *)mmap(NULL, sizeof *C, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (C == MAP_FAILED || pair_this.setup(&o, why, sizeof why) != 0) {
        fprintf(stderr, "%s: %s\n", pair_this.name, C == MAP_FAILED ? "mmap failed" : why);
        return 1;
    }
    for (int i = -1; i < o.producers; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (i < 0)
                run_consumer(&o);
            run_producer(&o, i);
        }
        if (pid < 0) {
            fail("fork failed");
            break;
        }
        kids[n++] = pid;
    }
    double deadline = now_s() + 10;
    while (__atomic_load_n(&C->ready, __ATOMIC_ACQUIRE) < n && !__atomic_load_n(&C->failed, __ATOMIC_ACQUIRE) &&
           now_s() < deadline)
        usleep(1000);
    __atomic_store_n(&C->go, 1, __ATOMIC_RELEASE);
    deadline = now_s() + o.warmup + o.seconds + 10;
    for (int done = 0; done < n;) {
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            done++;
            rc |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        } else if (now_s() > deadline) {
            for (int i = 0; i < n; i++)
                kill(kids[i], SIGKILL); /* ours, by PID */
            fail("the run did not end in time");
            deadline = now_s() + 3600;
        } else {
            usleep(1000);
        }
    }
    pair_this.teardown(&o);
    if (C->failed || rc) {
        fprintf(stderr, "%s: %s\n", pair_this.name, C->why[0] ? C->why : "a child failed");
        return 1;
    }
    uint64_t offers = 0, bp = 0;
    double pcpu = 0;
    for (int i = 0; i < o.producers; i++)
        offers += C->offers[i], bp += C->backpressured[i], pcpu += C->cpu[i + 1];
    double rate = C->window > 0 ? (double)C->msgs / C->window : 0;
    printf("{\"transport\":\"%s\",\"size\":%zu,\"producers\":%d,\"exclusive\":%d,\"read\":%d,\"backoff\":\"%s\","
           "\"msgs\":%llu,\"seconds\":%.3f,"
           "\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,\"errors\":%llu,\"offers\":%llu,\"backpressured\":%llu,"
           "\"consumer_cpu_ns_per_msg\":%.1f,\"producer_cpu_ns_per_msg\":%.1f}\n",
           pair_this.name, o.size, o.producers, o.exclusive, o.read, o.yield ? "yield" : "spin", (unsigned long long)C->msgs,
           C->window, rate,
           rate * (double)o.size / 1e6, (unsigned long long)C->errors, (unsigned long long)offers,
           (unsigned long long)bp, C->msgs_all ? C->cpu[0] * 1e9 / (double)C->msgs_all : 0,
           C->msgs_all ? pcpu * 1e9 / (double)C->msgs_all : 0);
    return C->errors ? 1 : 0;
}
