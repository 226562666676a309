/* hist.c — see hist.h. Values below HIST_SUB get a bucket each; above, a
 * power of two is split into HIST_SUB equal sub-buckets. */
#include "hist.h"

static unsigned index_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
    unsigned shift = e - 5u;                         /* log2(HIST_SUB) = 5 */
    unsigned i = (e - 4u) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
    return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

static uint64_t upper_of(unsigned i)
{
    if (i < HIST_SUB)
        return i;
    unsigned e = i / HIST_SUB + 4u, sub = i % HIST_SUB;
    return ((uint64_t)(HIST_SUB + sub + 1) << (e - 5u)) - 1;
}

void hist_add(hist *h, uint64_t v)
{
    h->b[index_of(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(hist *dst, const hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_pct(const hist *h, double p)
{
    uint64_t want = (uint64_t)((double)h->count * p / 100.0 + 0.5), seen = 0;
    if (h->count == 0)
        return 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t u = upper_of(i);
            return u < h->max ? u : h->max;
        }
    }
    return h->max;
}

void hist_csv(const hist *h, FILE *f)
{
    uint64_t seen = 0;
    fprintf(f, "upper_ns,count,cumulative\n");
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        if (!h->b[i])
            continue;
        seen += h->b[i];
        fprintf(f, "%llu,%llu,%.6f\n", (unsigned long long)upper_of(i), (unsigned long long)h->b[i],
                (double)seen / (double)h->count);
    }
}
