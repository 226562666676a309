/*
 * sproducer — one stress producer process: puts events (id, 0..count-1) and
 * records each put's outcome in STATUS (a file mapped shared, so kill -9
 * loses nothing): 3 = put started, 1 = returned 0, 2 = returned an error.
 *
 *   sproducer QUEUE ID COUNT STATUS [SEED]
 *
 * RP_EFULL is an outcome like any other (the event must then never be
 * delivered); on it the producer yields and goes on with the next event.
 */
#include <ringpub.h>

#include "event.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    rp_queue *q;
    uint8_t buf[SE_MAX];
    char why[256];
    if (argc < 5) {
        fprintf(stderr, "usage: sproducer QUEUE ID COUNT STATUS [SEED]\n");
        return 2;
    }
    uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t count = strtoull(argv[3], NULL, 10), rng = argc > 5 ? strtoull(argv[5], NULL, 10) : id;
    int fd = open(argv[4], O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)count) != 0) {
        perror("sproducer: status file");
        return 2;
    }
    uint8_t *st = (uint8_t *)mmap(NULL, count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (st == MAP_FAILED) {
        perror("sproducer: mmap");
        return 2;
    }
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.flags = RP_OPT_NO_CREATE;
    int rc = rp_queue_open_why(&q, argv[1], &o, why, sizeof why);
    if (rc) {
        fprintf(stderr, "sproducer: %s\n", why);
        return 2;
    }
    for (uint64_t seq = 0; seq < count; seq++) {
        size_t len = se_fill(buf, id, seq, &rng);
        __atomic_store_n(&st[seq], 3, __ATOMIC_SEQ_CST);
        rc = rp_queue_put(q, buf, len);
        __atomic_store_n(&st[seq], rc == 0 ? 1 : 2, __ATOMIC_SEQ_CST);
        if (rc == RP_EFULL)
            sched_yield();
        else if (rc != 0) {
            fprintf(stderr, "sproducer %u: put: %s\n", id, rp_strerror(rc));
            return 1;
        }
    }
    rp_queue_close(q);
    return 0;
}
