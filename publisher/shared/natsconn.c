/* natsconn.c — see natsconn.h. */
#include "natsconn.h"

#include <stdio.h>
#include <string.h>

#define MAX_SERVERS 16

static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc, (void)closure; /* only here to make the first connect asynchronous */
}

natsStatus pub_nats_connect(natsConnection **nc, const char *urls)
{
    char buf[2048], *save = NULL;
    const char *list[MAX_SERVERS];
    int n = 0;
    natsOptions *o = NULL;
    snprintf(buf, sizeof buf, "%s", urls);
    for (char *t = strtok_r(buf, ", ", &save); t && n < MAX_SERVERS; t = strtok_r(NULL, ", ", &save))
        list[n++] = t;
    if (n == 0)
        return NATS_INVALID_ARG;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = natsOptions_SetServers(o, list, n);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 250);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, 64 << 20);
    if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, NULL);
    if (s == NATS_OK) {
        s = natsConnection_Connect(nc, o);
        if (s == NATS_NOT_YET_CONNECTED)
            s = NATS_OK;
    }
    natsOptions_Destroy(o);
    return s;
}
