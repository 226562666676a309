/*
 * bounce.c — how far apart the two CPUs are: the round-trip time of one
 * cache line passed back and forth between two threads, each pinned to one
 * of the first two CPUs this process may run on.
 *
 * A transport between processes moves every line it carries from the
 * producer's CPU to the consumer's, so its throughput at large sizes follows
 * this figure; a memcpy in one process does not. On a VM the figure is not
 * fixed: the hypervisor places the vCPUs, and may move them while a
 * benchmark runs (on this machine kind, 100 ns and 500 ns, in two levels).
 * tools/bench-peers runs it before and after each row of each round.
 *
 * usage: bounce [--trips N]   prints {"round_trip_ns": median of 9 batches}
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCHES 9

static _Alignas(128) uint64_t ping;
static _Alignas(128) uint64_t pong;
static uint64_t trips = 20000;
static int cpus[2];

static cpu_set_t one_cpu(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return s;
}

/* The echo side (started on cpus[1]): answers every ping with its value. */
static void *echo(void *arg)
{
    uint64_t total = *(const uint64_t *)arg;
    for (uint64_t i = 1; i <= total; i++) {
        while (__atomic_load_n(&ping, __ATOMIC_ACQUIRE) != i)
            ;
        __atomic_store_n(&pong, i, __ATOMIC_RELEASE);
    }
    return NULL;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Round trips from+1 .. to; returns ns per round trip. */
static double batch(uint64_t from, uint64_t to)
{
    double t0 = now_ns();
    for (uint64_t i = from + 1; i <= to; i++) {
        __atomic_store_n(&ping, i, __ATOMIC_RELEASE);
        while (__atomic_load_n(&pong, __ATOMIC_ACQUIRE) != i)
            ;
    }
    return (now_ns() - t0) / (double)(to - from);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first two CPUs this process may run on; -1 if there are fewer. */
static int pick_cpus(void)
{
    cpu_set_t s;
    int n = 0;
    if (sched_getaffinity(0, sizeof s, &s) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
        if (CPU_ISSET(i, &s))
            cpus[n++] = i;
    return n == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
    double ns[BATCHES];
    uint64_t warm = 1000, total;
    pthread_t t;
    pthread_attr_t attr;
    cpu_set_t mine, theirs;
    int rc;

    if (argc == 3 && strcmp(argv[1], "--trips") == 0) {
        char *end = NULL;
        errno = 0;
        trips = strtoull(argv[2], &end, 10);
        if (errno || !end || *end || trips < 100 || trips > 10000000)
            return fprintf(stderr, "bounce: --trips 100..10000000\n"), 2;
    } else if (argc != 1) {
        return fprintf(stderr, "usage: bounce [--trips N]\n"), 2;
    }
    if (pick_cpus() != 0)
        return fprintf(stderr, "bounce: needs two CPUs it may run on\n"), 1;
    total = warm + BATCHES * trips;
    mine = one_cpu(cpus[0]);
    theirs = one_cpu(cpus[1]);
    if (pthread_setaffinity_np(pthread_self(), sizeof mine, &mine) != 0)
        return fprintf(stderr, "bounce: cannot run on CPU %d\n", cpus[0]), 1;
    /* the echo thread starts pinned, so that it answers only from the other CPU */
    rc = pthread_attr_init(&attr);
    if (rc == 0 && (rc = pthread_attr_setaffinity_np(&attr, sizeof theirs, &theirs)) == 0)
        rc = pthread_create(&t, &attr, echo, &total);
    if (rc != 0)
        return fprintf(stderr, "bounce: cannot start a thread on CPU %d: %s\n", cpus[1], strerror(rc)), 1;
    pthread_attr_destroy(&attr);
    batch(0, warm);
    for (int b = 0; b < BATCHES; b++)
        ns[b] = batch(warm + (uint64_t)b * trips, warm + (uint64_t)(b + 1) * trips);
    pthread_join(t, NULL);
    qsort(ns, BATCHES, sizeof ns[0], cmp_double);
    printf("{\"round_trip_ns\":%.1f,\"cpus\":[%d,%d]}\n", ns[BATCHES / 2], cpus[0], cpus[1]);
    return 0;
}
