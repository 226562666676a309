/* contain.c — see contain.h. */
#include "contain.h"
#include "mapfile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MARK_MAGIC 0x6b72616d62757072ull /* "rpubmark" */

static pub_mark *volatile current;
static const int fault_signals[] = { SIGSEGV, SIGFPE, SIGILL, SIGABRT };

/* Record the signal if an event is being processed; then die of it (the
 * handler was reset to the default action on entry: SA_RESETHAND). */
static void on_fault(int sig)
{
    pub_mark *m = current;
    if (m && m->pos1)
        m->sig = sig;
    raise(sig); /* SIGSEGV/SIGFPE/SIGILL would also recur on return; SIGABRT must be raised */
}

static int install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fault_signals / sizeof *fault_signals; i++)
        if (sigaction(fault_signals[i], &sa, NULL) != 0)
            return -1;
    return 0;
}

static int valid_sig(int32_t sig)
{
    return sig > 0 && sig < 65;
}

/* What earlier runs left: keep the crashes on this ring's unreleased
 * events (a report being written when the run died is redone), add the
 * last run's own, drop everything else. */
static void take_over(pub_contain *c, uint64_t ring_created_ns, uint64_t released)
{
    pub_mark *m = c->mark;
    int same = m->magic == MARK_MAGIC && m->ring_created_ns == ring_created_ns, n = 0;
    pub_crash keep[PUB_MAX_CRASHED];
    for (int i = 0; same && i < PUB_MAX_CRASHED; i++) {
        pub_crash e = m->crashed[i];
        if (e.pos1 && e.pos1 - 1 >= released && valid_sig(e.sig) && e.reported <= 2) {
            e.reported = e.reported == 1;
            keep[n++] = e;
        }
    }
    if (same && m->pos1 && m->pos1 - 1 >= released && valid_sig(m->sig)) {
        if (n == PUB_MAX_CRASHED) /* full: forget the oldest */
            memmove(keep, keep + 1, --n * sizeof *keep);
        keep[n] = (pub_crash){ m->pos1, m->sig, m->stage, 0, 0 };
        c->last = &m->crashed[n++];
    }
    memset(m->crashed, 0, sizeof m->crashed);
    memcpy(m->crashed, keep, (size_t)n * sizeof *keep);
    m->magic = MARK_MAGIC;
    m->ring_created_ns = ring_created_ns;
    m->pos1 = 0;
    m->stage = 0;
    m->sig = 0;
}

int pub_contain_open(pub_contain *c, const char *path, uint64_t ring_created_ns, uint64_t released, char *why,
                     size_t whylen)
{
    memset(c, 0, sizeof *c);
    void *p = pub_map_file(path, sizeof(pub_mark), "processor crash marker", why, whylen);
    if (!p)
        return -1;
    c->mark = (pub_mark *)p;
    take_over(c, ring_created_ns, released);
    current = c->mark;
    if (install_handlers() != 0) {
        snprintf(why, whylen, "cannot install the processor fault handlers: %s", strerror(errno));
        pub_contain_close(c);
        return -1;
    }
    return 0;
}

void pub_contain_close(pub_contain *c)
{
    if (!c->mark)
        return;
    if (current == c->mark)
        current = NULL;
    munmap(c->mark, sizeof(pub_mark));
    c->mark = NULL;
}

int pub_contain_check(pub_contain *c, uint64_t pos, const pub_crash **crash)
{
    if (!c->mark)
        return 0;
    for (int i = 0; i < PUB_MAX_CRASHED; i++) {
        pub_crash *e = &c->mark->crashed[i];
        if (e->pos1 != pos + 1)
            continue;
        *crash = e;
        if (e->reported == 1)
            return 2;
        e->reported = 2;
        return 1;
    }
    return 0;
}

void pub_contain_reported(pub_contain *c)
{
    for (int i = 0; c->mark && i < PUB_MAX_CRASHED; i++)
        if (c->mark->crashed[i].reported == 2)
            c->mark->crashed[i].reported = 1;
}
