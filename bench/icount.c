/*
 * icount.c — the instructions one put and one consumed event cost, for
 * tools/bench-icount, which runs this program under valgrind's callgrind
 * (instruction counts are the same run after run, whatever else the machine
 * is doing; wall time on this project's 2-vCPU machine is not).
 *
 * One process, one thread: ROUNDS times, produce() puts up to 8000 events
 * of SIZE bytes (rp_queue_put, a full copy) and consume() drains them
 * (rp_consumer_poll, a check of each event's sequence number as the paired
 * harness's consumer does, rp_consumer_release). Both are kept out of line
 * so callgrind can count each side inclusively. Counts only: no cache or
 * coherence cost shows here (bench/README.md has the wall-time tables).
 *
 * usage: icount SIZE ROUNDS DIR [single]   prints "puts N consumed N errors N"
 *   single: the ring is created with RP_OPT_SINGLE_PRODUCER (a plain tail store)
 */
#include <ringpub.h>
#include <ringpub_consumer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_ROUND 8000
#define BATCH 4096

static uint64_t next_seq, errors;

static void seen(const void *msg, size_t len)
{
    uint64_t seq;
    if (len < 8) {
        errors++;
        return;
    }
    memcpy(&seq, msg, 8);
    errors += seq != next_seq;
    next_seq = seq + 1;
}

__attribute__((noinline)) static long produce(rp_queue *q, unsigned char *msg, size_t len, uint64_t *seq)
{
    long n = 0;
    for (; n < PER_ROUND; n++) {
        memcpy(msg, seq, 8);
        if (rp_queue_put(q, msg, len) != 0)
            break;
        ++*seq;
    }
    return n;
}

__attribute__((noinline)) static long consume(rp_consumer *c)
{
    static rp_event ev[BATCH];
    long total = 0;
    for (;;) {
        rp_batch b = { ev, BATCH, 0, 0, 0, 0 };
        int n = rp_consumer_poll(c, &b, (size_t)1 << 30);
        if (n <= 0)
            return n < 0 ? -1 : total;
        for (size_t i = 0; i < b.n; i++)
            seen(ev[i].data, ev[i].len);
        if (rp_consumer_release(c, &b) != 0)
            return -1;
        total += n;
    }
}

int main(int argc, char **argv)
{
    rp_queue_opts o = { 0 };
    rp_queue *q = NULL;
    rp_consumer *c = NULL;
    char why[256] = "", *end = NULL;
    unsigned char *msg;
    uint64_t seq = 0;
    long puts = 0, got = 0, size, rounds;

    if ((argc != 4 && (argc != 5 || strcmp(argv[4], "single") != 0)) ||
        (size = strtol(argv[1], &end, 10)) < 8 || size > 102400 || *end ||
        (rounds = strtol(argv[2], &end, 10)) < 1 || rounds > 1000 || *end) {
        fprintf(stderr, "usage: icount SIZE(8..102400) ROUNDS(1..1000) DIR [single]\n");
        return 2;
    }
    o.dir = argv[3];
    o.flags = argc == 5 ? RP_OPT_SINGLE_PRODUCER : 0;
    o.capacity = (uint64_t)1 << 20;
    o.max_event = 102400;
    int rc = rp_queue_open(&q, "icount", &o);
    if (rc == 0)
        rc = rp_consumer_open(&c, "icount", &o, why, sizeof why);
    if (rc != 0 || !(msg = calloc(1, (size_t)size))) {
        fprintf(stderr, "icount: %s\n", why[0] ? why : rp_strerror(rc));
        return 1;
    }
    for (long r = 0; r < rounds; r++) {
        long n;
        puts += produce(q, msg, (size_t)size, &seq);
        if ((n = consume(c)) < 0) {
            fprintf(stderr, "icount: the consumer failed: %s\n", rp_consumer_why(c));
            return 1;
        }
        got += n;
    }
    printf("puts %ld consumed %ld errors %llu\n", puts, got, (unsigned long long)errors);
    rp_consumer_close(c);
    rp_queue_close(q);
    free(msg);
    return puts == got && errors == 0 ? 0 : 1;
}
