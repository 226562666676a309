/*
 * contain.h — a processor that crashes on an event (a bug: SIGSEGV, SIGFPE,
 * SIGILL, SIGABRT) must not take the queue down with it, nor crash again on
 * the same event after every restart, nor lose the event.
 *
 * Before the chain runs on an event, its ring position goes into a small
 * shared mapping of SPOOL_DIR/QUEUE.processing (two stores, no syscall);
 * the chain records which processor runs. A fault handler adds the signal
 * and re-raises it, so the process dies as it would have. The page cache
 * keeps the mapping's contents after the process is gone, so the next
 * ringpub (restarted by pub_supervise(), or by systemd) finds the event that
 * crashed the last one and sends it to the error stream instead of running
 * the chain on it again. A process killed any other way (kill -9, OOM)
 * leaves no signal: its event is processed again normally.
 */
#ifndef RINGPUB_CONTAIN_H
#define RINGPUB_CONTAIN_H

#include <stddef.h>
#include <stdint.h>

#define PUB_MAX_CRASHED 16

/* An event that crashed a run and is not yet released from the ring. */
typedef struct pub_crash {
    uint64_t pos1;     /* ring position + 1 (0: free slot) */
    int32_t sig;       /* the fault */
    int32_t stage;     /* chain index of the processor that was running */
    uint32_t reported; /* 0 not yet, 1 in the error stream, 2 being written */
    uint32_t pad;
} pub_crash;

/* The file's layout (its contents are checked, never trusted). */
typedef struct pub_mark {
    uint64_t magic;
    uint64_t ring_created_ns; /* the ring the positions belong to */
    volatile uint64_t pos1;   /* position + 1 of the event being processed; 0: none */
    volatile int32_t stage;   /* chain index of the running processor */
    volatile int32_t sig;     /* set by the fault handler */
    pub_crash crashed[PUB_MAX_CRASHED];
} pub_mark;

typedef struct pub_contain {
    pub_mark *mark;           /* NULL: not in use */
    const pub_crash *last;    /* the crash of the run just before, if any */
} pub_contain;

/*
 * pub_contain_open — map (creating, mode 0600) the marker file at path for
 * the ring created at ring_created_ns whose consumer has released up to
 * ring position `released` (its head); take over what earlier runs left (the crash of
 * the last run joins the list, released events leave it); install the fault
 * handlers. 0, or -1 with one line in why.
 */
int pub_contain_open(pub_contain *c, const char *path, uint64_t ring_created_ns, uint64_t released, char *why,
                     size_t whylen);

/* pub_contain_close — unmap (the file stays: it is tiny and reused). */
void pub_contain_close(pub_contain *c);

/* pub_contain_enter / pub_contain_leave — around the chain for the event at
 * ring position pos (two stores into the shared mapping). */
static inline void pub_contain_enter(pub_contain *c, uint64_t pos)
{
    if (c->mark) {
        c->mark->stage = 0;
        c->mark->pos1 = pos + 1;
    }
}

static inline void pub_contain_leave(pub_contain *c)
{
    if (c->mark)
        c->mark->pos1 = 0;
}

/*
 * pub_contain_check — did the event at pos crash an earlier run? 0: no, run
 * the chain; 1: yes, send it to the error stream (*crash says how; then
 * call pub_contain_reported once that stream is durable); 2: yes, and it is
 * in the error stream already: skip it.
 */
int pub_contain_check(pub_contain *c, uint64_t pos, const pub_crash **crash);

/* pub_contain_reported — the error stream holding the events check()
 * answered 1 for is durable: do not report them again. */
void pub_contain_reported(pub_contain *c);

#endif
