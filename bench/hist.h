/*
 * hist.h — a small HDR-style latency histogram: log-linear buckets (32 per
 * power of two, so ~3% resolution) from 1 ns to ~18 minutes, fixed size,
 * no allocation, safe to place in shared memory and merge.
 */
#ifndef RINGBENCH_HIST_H
#define RINGBENCH_HIST_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SUB 32
#define HIST_BUCKETS (HIST_SUB * 36)

typedef struct hist {
    uint64_t count, max, sum;
    uint64_t b[HIST_BUCKETS];
} hist;

/* hist_add — record one value (ns). */
void hist_add(hist *h, uint64_t v);
/* hist_merge — add src's counts into dst. */
void hist_merge(hist *dst, const hist *src);
/* hist_pct — the value at percentile p (0..100), an upper bucket bound. */
uint64_t hist_pct(const hist *h, double p);
/* hist_csv — "upper_ns,count,cumulative_fraction" rows for non-empty buckets. */
void hist_csv(const hist *h, FILE *f);

#endif
