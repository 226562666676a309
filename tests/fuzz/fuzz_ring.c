/*
 * fuzz_ring — the consumer on arbitrary ring bytes. Input: head (8 bytes),
 * span (8 bytes), then the data area from head on. Every poll either
 * reports corruption (then the bytes are stepped over with
 * rp_consumer_skip_corrupt) or returns views inside the ring.
 */
#include "cleanup.h"
#include "consumer_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#define CAP (1u << 13)

static rp_queue_opts opts;
static uint8_t *file_map; /* the whole ring file, for writing the input into it */

static void setup(void)
{
    static char dir[] = "/dev/shm/rp-fuzz-ring-XXXXXX";
    char path[128], why[256];
    rp_consumer *c;
    if (!mkdtemp(dir))
        abort();
    fuzz_remove_at_exit(dir);
    setenv("RINGPUB_DIR", dir, 1);
    opts.capacity = CAP;
    opts.max_event = 1024;
    if (rp_consumer_open(&c, "fz", &opts, why, sizeof why) != 0)
        abort();
    rp_consumer_close(c);
    snprintf(path, sizeof path, "%s/fz", dir);
    int fd = open(path, O_RDWR);
    file_map = (uint8_t *)mmap(NULL, RP_HDR_SIZE + CAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd < 0 || file_map == MAP_FAILED)
        abort();
    close(fd);
}

static void in_ring(const rp_consumer *c, const void *p, size_t len)
{
    const uint8_t *d = (const uint8_t *)p;
    if (d < c->m.data || d + len > c->m.data + 2 * (size_t)CAP)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    uint64_t head, span;
    if (!file_map)
        setup();
    if (n < 16)
        return 0;
    memcpy(&head, in, 8);
    memcpy(&span, in + 8, 8);
    head &= ((uint64_t)1 << 40) - 8;
    span = (span % (CAP + 8)) & ~(uint64_t)7;
    n -= 16;
    if (n > CAP)
        n = CAP;
    uint8_t *data = file_map + RP_HDR_SIZE;
    uint64_t off = head & (CAP - 1), first = n < CAP - off ? n : CAP - off;
    memset(data, 0, CAP);
    memcpy(data + off, in + 16, first);
    memcpy(data, in + 16 + first, n - first);
    rp_ring_hdr *h = (rp_ring_hdr *)(void *)file_map;
    h->head = head;
    h->tail = head + span;
    h->releasing = (span & 8) ? head + span / 2 : head; /* sometimes an interrupted release */

    rp_consumer *c;
    if (rp_consumer_open(&c, "fz", &opts, NULL, 0) != 0)
        return 0;
    rp_event ev[64], bad;
    rp_batch b = { ev, 64, 0, 0, 0, 0 };
    for (int k = 0; k < 64; k++) {
        int got = rp_consumer_poll(c, &b, 1 << 20);
        if (got == RP_ECORRUPT) {
            if (rp_consumer_skip_corrupt(c, &b, &bad) != 0)
                break;
            in_ring(c, bad.data, bad.len);
        } else if (got < 0) {
            abort();
        }
        for (int i = 0; i < got; i++) {
            if (ev[i].len > c->m.max_event)
                abort();
            in_ring(c, ev[i].data, ev[i].len);
        }
        if (rp_consumer_release(c, &b) != 0)
            abort();
        if (got == 0 && b.end == b.start)
            break;
    }
    rp_consumer_close(c);
    return 0;
}
