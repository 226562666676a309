/*
 * consumer.c — open a ring as its consumer, poll batches of committed
 * records, release them.
 *
 * Everything read from shared memory is hostile: each header word is loaded
 * once into a local, then checked (LIVE bit, length within max_event, record
 * within tail) before any byte it describes is touched.
 */
#include "consumer_internal.h"

#include <stdarg.h>

uint64_t rp__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rp__corrupt(rp_consumer *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return RP_ECORRUPT;
}

/* The consumer role is an OFD write lock on byte 0 of the ring file. */
static int take_consumer_lock(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : RP_EBUSY;
}

static void release_to(rp_consumer *c, uint64_t end, size_t events, size_t bytes);

static int check_positions(rp_consumer *c)
{
    uint64_t head = __atomic_load_n(&c->m.hdr->head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE);
    uint64_t releasing = __atomic_load_n(&c->m.hdr->releasing, __ATOMIC_ACQUIRE);
    if (!rp__positions_ok(head, tail, c->m.capacity))
        return rp__corrupt(c, "ring positions invalid: head %llu, tail %llu, capacity %llu",
                           (unsigned long long)head, (unsigned long long)tail,
                           (unsigned long long)c->m.capacity);
    c->head = c->read_pos = head;
    /* the previous consumer died while releasing [head, releasing): finish it */
    if (releasing != head && (releasing & 7u) == 0 && releasing - head <= tail - head) {
        release_to(c, releasing, 0, 0);
        c->read_pos = releasing;
    }
    return 0;
}

