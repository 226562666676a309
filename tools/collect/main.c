/*
 * ringcollect — the reference event collector: receives the batches ringpub
 * (or baseplate's event publisher) POSTs, checks them and appends each
 * event as one line to OUT/QUEUE.jsonl. See `ringcollect --help`.
 */
#include "cli.h"
#include "sign.h"  /* the development key */
#include "units.h"
#include "outdir.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: ringcollect [options]\n"
    "  --listen HOST:PORT      address to serve (default 127.0.0.1:8321; port 0: any)\n"
    "  --out DIR               where QUEUE.jsonl files and batch-ids.log go (default: $STATE_DIRECTORY,\n"
    "                          /var/lib/ringcollect as root, else ~/.local/state/ringcollect); it must be\n"
    "                          ours and closed to others, its files are never followed through links\n"
    "  --keys FILE             keys that may sign batches: NAME=BASE64 lines, a file\n"
    "                          only its owner may read (default: the development\n"
    "                          key ringpub uses without a config)\n"
    "  --max-body SIZE         largest request body (default 8MiB)\n"
    "  --max-decompressed SIZE largest decompressed body (default 64MiB)\n"
    "  --max-inflight SIZE     request bodies held in memory at once, all connections; past it\n"
    "                          503 + Retry-After (default 64MiB)\n"
    "  --max-conns N           connections at once (default 1000); --max-conns-per-ip N (default 64)\n"
    "  --body-timeout SECS     a body still arriving after this is cut off (default 30; idle\n"
    "                          connections close after 10 s)\n"
    "  --replay-window SECS    accepted clock skew of signed timestamps (default 300)\n"
    "  --allow-untimestamped NAME[,NAME]  also accept baseplate's signature form (the body only:\n"
    "                          no timestamp, batch id not covered) from these keys; by default every\n"
    "                          batch must be signed in ringpub's form (401 otherwise)\n"
    "  --jetstream URLS        also publish every accepted batch to NATS JetStream\n"
    "                          (comma-separated nats://host:port) and answer only\n"
    "                          after the stream's ack\n"
    "  --js-subject PREFIX     subject prefix, batches go to PREFIX.QUEUE (default events)\n"
    "  --no-files              with --jetstream: no JSONL files, no batch-id log\n"
    "                          (stateless; JetStream de-duplicates by batch id)\n"
    "  --tls-cert FILE, --tls-key FILE   serve HTTPS with this PEM certificate and\n"
    "                          key (the key file: owner-only)\n"
    "  --fsync                 fdatasync each batch before answering\n"
    "  --port-file FILE        write the bound port to FILE once listening\n"
    "misbehaviour, for tests:\n"
    "  --fail-rate F           answer a fraction F of batches with --fail-status\n"
    "  --fail-status N         the status to fail with, 400-599 (default 503)\n"
    "  --retry-after SECS      send Retry-After with 503 answers\n"
    "  --delay MS              wait before answering each batch\n"
    "  --refuse-rate F         refuse a fraction F of connections at accept\n"
    "  --seed N                seed for the above\n"
    "  --help, --version\n";

#define die(fmt, arg) cli_fail("ringcollect", fmt, arg)

static double parse_fraction(const char *opt, const char *v)
{
    char *end;
    double f = strtod(v, &end);
    if (*v == '\0' || *end || !(f >= 0 && f <= 1))
        die("%s wants a fraction between 0 and 1", opt);
    return f;
}

static long parse_int(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end || errno || n < lo || n > hi)
        die("%s: value out of range", opt);
    return n;
}

/* One "NAME=BASE64" line of a keys file. */
static void add_key(collect_cfg *c, const char *file, int lineno, const char *spec)
{
    const char *eq = strchr(spec, '=');
    char where[1100];
    snprintf(where, sizeof where, "%.1000s line %d", file, lineno);
    collect_key *k = &c->keys[c->nkeys];
    if (c->nkeys == COLLECT_MAX_KEYS)
        die("at most %s keys", "16");
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof k->name)
        die("%s: want NAME=BASE64", where);
    memcpy(k->name, spec, (size_t)(eq - spec));
    k->name[eq - spec] = '\0';
    if (sodium_base642bin(k->secret, sizeof k->secret, eq + 1, strlen(eq + 1), " \t\r", &k->len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || k->len == 0)
        die("%s: the secret is not base64", where);
    c->nkeys++;
}

/* --keys FILE: NAME=BASE64 lines ('#' comments), a file only its owner may
 * read — secrets never go on a command line, where ps shows them. */
