/* loop.c — see loop.h. */
#include "loop.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <time.h>

#define OP_FUTEX_WAIT 51      /* IORING_OP_FUTEX_WAIT (Linux 6.7); liburing 2.3 predates it */
#define FUTEX2_SIZE_U32_ 0x02 /* futex2 flags: 32-bit word, shared (not private) */

uint64_t pub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int pub_loop_init(pub_loop *l, unsigned entries)
{
    struct io_uring_probe *p;
    memset(l, 0, sizeof *l);
    int rc = io_uring_queue_init(entries, &l->ring, 0);
    if (rc < 0)
        return rc;
    p = io_uring_get_probe_ring(&l->ring);
    l->has_futex = p && p->last_op >= OP_FUTEX_WAIT && io_uring_opcode_supported(p, OP_FUTEX_WAIT);
    if (p)
        io_uring_free_probe(p);
    return 0;
}

void pub_loop_free(pub_loop *l)
{
    io_uring_queue_exit(&l->ring);
}

struct io_uring_sqe *pub_loop_sqe(pub_loop *l, pub_op *op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring); /* the SQ was just emptied */
    }
    io_uring_sqe_set_data(sqe, op);
    if (op)
        op->pending = 1;
    return sqe;
}

void pub_loop_futex_wait(pub_loop *l, pub_op *op, uint32_t *addr, uint32_t val)
{
    struct io_uring_sqe *sqe = pub_loop_sqe(l, NULL);
    io_uring_prep_rw(OP_FUTEX_WAIT, sqe, FUTEX2_SIZE_U32_, addr, 0, val);
    sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
    io_uring_sqe_set_data(sqe, op);
    op->pending = 1;
}

void pub_loop_poll(pub_loop *l, pub_op *op, int fd, unsigned mask)
{
    io_uring_prep_poll_add(pub_loop_sqe(l, op), fd, mask);
}

void pub_loop_cancel(pub_loop *l, pub_op *op)
{
    io_uring_prep_cancel(pub_loop_sqe(l, NULL), op, 0);
}

int pub_loop_run(pub_loop *l, int timeout_ms)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { timeout_ms / 1000, (long long)(timeout_ms % 1000) * 1000000 };
    int n = 0;
    int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR)
        return rc;
    /* mark each CQE seen before its callback runs: callbacks submit more */
    while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
        pub_op *op = (pub_op *)io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&l->ring, cqe);
        n++;
        if (op) {
            op->pending = 0;
            op->fn(op->ctx, op, res);
        }
    }
    return n;
}
