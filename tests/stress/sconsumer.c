/*
 * sconsumer — the stress consumer: polls QUEUE, checks every event, appends
 * what it saw to LOG, releases, and appends a release mark. Records are
 * 16 bytes: [u32 id][u32 kind][u64 seq]; kind 0: an intact event, 1: a
 * damaged one (seq = its position), 2: batch released (seq = batch number),
 * 3: batch started (seq = batch number), 4: the ring position of the event
 * before it (with STRESS_POSITIONS set), 5: a stalled record seen pinned
 * (seq = its position; logged when the consumer is idle). Events of a batch whose release
 * mark is missing were not released (the consumer died first): they may
 * come again. Stops on SIGTERM after a last drain.
 *
 *   sconsumer QUEUE LOG CAPACITY
 */
#include <ringpub_consumer.h>

#include "event.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

typedef struct rec {
    uint32_t id, kind;
    uint64_t seq;
} rec;

int main(int argc, char **argv)
{
    static rp_event ev[256];
    static rec out[2 * 256 + 2];
    int positions = getenv("STRESS_POSITIONS") != NULL; /* kind 4: each event's position */
    rp_consumer *c;
    char why[256];
    if (argc < 4) {
        fprintf(stderr, "usage: sconsumer QUEUE LOG CAPACITY\n");
        return 2;
    }
    rp_queue_opts o;
    memset(&o, 0, sizeof o);
    o.capacity = strtoull(argv[3], NULL, 10);
    o.max_event = SE_MAX;
    if (getenv("STRESS_SINGLE")) /* profile single: we create the ring */
        o.flags |= RP_OPT_SINGLE_PRODUCER;
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0600), rc = RP_EBUSY;
    /* the consumer before us was killed, but in its own PID namespace it
     * dies a moment after the unshare process the harness waited for: its
     * role lock is dropped then (bounded: 10 s) */
    for (int tries = 0; fd >= 0 && rc == RP_EBUSY && tries < 5000; tries++) {
        if ((rc = rp_consumer_open(&c, argv[1], &o, why, sizeof why)) == RP_EBUSY)
            usleep(2000);
    }
    if (fd < 0 || rc != 0) {
        fprintf(stderr, "sconsumer: %s\n", fd < 0 ? "cannot open the log" : why);
        return 2;
    }
    signal(SIGTERM, on_term);
    uint64_t batch = (uint64_t)getpid() << 32, idle = 0, last_pin = UINT64_MAX;
    for (;;) {
        rp_batch b = { ev, 256, 0, 0, 0, 0 };
        int n = rp_consumer_poll(c, &b, 1 << 20);
        if (n < 0) {
            fprintf(stderr, "sconsumer: %s\n", rp_consumer_why(c));
            return 1;
        }
        if (n == 0) {
            rp_stats st;
            rp_consumer_stats(c, &st);
            if (st.pinned && st.stalled_pos != last_pin) { /* kind 5: a record pinned */
                last_pin = st.stalled_pos;
                out[0] = (rec){ 0, 5, last_pin };
                if (write(fd, out, sizeof(rec)) != (ssize_t)sizeof(rec))
                    return 1;
            }
            if (stop && ++idle > 20)
                break;
            rp_consumer_wait(c, 20);
            continue;
        }
        idle = 0;
        size_t k = 0;
        out[k++] = (rec){ 0, 3, batch };
        for (int i = 0; i < n; i++) {
            uint32_t id = 0;
            uint64_t seq;
            if (se_check(ev[i].data, ev[i].len, &id, &seq))
                out[k++] = (rec){ id, 0, seq };
            else
                out[k++] = (rec){ 0, 1, ev[i].pos };
            if (positions)
                out[k++] = (rec){ id, 4, ev[i].pos };
        }
        if (write(fd, out, k * sizeof(rec)) != (ssize_t)(k * sizeof(rec)))
            return 1;
        if (rp_consumer_release(c, &b) != 0) {
            fprintf(stderr, "sconsumer: release refused\n");
            return 1;
        }
        out[0] = (rec){ 0, 2, batch++ };
        if (write(fd, out, sizeof(rec)) != (ssize_t)sizeof(rec))
            return 1;
    }
    rp_consumer_close(c);
    return 0;
}
