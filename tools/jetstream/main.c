/*
 * ringjs — JetStream next to ringpub: create the stream that receives the
 * batches, and read them back as events (a consumer example).
 *   ringjs stream --name S --subjects events.> [--replicas N] [--dup-window SECS]
 *   ringjs dump --stream S [--subject events.>] --durable D --out FILE [--idle-exit MS]
 * Both take --url nats://host:port[,...] (default nats://127.0.0.1:4222).
 */
#include "cli.h"
#include "dump.h"
#include "stream.h"

#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ringjs stream --name S --subjects SUBJ[,SUBJ] [--replicas N] [--dup-window SECS] [--url URLS]\n"
    "       ringjs dump --stream S [--subject SUBJ] --durable NAME --out FILE [--idle-exit MS] [--url URLS]\n"
    "stream: create JetStream stream S (file storage, N replicas, de-duplication window) or accept it\n"
    "        if it exists. dump: read S with a durable pull consumer, decode each batch (zstd/gzip,\n"
    "        v2 or v2j body) and append its events to FILE as JSON lines, fsynced before the ack;\n"
    "        with --idle-exit, stop after MS without a message.\n";

#define die(fmt, arg) cli_fail("ringjs", fmt, arg)

static long num(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        die("%s: value out of range", opt);
    return n;
}

int main(int argc, char **argv)
{
    const char *url = "nats://127.0.0.1:4222", *name = NULL, *subjects = "events.>", *durable = NULL, *out = NULL;
    long replicas = 1, dup_s = 300, idle = 0; /* dup_s: ringcollect's --replay-window */
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (argc >= 2 && cli_help_or_version("ringjs", argv[1], usage))
        return 0;
    if (argc < 2 || (strcmp(argv[1], "stream") != 0 && strcmp(argv[1], "dump") != 0)) {
        fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        if (!strcmp(a, "--url")) url = v;
        else if (!strcmp(a, "--name") || !strcmp(a, "--stream")) name = v;
        else if (!strcmp(a, "--subjects") || !strcmp(a, "--subject")) subjects = v;
        else if (!strcmp(a, "--replicas")) replicas = num(a, v, 1, 5);
        else if (!strcmp(a, "--dup-window")) dup_s = num(a, v, 1, 86400);
        else if (!strcmp(a, "--durable")) durable = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--idle-exit")) idle = num(a, v, 1, 86400000);
        else die("unknown option %s (see ringjs --help)", a);
    }
    if (!name)
        die("--name/--stream is required%s", "");
    if (!strcmp(argv[1], "dump") && (!durable || !out))
        die("dump needs --durable and --out%s", "");
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    int rc;
    if (s != NATS_OK) {
        fprintf(stderr, "ringjs: cannot reach %s: %s\n", url, natsStatus_GetText(s));
        rc = 1;
    } else if (!strcmp(argv[1], "stream")) {
        rc = ringjs_stream(js, name, subjects, (int)replicas, (int)dup_s);
    } else {
        rc = ringjs_dump(js, name, subjects, durable, out, idle);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}
