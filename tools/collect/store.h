/*
 * store.h — where accepted events go: one JSONL file per queue in a
 * directory, one event per line (compact JSON), each batch appended with a
 * single write(2) so concurrent batches never interleave lines.
 */
#ifndef RINGCOLLECT_STORE_H
#define RINGCOLLECT_STORE_H

#include "buf.h"

#include <jansson.h>
#include <stddef.h>

typedef struct store store;

/* store_open — files under dir; fsync after each batch if sync. */
store *store_open(const char *dir, int sync, char *why, size_t whylen);
void store_close(store *s);

/* store_lines_of — the events of array `events` as compact JSON lines
 * appended to out (each ending in '\n'). 0, or -1 (out of memory). */
int store_lines_of(json_t *events, pub_buf *out);

/* store_append — append lines[len] (whole lines, each ending in '\n') to
 * QUEUE.jsonl in one write. queue must be a valid queue name. Returns 0, or
 * -1 with why. */
int store_append(store *s, const char *queue, const char *lines, size_t len, char *why, size_t whylen);

#endif
