/* seals.c — see seals.h. */
#include "seals.h"
#include "mapfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SEAL_MAGIC 0x736c616573627570ull /* "pubseals" */

static uint32_t check_of(const pub_seal_rec *r)
{
    uint64_t h = (r->first * 0x9e3779b97f4a7c15ull) ^ (r->last * 0xc2b2ae3d27d4eb4full) ^
                 (r->lane & ~PUB_SEAL_SAFE) ^ SEAL_MAGIC;
    return (uint32_t)(h ^ (h >> 32)) | 1; /* never 0: a zeroed slot is free */
}

static int valid(const pub_seal_rec *r, uint64_t released, uint32_t nlanes)
{
    return r->check == check_of(r) && r->first <= r->last && r->last >= released &&
           (r->lane & ~PUB_SEAL_SAFE) < nlanes;
}

static int by_lane_then_last(const void *a, const void *b)
{
    const pub_seal_rec *x = (const pub_seal_rec *)a, *y = (const pub_seal_rec *)b;
    uint32_t xl = x->lane & ~PUB_SEAL_SAFE, yl = y->lane & ~PUB_SEAL_SAFE;
    if (xl != yl)
        return xl < yl ? -1 : 1;
    if (x->last != y->last)
        return x->last < y->last ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* One entry per range (a batch rebuilt by the last run was recorded again):
 * safe if any copy is. */
static size_t merge_copies(pub_seal_rec *r, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && by_lane_then_last(&r[k - 1], &r[i]) == 0)
            r[k - 1].lane |= r[i].lane & PUB_SEAL_SAFE;
        else
            r[k++] = r[i];
    }
    return k;
}

static int by_last(const void *a, const void *b)
{
    const pub_seal_rec *x = (const pub_seal_rec *)a, *y = (const pub_seal_rec *)b;
    return x->last < y->last ? -1 : x->last > y->last;
}

/* The valid records of the same ring, into s->redo; the log then holds
 * them alone, oldest end first (a kill during the rebuild finds them again). */
static int take_over(pub_seals *s, uint64_t ring_created_ns, uint64_t released, uint32_t nlanes)
{
    pub_seal_file *f = s->f;
    size_t n = 0;
    if (!(s->redo = (pub_seal_rec *)malloc(sizeof f->slot)))
        return -1;
    if (f->magic == SEAL_MAGIC && f->ring_created_ns == ring_created_ns)
        for (size_t i = 0; i < PUB_SEAL_SLOTS; i++)
            if (valid(&f->slot[i], released, nlanes))
                s->redo[n++] = f->slot[i];
    qsort(s->redo, n, sizeof *s->redo, by_last);
    memset(f->slot, 0, sizeof f->slot);
    memcpy(f->slot, s->redo, n * sizeof *s->redo);
    f->magic = SEAL_MAGIC;
    f->ring_created_ns = ring_created_ns;
    s->head = 0;
    s->n = (uint32_t)n;
    qsort(s->redo, n, sizeof *s->redo, by_lane_then_last);
    s->nredo = merge_copies(s->redo, n);
    return 0;
}

int pub_seals_open(pub_seals *s, const char *path, uint64_t ring_created_ns, uint64_t released, uint32_t nlanes,
                   char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    if (!(s->f = (pub_seal_file *)pub_map_file(path, sizeof *s->f, "seal log", why, whylen)))
        return -1;
    if (take_over(s, ring_created_ns, released, nlanes) != 0) {
        pub_seals_close(s);
        snprintf(why, whylen, "seal log %.300s: out of memory", path);
        return -1;
    }
    return 0;
}

void pub_seals_close(pub_seals *s)
{
    if (s->f)
        munmap(s->f, sizeof *s->f);
    free(s->redo);
    memset(s, 0, sizeof *s);
}

int pub_seals_add(pub_seals *s, uint32_t lane, uint64_t first, uint64_t last)
{
    if (!s->f)
        return -1;
    if (s->n == PUB_SEAL_SLOTS) {
        s->overflow++;
        return -1;
    }
    uint32_t i = (s->head + s->n++) % PUB_SEAL_SLOTS;
    pub_seal_rec r = { first, last, lane, 0 };
    r.check = check_of(&r);
    s->f->slot[i] = r;
    return (int)i;
}

void pub_seals_safe(pub_seals *s, int slot)
{
    if (s->f && slot >= 0 && slot < PUB_SEAL_SLOTS)
        s->f->slot[slot].lane |= PUB_SEAL_SAFE;
}

void pub_seals_released(pub_seals *s, uint64_t tail)
{
    while (s->n > 0 && s->f->slot[s->head].last < tail) {
        memset(&s->f->slot[s->head], 0, sizeof *s->f->slot);
        s->head = (s->head + 1) % PUB_SEAL_SLOTS;
        s->n--;
    }
}
