/*
 * loop.h — the daemon's event loop on io_uring. Everything the daemon waits
 * for is an io_uring operation: the ring's futex (IORING_OP_FUTEX_WAIT,
 * Linux 6.7+; older kernels fall back to a 2 ms tick), socket readiness for
 * libcurl (POLL_ADD), signals (READ on a signalfd) and spool writes (WRITE ->
 * FSYNC -> RENAMEAT chains). Timers are the wait timeout of
 * io_uring_submit_and_wait_timeout, so no timer SQEs are needed.
 */
#ifndef RINGPUB_LOOP_H
#define RINGPUB_LOOP_H

#include <liburing.h>
#include <stdint.h>

typedef struct pub_op pub_op;
/* Called when op completes with the CQE's result (negative errno). */
typedef void (*pub_op_fn)(void *ctx, pub_op *op, int res);

struct pub_op {
    pub_op_fn fn;
    void *ctx;
    int pending; /* submitted, completion not seen yet */
};

typedef struct pub_loop {
    struct io_uring ring;
    int has_futex; /* IORING_OP_FUTEX_WAIT works */
} pub_loop;

/* pub_loop_init — set up an io_uring of `entries` SQEs. 0 or -errno. */
int pub_loop_init(pub_loop *l, unsigned entries);
void pub_loop_free(pub_loop *l);

/* pub_loop_sqe — a fresh SQE for op (submitting queued ones if the SQ is
 * full); op may be NULL for an SQE whose completion is ignored (links). */
struct io_uring_sqe *pub_loop_sqe(pub_loop *l, pub_op *op);

/* pub_loop_futex_wait — wait until *addr != val (shared futex, 32 bit). */
void pub_loop_futex_wait(pub_loop *l, pub_op *op, uint32_t *addr, uint32_t val);

/* pub_loop_poll — one-shot poll of fd for poll(2) events mask. */
void pub_loop_poll(pub_loop *l, pub_op *op, int fd, unsigned mask);

/* pub_loop_cancel — ask the kernel to cancel a pending op (it completes,
 * usually with -ECANCELED). */
void pub_loop_cancel(pub_loop *l, pub_op *op);

/* pub_loop_run — submit, wait up to timeout_ms (-1: no limit) for at least
 * one completion, and dispatch all completions. Returns the number
 * dispatched, or -errno. */
int pub_loop_run(pub_loop *l, int timeout_ms);

/* pub_now_ms — CLOCK_MONOTONIC in milliseconds. */
uint64_t pub_now_ms(void);

#endif
