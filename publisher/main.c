/*
 * ringpub — the event publisher daemon: drains a ringpub queue and ships
 * its events to a collector. See `ringpub --help` and README.md.
 */
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "metrics.h"
#include "redeliver.h"
#include "supervise.h"

#include <getopt.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char usage[] =
    "usage: ringpub --queue NAME [--config FILE] [--debug]\n"
    "       ringpub --queue-name NAME FILE          (baseplate's event_publisher form)\n"
    "Drains queue NAME (a ring in $RINGPUB_DIR, default /dev/shm) and POSTs its\n"
    "events in signed, compressed batches to the collector named in section\n"
    "[event-publisher:NAME] of FILE. Without a config it uses development\n"
    "defaults: collector http://" PUB_DEV_COLLECTOR ", key " PUB_DEV_KEY_NAME ".\n"
    "  --queue NAME, --queue-name NAME   the queue (default main)\n"
    "  --config FILE                     INI config (keys: --help-config)\n"
    "  --debug                           log every batch\n"
    "  --allow-insecure-config           only warn when FILE holds key.secret and\n"
    "                                    others may read it (default: refuse)\n"
    "  --help-config                     every config key: value, default, meaning\n"
    "  --help-metrics                    every metric: statsd and Prometheus names\n"
    "  --help, --version\n"
    "       ringpub redeliver --queue NAME --config FILE [--quarantine] [--dry-run]\n"
    "Sends refused (dead-lettered) batches again once the cause is fixed (see\n"
    "ringpub redeliver --help).\n"
    "With processors configured, the daemon runs in a child process that is\n"
    "restarted if a processor crashes (the crashing event goes to the error stream).\n";

#define bad(fmt, arg) cli_fail("ringpub", fmt, arg)

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", 1, 0, 'q' }, { "queue-name", 1, 0, 'q' }, { "config", 1, 0, 'c' },
        { "debug", 0, 0, 'd' }, { "allow-insecure-config", 0, 0, 'I' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' },
        { "help-config", 0, 0, 'K' }, { "help-metrics", 0, 0, 'M' }, { 0, 0, 0, 0 },
    };
    static pub_daemon d;
    /* Batch buffers (up to batch.max_bytes, and their compressed copies) are
     * allocated and freed all the time: above glibc's mmap threshold each one
     * was a fresh mmap, so every batch paid page faults and kernel page
     * clearing (19% of the daemon's CPU in the pipeline profile). Keep them
     * in the heap, and the heap's top, once grown. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (argc > 1 && strcmp(argv[1], "redeliver") == 0)
        return pub_redeliver_main(argc - 1, argv + 1);
    const char *queue = "main", *config = NULL;
    int allow_insecure = 0;
    char err[700];
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'q': queue = optarg; break;
        case 'c': config = optarg; break;
        case 'd': d.debug = 1; break;
        case 'I': allow_insecure = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'K': pub_config_help(stdout); return 0;
        case 'M': pub_metrics_help(stdout); return 0;
        case 'V': puts("ringpub " RINGPUB_VERSION); return 0;
        default: bad("bad option (see --help)%s", "");
        }
    }
    if (optind < argc && !config) /* baseplate: event_publisher --queue-name NAME config.ini */
        config = argv[optind++];
    if (optind < argc)
        bad("unexpected argument %s (see --help)", argv[optind]);
    if (!rp_queue_name_ok(queue))
        bad("bad queue name \"%s\": 1-64 chars of [A-Za-z0-9._-], not starting with '.'", queue);
    if (sodium_init() < 0)
        bad("libsodium failed to initialise%s", "");
    pub_config_defaults(&d.cfg, queue);
    d.cfg.allow_insecure = allow_insecure;
    if (config && pub_config_load(&d.cfg, config, err, sizeof err) != 0)
        bad("%s", err);
    if (d.cfg.warning[0])
        fprintf(stderr, "ringpub: WARNING: %s\n", d.cfg.warning);
    if (pub_config_check(&d.cfg, err, sizeof err) != 0)
        bad("%s", err);
    if (!config)
        fprintf(stderr, "ringpub: no config file: using development defaults (collector %s, key %s)\n",
                d.cfg.collector_host, d.cfg.key_name);
    /* processors are code run on every event: a crash in one must not stop the queue */
    int code;
    if (d.cfg.processors[strspn(d.cfg.processors, " \t,")] && pub_supervise(&code))
        return code;
    return pub_daemon_run(&d);
}
