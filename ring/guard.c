/*
 * guard.c — the ring file changing under a running consumer.
 *
 * Truncating a mapped file makes any access to the lost pages raise
 * SIGBUS. rp_consumer_check_file() notices it (and removal) from fstat;
 * rp_consumer_guard() covers the window between two checks: a SIGBUS inside
 * the ring's mapping replaces the whole mapping with anonymous zero pages
 * (an empty ring: head = tail = 0), sets the caller's flag and returns, so
 * the faulting access completes and the caller can stop cleanly. Faults
 * anywhere else keep the default action.
 */
#include "consumer_internal.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

static struct {
    uint8_t *lo;
    size_t len;
    volatile sig_atomic_t *flag;
} guard;

/* Anonymous zero pages over the mapping; async-signal-safe (one mmap). */
static int fence(uint8_t *lo, size_t len)
{
    void *p = mmap(lo, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    uint8_t *a = (uint8_t *)si->si_addr;
    (void)uc;
    if (guard.lo && a >= guard.lo && a < guard.lo + guard.len && fence(guard.lo, guard.len) == 0) {
        if (guard.flag)
            *guard.flag = 1;
        return;
    }
    signal(sig, SIG_DFL); /* not ours: die as if unguarded */
    raise(sig);
}

int rp_consumer_guard(rp_consumer *c, volatile sig_atomic_t *flag)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    guard.lo = (uint8_t *)c->m.hdr;
    guard.len = c->m.map_len;
    guard.flag = flag;
    return sigaction(SIGBUS, &sa, NULL) == 0 ? 0 : RP_EIO;
}

int rp_consumer_fence(rp_consumer *c)
{
    return fence((uint8_t *)c->m.hdr, c->m.map_len) == 0 ? 0 : RP_EIO;
}

int rp_consumer_check_file(rp_consumer *c, char *why, size_t whylen)
{
    struct stat st;
    uint64_t need = RP_HDR_SIZE + c->m.capacity;
    if (fstat(c->m.fd, &st) != 0) {
        snprintf(why, whylen, "cannot stat the ring file: %s", strerror(errno));
        return RP_EIO;
    }
    if ((uint64_t)st.st_size < need) {
        snprintf(why, whylen, "the ring file was truncated to %lld bytes (a ring of this geometry needs %llu)",
                 (long long)st.st_size, (unsigned long long)need);
        return RP_ECORRUPT;
    }
    if (st.st_nlink == 0) {
        snprintf(why, whylen, "the ring file was removed; producers already attached still write to it, "
                              "new producers create a new ring");
        return RP_ENOENT;
    }
    return 0;
}
