/* e2e.h — ringbench --e2e: producer processes -> ring -> the ringpub daemon
 * -> ringcollect on 127.0.0.1 (both started from ringbench's directory),
 * zstd + HMAC on. Reports delivered events/s, put-to-collector latency
 * (every event carries its put time; ringbench follows the JSONL file, so
 * latency includes batching, up to batch.max_age) and bytes on the wire. */
#ifndef RINGBENCH_E2E_H
#define RINGBENCH_E2E_H

#include "run.h"

/* bench_e2e — 0 (r filled; r->available 0 with why if the binaries are
 * missing) or -1. */
int bench_e2e(const bench_opts *o, bench_result *r);

#endif
