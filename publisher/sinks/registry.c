/* registry.c — the sinks by kind: one line per sink (see sink.h). */
#include "sink.h"

static const pub_sink_ops *const sinks[] = {
    [PUB_SINK_HTTP] = &pub_sink_http,
    [PUB_SINK_JETSTREAM] = &pub_sink_jetstream,
    [PUB_SINK_FILE] = &pub_sink_file,
    [PUB_SINK_EVENTGATE] = &pub_sink_eventgate,
};
#define NSINKS (sizeof sinks / sizeof *sinks)

const pub_sink_ops *pub_sink_ops_of(pub_sink s)
{
    return (unsigned)s < NSINKS && sinks[s] ? sinks[s] : &pub_sink_http;
}

int pub_sinks_open(pub_daemon *d, char *why, size_t whylen)
{
    for (unsigned s = 0; s < NSINKS; s++)
        if (sinks[s] && sinks[s]->open && pub_lanes_use(d->lanes, d->nlanes, (pub_sink)s) &&
            sinks[s]->open(d, why, whylen) != 0)
            return -1;
    return 0;
}

void pub_sinks_close(pub_daemon *d)
{
    for (unsigned s = 0; s < NSINKS; s++)
        if (sinks[s] && sinks[s]->close && pub_lanes_use(d->lanes, d->nlanes, (pub_sink)s))
            sinks[s]->close(d);
}
