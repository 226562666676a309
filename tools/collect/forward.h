/*
 * forward.h — ringcollect's JetStream forwarding: every accepted batch is
 * published, as received (compressed body, signature headers), to subject
 * PREFIX.QUEUE with Nats-Msg-Id = its batch id, and the collector answers
 * the publisher only after the stream's ack. With the files turned off the
 * collector keeps no state, so any number can run behind a load balancer.
 */
#ifndef RINGCOLLECT_FORWARD_H
#define RINGCOLLECT_FORWARD_H

#include "server.h"

#include <stddef.h>

typedef struct forward forward;

/* forward_open — connect to `urls` (comma-separated nats://host:port,
 * retried in the background). NULL with why on a bad URL or no memory. */
forward *forward_open(const char *urls, const char *prefix, int timeout_ms, char *why, size_t whylen);

/*
 * forward_batch — publish one batch and wait for the ack. `h` gives the
 * request's headers (Content-Encoding, X-Signature, X-Signature-Timestamp
 * are carried over); json says /v2j. Thread-safe. 0, or -1 with why.
 */
int forward_batch(forward *f, const char *queue, const char *id, const collect_headers *h, int json,
                  const void *body, size_t len, char *why, size_t whylen);

void forward_close(forward *f);

#endif
