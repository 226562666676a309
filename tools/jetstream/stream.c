/* stream.c — see stream.h. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBJECTS 16

int ringjs_stream(jsCtx *js, const char *name, const char *subjects, int replicas, int dup_s)
{
    char buf[1024], *save = NULL;
    const char *subj[MAX_SUBJECTS];
    int n = 0;
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode ec = 0;
    snprintf(buf, sizeof buf, "%s", subjects);
    for (char *t = strtok_r(buf, ",", &save); t && n < MAX_SUBJECTS; t = strtok_r(NULL, ",", &save))
        subj[n++] = t;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subj;
    cfg.SubjectsLen = n;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    cfg.Duplicates = (int64_t)dup_s * 1000000000LL; /* nanoseconds */
    natsStatus s = js_AddStream(&si, js, &cfg, NULL, &ec);
    if (s != NATS_OK && ec == JSStreamNameExistErr)
        s = js_GetStreamInfo(&si, js, name, NULL, &ec);
    if (s != NATS_OK) {
        fprintf(stderr, "ringjs: stream %s: %s (JetStream error %d)\n", name, natsStatus_GetText(s), (int)ec);
        return 1;
    }
    printf("stream %s: subjects %s, %lld replicas, %llu messages\n", name, subjects,
           (long long)si->Config->Replicas, (unsigned long long)si->State.Msgs);
    jsStreamInfo_Destroy(si);
    return 0;
}