static void load_keys(collect_cfg *c, const char *file)
{
    struct stat st;
    char line[1024];
    int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), lineno = 0;
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f)
        die("cannot read --keys %s", file);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0077))
        die("--keys %s must be a regular file only its owner may read (chmod 600)", file);
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        lineno++;
        p[strcspn(p, "\r\n")] = '\0';
        if (*p && *p != '#')
            add_key(c, file, lineno, p);
    }
    sodium_memzero(line, sizeof line);
    fclose(f);
    if (c->nkeys == 0)
        die("--keys %s holds no key", file);
}

/* A PEM file into memory; a private key must be closed to others. */
static char *read_pem(const char *opt, const char *file, int secret)
{
    struct stat st;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
        die("%s: cannot read a PEM file (at most 1 MiB) from this path", opt);
    if (secret && (st.st_mode & 0077))
        die("%s must be readable only by its owner (chmod 600)", opt);
    if (!(buf = (char *)calloc(1, (size_t)st.st_size + 1)) ||
        read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size)
        die("%s: short read", opt);
    close(fd);
    return buf;
}

static void parse_listen(collect_cfg *c, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof c->host)
        die("--listen wants HOST:PORT, got %s", v);
    memcpy(c->host, v, (size_t)(colon - v));
    c->host[colon - v] = '\0';
    c->port = (int)parse_int("--listen", colon + 1, 0, 65535);
}

static uint64_t parse_size_opt(const char *opt, const char *v)
{
    uint64_t n;
    if (pub_parse_size(v, &n) != 0 || n == 0 || n > ((uint64_t)1 << 32))
        die("%s wants a size like 8MiB", opt);
    return n;
}

/* --allow-untimestamped NAME[,NAME]: mark those keys (each must exist). */
static void allow_untimestamped(collect_cfg *c, const char *names)
{
    char list[1024];
    snprintf(list, sizeof list, "%s", names);
    for (char *save = NULL, *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        int found = 0;
        n += strspn(n, " ");
        for (int i = 0; i < c->nkeys; i++)
            if (strcmp(c->keys[i].name, n) == 0)
                c->keys[i].untimestamped = found = 1;
        if (!found)
            die("--allow-untimestamped: no key named \"%.200s\" (see --keys)", n);
    }
}

static void parse_args(int argc, char **argv, collect_cfg *c, const char **port_file, const char **untimestamped)
{
    static const struct option opts[] = {
        { "listen", 1, 0, 'l' }, { "out", 1, 0, 'o' }, { "keys", 1, 0, 'k' },
        { "require-timestamp", 0, 0, 'T' }, { "allow-untimestamped", 1, 0, 'A' },
        { "tls-cert", 1, 0, 'C' }, { "tls-key", 1, 0, 'K' },
        { "jetstream", 1, 0, 'J' }, { "js-subject", 1, 0, 'P' }, { "no-files", 0, 0, 'N' },
        { "max-body", 1, 0, 'b' }, { "max-decompressed", 1, 0, 'd' },
        { "replay-window", 1, 0, 'w' }, { "fsync", 0, 0, 'F' }, { "port-file", 1, 0, 'p' },
        { "fail-rate", 1, 0, 'f' }, { "fail-status", 1, 0, 's' }, { "retry-after", 1, 0, 'r' },
        { "max-inflight", 1, 0, 'I' }, { "max-conns", 1, 0, 'c' }, { "max-conns-per-ip", 1, 0, 'i' },
        { "body-timeout", 1, 0, 't' }, { "delay", 1, 0, 'D' }, { "refuse-rate", 1, 0, 'R' }, { "seed", 1, 0, 'S' },
        { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'l': parse_listen(c, optarg); break;
        case 'o': snprintf(c->out_dir, sizeof c->out_dir, "%s", optarg); break;
        case 'k': load_keys(c, optarg); break;
        case 'T': break; /* the default now; kept so old command lines still start */
        case 'A': *untimestamped = optarg; break;
        case 'J': c->jetstream = optarg; break;
        case 'P':
            if (strlen(optarg) == 0 || strlen(optarg) >= sizeof c->js_prefix || strpbrk(optarg, " \t*>"))
                die("--js-subject wants a subject prefix without spaces or wildcards, got \"%s\"", optarg);
            snprintf(c->js_prefix, sizeof c->js_prefix, "%s", optarg);
            break;
        case 'N': c->no_files = 1; break;
        case 'C': c->tls_cert_pem = read_pem("--tls-cert", optarg, 0); break;
        case 'K': c->tls_key_pem = read_pem("--tls-key", optarg, 1); break;
        case 'b': c->max_body = parse_size_opt("--max-body", optarg); break;
        case 'd': c->max_decompressed = parse_size_opt("--max-decompressed", optarg); break;
        case 'w': c->replay_window_s = (int)parse_int("--replay-window", optarg, 1, 86400); break;
        case 'F': c->fsync = 1; break;
        case 'p': *port_file = optarg; break;
        case 'f': c->fail_rate = parse_fraction("--fail-rate", optarg); break;
        case 's': c->fail_status = (int)parse_int("--fail-status", optarg, 400, 599); break;
        case 'r': c->retry_after_s = (int)parse_int("--retry-after", optarg, 0, 3600); break;
        case 'I': c->max_inflight = parse_size_opt("--max-inflight", optarg); break;
        case 'c': c->max_conns = (unsigned)parse_int("--max-conns", optarg, 1, 100000); break;
        case 'i': c->max_conns_per_ip = (unsigned)parse_int("--max-conns-per-ip", optarg, 1, 100000); break;
        case 't': c->body_timeout_s = (int)parse_int("--body-timeout", optarg, 1, 3600); break;
        case 'D': c->delay_ms = (int)parse_int("--delay", optarg, 0, 600000); break;
        case 'R': c->refuse_rate = parse_fraction("--refuse-rate", optarg); break;
        case 'S': c->seed = (uint64_t)parse_int("--seed", optarg, 0, 0x7fffffff); break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': puts("ringcollect " RINGPUB_VERSION); exit(0);
        default: die("bad option (see --help)%s", "");
        }
    }
    if (optind < argc)
        die("unexpected argument %s (see --help)", argv[optind]);
    if (!c->tls_cert_pem != !c->tls_key_pem)
        die("--tls-cert and --tls-key go together%s", "");
    if (c->no_files && !c->jetstream)
        die("--no-files needs --jetstream (the batches must go somewhere)%s", "");
}

