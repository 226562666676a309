/* registry.c — the sinks by kind: one line per sink (see sink.h). */
#include "sink.h"

const pub_sink_ops *pub_sink_ops_of(pub_sink s)
{
    static const pub_sink_ops *const sinks[] = {
        [PUB_SINK_HTTP] = &pub_sink_http,
        [PUB_SINK_JETSTREAM] = &pub_sink_jetstream,
        [PUB_SINK_FILE] = &pub_sink_file,
        [PUB_SINK_EVENTGATE] = &pub_sink_eventgate,
    };
    return (unsigned)s < sizeof sinks / sizeof *sinks && sinks[s] ? sinks[s] : &pub_sink_http;
}
