/* natsconn.h — one way to connect to NATS for ringpub and ringcollect. */
#ifndef RINGPUB_NATSCONN_H
#define RINGPUB_NATSCONN_H

#include <nats/nats.h>

/*
 * pub_nats_connect — connect to the servers in `urls` (comma-separated
 * nats://host:port). Never blocks on an unreachable cluster: if no server
 * answers now, it returns NATS_OK and libnats keeps trying in the
 * background (publishes wait in its reconnect buffer, then time out);
 * reconnects forever, every 250 ms. Other errors (bad URL) are returned.
 */
natsStatus pub_nats_connect(natsConnection **nc, const char *urls);

#endif