int main(int argc, char **argv)
{
    collect_cfg c;
    const char *port_file = NULL, *untimestamped = NULL;
    char why[512];
    sigset_t sigs;
    int sig;

    memset(&c, 0, sizeof c);
    snprintf(c.host, sizeof c.host, "127.0.0.1");
    c.port = 8321;
    outdir_default(c.out_dir, sizeof c.out_dir);
    c.max_body = 8u << 20;
    c.max_decompressed = 64u << 20;
    c.replay_window_s = 300;
    c.fail_status = 503;
    c.dedup_window = 1u << 20;
    snprintf(c.js_prefix, sizeof c.js_prefix, "events");
    if (sodium_init() < 0)
        die("libsodium failed to initialise%s", "");
    parse_args(argc, argv, &c, &port_file, &untimestamped);
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) { /* room for --max-conns */
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (c.nkeys == 0 && !collect_loopback(c.host))
        die("--listen %s is not a loopback address and no --keys were given: the development key is public, "
            "so anyone could post as it; give --keys FILE", c.host);
    if (c.nkeys == 0) {
        add_key(&c, "built-in", 0, PUB_DEV_KEY_NAME "=" PUB_DEV_SECRET_B64);
        fprintf(stderr, "ringcollect: no --keys given: accepting the development key \"%s\"\n",
                PUB_DEV_KEY_NAME);
    }
    if (untimestamped)
        allow_untimestamped(&c, untimestamped);
    if (!c.no_files && outdir_prepare(c.out_dir, why, sizeof why) != 0)
        die("%s", why);

    /* signals are taken synchronously by this thread; the server's threads
     * inherit the mask */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    collect_server *s = collect_start(&c, why, sizeof why);
    if (!s)
        die("%s", why);
    if (c.no_files)
        fprintf(stderr, "ringcollect: listening on http://%s:%d, forwarding to JetStream, keeping no files\n",
                c.host, collect_port(s));
    else
        fprintf(stderr, "ringcollect: listening on http://%s:%d, writing %s/QUEUE.jsonl\n", c.host,
                collect_port(s), c.out_dir);
    if (port_file) { /* written whole, then renamed: readers never see half */
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", collect_port(s)) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0)
            die("cannot write --port-file %s", port_file);
    }
    sigwait(&sigs, &sig);
    collect_stats st;
    collect_get_stats(s, &st);
    collect_stop(s);
    fprintf(stderr, "ringcollect: stopped: %llu batches, %llu events, %llu duplicates, %llu rejected\n",
            (unsigned long long)st.batches, (unsigned long long)st.events,
            (unsigned long long)st.duplicates, (unsigned long long)st.rejected);
    return 0;
}