int rp_consumer_open(rp_consumer **cp, const char *name, const rp_queue_opts *opts, char *why, size_t whylen)
{
    char local[256];
    rp_consumer *c;
    int rc;

    if (!why) {
        why = local;
        whylen = sizeof local;
    }
    if (!cp)
        return RP_EINVAL;
    *cp = NULL;
    c = (rp_consumer *)calloc(1, sizeof *c);
    if (!c)
        return RP_ENOMEM;
    c->stuck_pos = UINT64_MAX;
    c->bad_pos = UINT64_MAX;
    rc = rp__attach(&c->m, name, opts, why, whylen);
    if (rc == 0 && (rc = take_consumer_lock(c->m.fd)) != 0)
        snprintf(why, whylen, "queue %s already has a consumer", name);
    if (rc == 0 && (rc = check_positions(c)) != 0)
        snprintf(why, whylen, "queue %s: %s", name, c->why);
    if (rc) {
        rp__unmap(&c->m);
        free(c);
        return rc;
    }
    __atomic_store_n(&c->m.hdr->consumer_pid, (uint64_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&c->m.hdr->sleeping, 0, __ATOMIC_SEQ_CST);
    *cp = c;
    return 0;
}

void rp_consumer_close(rp_consumer *c)
{
    if (!c)
        return;
    __atomic_store_n(&c->m.hdr->consumer_pid, 0, __ATOMIC_RELAXED);
    rp__unmap(&c->m);
    free(c);
}

const char *rp_consumer_why(const rp_consumer *c)
{
    return c ? c->why : "";
}

void rp_consumer_rewind(rp_consumer *c)
{
    c->read_pos = c->head;
    c->stuck_pos = UINT64_MAX;
    c->bad_pos = UINT64_MAX;
}

uint64_t rp__checked_size(rp_consumer *c, uint64_t pos, uint64_t avail, uint64_t word)
{
    uint32_t lw = (uint32_t)word;
    uint64_t len = lw & RP_REC_LEN_MASK, size = rp__rec_size(len);

    if (!(lw & RP_REC_LIVE) || ((lw & RP_REC_BUSY) && (lw & RP_REC_SKIP)))
        rp__corrupt(c, "record at position %llu has an invalid header %#llx",
                    (unsigned long long)pos, (unsigned long long)word);
    else if (!(lw & RP_REC_SKIP) && len > c->m.max_event)
        rp__corrupt(c, "record at position %llu is %llu bytes, over the max event %u",
                    (unsigned long long)pos, (unsigned long long)len, (unsigned)c->m.max_event);
    else if (size > avail)
        rp__corrupt(c, "record at position %llu (%llu bytes) runs past the tail (%llu bytes left)",
                    (unsigned long long)pos, (unsigned long long)size, (unsigned long long)avail);
    else
        return size;
    return 0;
}

/* Fill n bytes at p (a multiple of 8) with one 64-bit word. */
static void fill_words(uint8_t *p, uint64_t word, uint64_t n)
{
    uint64_t *w = (uint64_t *)(void *)p;
    for (uint64_t i = 0; i < n / 8; i++)
        w[i] = word;
}

/* Give the space [c->head, end) back to producers: fill it with the FREE
 * words of the lap that will reuse it, then publish head (release), so a
 * producer that sees the new head sees those words (layout.h). */
static void release_to(rp_consumer *c, uint64_t end, size_t events, size_t bytes)
{
    rp_ring_hdr *h = c->m.hdr;
    uint64_t off = c->head & c->m.mask, len = end - c->head;
    uint64_t first = len < c->m.capacity - off ? len : c->m.capacity - off;
    uint64_t next_lap = c->head + c->m.capacity;
    __atomic_store_n(&h->releasing, end, __ATOMIC_RELEASE); /* crash-safe: see layout.h */
    /* through the first mapping only: one address per byte keeps
     * ThreadSanitizer's view of the memory exact */
    fill_words(c->m.data + off, rp__free_word(next_lap, c->m.shift), first);
    fill_words(c->m.data, rp__free_word(next_lap + first, c->m.shift), len - first);
    __atomic_fetch_add(&h->events_out, events, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->bytes_out, bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&h->head, end, __ATOMIC_RELEASE);
    c->head = end;
}

int rp_consumer_poll(rp_consumer *c, rp_batch *b, size_t max_bytes)
{
    uint64_t tail = __atomic_load_n(&c->m.hdr->tail, __ATOMIC_ACQUIRE);
    uint64_t pos = c->read_pos;

    b->n = b->bytes = 0;
    b->start = b->end = pos;
    if (!rp__positions_ok(c->head, tail, c->m.capacity) || tail - c->head < pos - c->head)
        return rp__corrupt(c, "ring tail %llu is invalid (head %llu, read position %llu)",
                           (unsigned long long)tail, (unsigned long long)c->head,
                           (unsigned long long)pos);
    while (pos != tail && b->n < b->max_events) {
        uint64_t word = rp__load_word(c, pos), size;
        uint32_t lw = (uint32_t)word;
        int is_free = word == rp__free_word(pos, c->m.shift);
        if (!is_free && (size = rp__checked_size(c, pos, tail - pos, word)) == 0) {
            c->bad_pos = pos;
            if (b->n > 0)
                break; /* hand out the good events first; the next poll reports it */
            return RP_ECORRUPT;
        }
        if (is_free || (lw & RP_REC_BUSY)) {
            int rc = rp__recover(c, pos, tail, word);
            if (rc < 0)
                return rc;
            if (rc == 0)
                break;
            continue;
        }
        if (!(lw & RP_REC_SKIP)) {
            uint32_t len = lw & RP_REC_LEN_MASK;
            if (b->n > 0 && b->bytes + len > max_bytes)
                break;
            b->events[b->n].data = c->m.data + (pos & c->m.mask) + RP_REC_HDR;
            b->events[b->n].len = len;
            b->events[b->n].pos = pos;
            b->n++;
            b->bytes += len;
        }
        pos += size;
    }
    if (b->n == 0 && pos != b->start && b->start == c->head) {
        release_to(c, pos, 0, 0); /* only skipped space, nothing outstanding */
        b->start = c->read_pos = pos;
    }
    if (b->n > 0)
        c->read_pos = pos;
    else
        pos = b->start;
    b->end = pos;
    return (int)b->n;
}

int rp_consumer_release(rp_consumer *c, const rp_batch *b)
{
    if (b->start != c->head || b->end - c->head > c->read_pos - c->head)
        return RP_EINVAL;
    if (b->end != b->start)
        release_to(c, b->end, b->n, b->bytes);
    return 0;
}
