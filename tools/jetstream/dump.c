/* dump.c — see dump.h. */
#include "dump.h"

#include "body.h"
#include "buf.h"
#include "codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FETCH 64
#define FETCH_WAIT_MS 500
#define MAX_PLAIN (64u << 20)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *hdr(natsMsg *m, const char *key)
{
    const char *v = NULL;
    return natsMsgHeader_Get(m, key, &v) == NATS_OK ? v : NULL;
}

/* One message -> event lines: a batch (X-Collector-Version set) is decoded,
 * a single event (jetstream.unit = event) is written as it is. Returns
 * events written, or -1 with why. */
static long write_batch(natsMsg *m, FILE *f, char *why, size_t whylen)
{
    pub_compression codec;
    const char *ver = hdr(m, "X-Collector-Version");
    long n = -1;
    if (!ver) {
        fwrite(natsMsg_GetData(m), 1, (size_t)natsMsg_GetDataLength(m), f);
        fputc('\n', f);
        return 1;
    }
    if (pub_codec_from_encoding(hdr(m, "Content-Encoding"), &codec) != 0) {
        snprintf(why, whylen, "unknown Content-Encoding");
        return -1;
    }
    json_t *events = body_unpack(codec, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), MAX_PLAIN, ver, why,
                                 whylen);
    for (size_t i = 0; events && i < json_array_size(events); i++) {
        char *line = json_dumps(json_array_get(events, i), JSON_COMPACT);
        if (line) {
            fputs(line, f);
            fputc('\n', f);
            free(line);
        }
    }
    if (events)
        n = (long)json_array_size(events);
    json_decref(events);
    return n;
}

int ringjs_dump(jsCtx *js, const char *stream, const char *subject, const char *durable, const char *out,
                int64_t idle_ms)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsErrCode ec = 0;
    FILE *f = fopen(out, "a");
    unsigned long long msgs = 0, events = 0, bad = 0;
    int64_t last = now_ms();
    char why[300];
    if (!f) {
        fprintf(stderr, "ringjs: cannot open %s\n", out);
        return 1;
    }
    jsSubOptions_Init(&so);
    so.Stream = stream;
    natsStatus s = js_PullSubscribe(&sub, js, subject, durable, NULL, &so, &ec);
    if (s != NATS_OK) {
        fprintf(stderr, "ringjs: cannot consume %s from stream %s: %s (JetStream error %d)\n", subject, stream,
                natsStatus_GetText(s), (int)ec);
        fclose(f);
        return 1;
    }
    while (idle_ms == 0 || now_ms() - last < idle_ms) {
        natsMsgList list = { NULL, 0 };
        s = natsSubscription_Fetch(&list, sub, FETCH, FETCH_WAIT_MS, &ec);
        if (s == NATS_TIMEOUT || list.Count == 0) {
            natsMsgList_Destroy(&list);
            continue;
        }
        last = now_ms();
        for (int i = 0; i < list.Count; i++) {
            long n = write_batch(list.Msgs[i], f, why, sizeof why);
            msgs++;
            if (n < 0) {
                bad++;
                fprintf(stderr, "ringjs: message %s: %s; skipped\n", hdr(list.Msgs[i], "X-Batch-Id"), why);
            } else {
                events += (unsigned long long)n;
            }
        }
        /* durable before acked: a crash here repeats these, never loses them */
        if (fflush(f) != 0 || fdatasync(fileno(f)) != 0) {
            fprintf(stderr, "ringjs: cannot write %s\n", out);
            natsMsgList_Destroy(&list);
            break;
        }
        for (int i = 0; i < list.Count; i++)
            natsMsg_AckSync(list.Msgs[i], NULL, &ec);
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    fclose(f);
    printf("ringjs: %llu messages, %llu events -> %s (%llu malformed)\n", msgs, events, out, bad);
    return bad ? 1 : 0;
}
