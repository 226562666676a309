/*
 * memcpy_peer.c — the floor for large puts: each offer is one memcpy of the
 * message into the next SIZE bytes of a MAP_SHARED /dev/shm area as large as
 * the ring (the same kind of memory a put writes, walked the same way, so
 * its lines are as cold), then a release store of a shared count. The
 * consumer only reads the count: no header walk, no zero fill, no checks.
 */
#include "pair.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct area {
    uint64_t *count; /* its own page: copied messages, all producers */
    uint8_t *data;
    uint64_t cap, at, last;
} area;

static area A;

static int setup(const pair_opts *o, char *why, size_t whylen)
{
    char path[512];
    int fd;
    snprintf(path, sizeof path, "%s/peerbench-memcpy.%d", o->dir, (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || unlink(path) != 0 || ftruncate(fd, (off_t)(o->capacity + 4096)) != 0) {
        snprintf(why, whylen, "cannot make %s", path);
        return -1;
    }
    uint8_t *m = (uint8_t *)mmap(NULL, o->capacity + 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(why, whylen, "cannot map %s", path);
        return -1;
    }
    A.count = (uint64_t *)(void *)m;
    A.data = m + 4096;
    A.cap = o->capacity;
    return 0;
}

static void *consumer(const pair_opts *o, char *why, size_t whylen)
{
    (void)o, (void)why, (void)whylen;
    return &A;
}

static int poll_count(void *h)
{
    area *a = (area *)h;
    uint64_t n = __atomic_load_n(a->count, __ATOMIC_ACQUIRE);
    pair_count(n - a->last);
    a->last = n;
    return 0;
}

static void *producer(const pair_opts *o, int id, char *why, size_t whylen)
{
    (void)id;
    if (o->size > o->capacity) {
        snprintf(why, whylen, "--size above --capacity");
        return NULL;
    }
    return &A;
}

static int offer(void *h, const void *msg, size_t len)
{
    area *a = (area *)h;
    if (a->at + len > a->cap)
        a->at = 0;
    memcpy(a->data + a->at, msg, len);
    a->at += (len + 7) & ~(size_t)7;
    __atomic_fetch_add(a->count, 1, __ATOMIC_RELEASE);
    return 0;
}

static void teardown(const pair_opts *o) { (void)o; }

const pair_transport pair_this = { "memcpy", setup, consumer, poll_count, producer, offer, teardown };
