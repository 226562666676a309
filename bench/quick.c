/*
 * quick.c — `zig build bench`: one producer process puts N events of a fixed
 * size into a ring while this process consumes them; then the same through
 * a POSIX message queue (what baseplate.py uses), in the same run.
 *
 *   quick [events] [size...]     defaults: 5000000 events; sizes 64 1024
 *
 * Prints producer puts/s, MB/s, full rejections and the ratio ringpub/mq.
 * The full load tester with percentiles and more baselines is ringbench.
 */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the producer child reports back through shared memory. */
typedef struct {
    double seconds;
    uint64_t puts, fulls;
    int rc;
} result;

static result *shared_result(void)
{
    void *p = mmap(NULL, sizeof(result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return (result *)p;
}

static void ring_producer(const rp_queue_opts *o, uint64_t n, size_t size, result *r)
{
    rp_queue *q;
    char ev[RP_DEFAULT_MAX_EVENT];
    memset(ev, 'x', size);
    if ((r->rc = rp_queue_open(&q, "bench-quick", o)) != 0)
        return;
    double t0 = now_s();
    for (uint64_t i = 0; i < n;) {
        memcpy(ev, &i, sizeof i);
        int rc = rp_queue_put(q, ev, size);
        if (rc == 0)
            i++;
        else if (rc == RP_EFULL)
            r->fulls++;
        else {
            r->rc = rc;
            return;
        }
    }
    r->seconds = now_s() - t0;
    r->puts = n;
    rp_queue_close(q);
}

static double bench_ring(uint64_t n, size_t size, const char *dir)
{
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.dir = dir;
    rp_consumer *c;
    char why[256];
    if (rp_consumer_open(&c, "bench-quick", &o, why, sizeof why) != 0) {
        fprintf(stderr, "quick: %s\n", why);
        exit(1);
    }
    result *r = shared_result();
    pid_t pid = fork();
    if (pid == 0) {
        ring_producer(&o, n, size, r);
        _exit(0);
    }
    rp_event ev[1024];
    rp_batch b = { ev, 1024, 0, 0, 0, 0 };
    uint64_t got = 0;
    double t0 = now_s();
    while (got < n && now_s() - t0 < 120) {
        int k = rp_consumer_poll(c, &b, 1 << 20);
        if (k < 0) {
            fprintf(stderr, "quick: poll: %s\n", rp_consumer_why(c));
            exit(1);
        }
        got += (uint64_t)k;
        rp_consumer_release(c, &b);
        if (k == 0)
            rp_consumer_wait(c, 100);
    }
    waitpid(pid, NULL, 0);
    double cons_s = now_s() - t0;
    if (r->rc || got != n) {
        fprintf(stderr, "quick: ring run failed: %s, %llu of %llu consumed\n", rp_strerror(r->rc),
                (unsigned long long)got, (unsigned long long)n);
        exit(1);
    }
    double rate = (double)n / r->seconds;
    printf("ringpub  %6zu B  %12.0f puts/s  %9.1f MB/s  consumer %12.0f ev/s  full %llu\n", size,
           rate, rate * (double)size / 1e6, (double)n / cons_s, (unsigned long long)r->fulls);
    rp_consumer_close(c);
    munmap(r, sizeof *r);
    return rate;
}

static double bench_mq(uint64_t n, size_t size)
{
    char name[64];
    struct mq_attr a = { 0 };
    a.mq_maxmsg = 10; /* the default /proc/sys/fs/mqueue/msg_max */
    a.mq_msgsize = (long)(size < 8192 ? 8192 : size);
    snprintf(name, sizeof name, "/ringpub-quick-%d", (int)getpid());
    mqd_t mq = mq_open(name, O_CREAT | O_RDWR, 0600, &a);
    if (mq == (mqd_t)-1) {
        printf("mq       %6zu B  unavailable: %s\n", size, strerror(errno));
        return 0;
    }
    result *r = shared_result();
    pid_t pid = fork();
    if (pid == 0) {
        char ev[RP_DEFAULT_MAX_EVENT];
        memset(ev, 'x', size);
        double t0 = now_s();
        for (uint64_t i = 0; i < n; i++)
            if (mq_send(mq, ev, size, 0) != 0)
                _exit(1);
        r->seconds = now_s() - t0;
        _exit(0);
    }
    static char buf[1 << 17];
    for (uint64_t i = 0; i < n; i++)
        if (mq_receive(mq, buf, sizeof buf, NULL) < 0)
            break;
    waitpid(pid, NULL, 0);
    mq_close(mq);
    mq_unlink(name);
    double rate = r->seconds > 0 ? (double)n / r->seconds : 0;
    printf("posix mq %6zu B  %12.0f puts/s  %9.1f MB/s\n", size, rate, rate * (double)size / 1e6);
    munmap(r, sizeof *r);
    return rate;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    size_t sizes[8] = { 64, 1024 };
    int nsizes = 2;
    char dir[] = "/dev/shm/ringpub-bench.XXXXXX", path[128];
    if (n == 0 || n > 1000000000) {
        fprintf(stderr, "quick: events must be 1..1e9\n");
        return 2;
    }
    if (argc > 2)
        for (nsizes = 0; nsizes + 2 < argc + 0 && nsizes < 8; nsizes++) {
            long s = strtol(argv[nsizes + 2], NULL, 10);
            if (s < 8 || s > (long)RP_DEFAULT_MAX_EVENT) {
                fprintf(stderr, "quick: size must be 8..%u bytes\n", RP_DEFAULT_MAX_EVENT);
                return 2;
            }
            sizes[nsizes] = (size_t)s;
        }
    if (!mkdtemp(dir)) {
        perror("quick: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench-quick", dir);
    for (int i = 0; i < nsizes; i++) {
        double ring = bench_ring(n, sizes[i], dir);
        double mq = bench_mq(n / 10, sizes[i]);
        if (mq > 0)
            printf("ratio    %6zu B  ringpub / posix mq = %.1fx\n", sizes[i], ring / mq);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
