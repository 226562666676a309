/* report.h — ringbench's output: a human table, JSON, histogram CSV. */
#ifndef RINGBENCH_REPORT_H
#define RINGBENCH_REPORT_H

#include "run.h"

#include <stdio.h>

/* report_table — one block per result, then ring / baseline ratios. */
void report_table(FILE *f, const bench_result *r, int n);
/* report_json — one JSON object: {"runs":[...],"ratios":{...}}. */
void report_json(FILE *f, const bench_result *r, int n);

#endif
