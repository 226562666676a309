/* e2e.c — ringbench --e2e: producers -> ring -> ringpub -> ringcollect on
 * loopback, with the binaries installed next to ringbench. Events carry
 * their put time; ringbench follows the collector's JSONL file and records
 * put-to-collector latency for every event. */
#include <ringpub.h>

#include "e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* The directory this executable lives in. */
static void self_dir(char *out, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
}

static int await_port(const char *file, int *port)
{
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(file, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok)
                return 0;
        }
        usleep(10000);
    }
    return -1;
}

static void produce(const bench_opts *o, int id, uint64_t *accepted)
{
    rp_queue *q;
    char ev[8192], pad[8192];
    size_t plen = o->lo > 80 ? o->lo - 80 : 1;
    memset(pad, 'x', plen);
    pad[plen] = '\0';
    if (rp_queue_open(&q, "ringbench", NULL) != 0)
        return;
    uint64_t end = wall_ns() + (uint64_t)(o->seconds * 1e9);
    uint64_t want = o->events ? o->events : UINT64_MAX;
    while (*accepted < want && wall_ns() < end) {
        int len = snprintf(ev, sizeof ev, "{\"t\":%llu,\"p\":%d,\"s\":%llu,\"pad\":\"%s\"}",
                           (unsigned long long)wall_ns(), id, (unsigned long long)*accepted, pad);
        int rc = rp_queue_put(q, ev, (size_t)len);
        if (rc == 0)
            (*accepted)++;
        else if (rc != RP_EFULL)
            break;
    }
    rp_queue_close(q);
}

/* Follow the JSONL file until `want` lines arrived or the deadline. */
static uint64_t follow(const char *path, uint64_t want, uint64_t deadline_ns, hist *lat, uint64_t *last_ns)
{
    static char buf[1 << 20];
    size_t have = 0;
    uint64_t lines = 0;
    int fd = -1;
    while (lines < want && wall_ns() < deadline_ns) {
        if (fd < 0 && (fd = open(path, O_RDONLY)) < 0) {
            usleep(1000);
            continue;
        }
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n <= 0) {
            usleep(500);
            continue;
        }
        uint64_t now = wall_ns();
        have += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', (size_t)(buf + have - start)))) {
            unsigned long long t;
            if (sscanf(start, "{\"t\":%llu,", &t) == 1 && t <= now)
                hist_add(lat, now - t);
            lines++;
            *last_ns = now;
            start = nl + 1;
        }
        have = (size_t)(buf + have - start);
        memmove(buf, start, have);
    }
    if (fd >= 0)
        close(fd);
    return lines;
}

/* GET /stats from ringcollect and read its bytes_in counter. */
static long collector_bytes_in(int port)
{
    char out[2000];
    const char req[] = "GET /stats HTTP/1.0\r\n\r\n";
    struct sockaddr_in a;
    ssize_t n, got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((n = read(fd, out + got, sizeof out - 1 - (size_t)got)) > 0)
        got += n;
    close(fd);
    out[got] = '\0';
    char *b = strstr(out, "\"bytes_in\":");
    return b ? strtol(b + 11, NULL, 10) : -1;
}

int bench_e2e(const bench_opts *o, bench_result *r)
{
    char dir[] = "/tmp/ringbench-e2e.XXXXXX", bin[PATH_MAX - 64], path[PATH_MAX], portf[PATH_MAX];
    char out[PATH_MAX], cfg[PATH_MAX], listen[32];
    int port;
    memset(r, 0, sizeof *r);
    snprintf(r->backend, sizeof r->backend, "e2e");
    r->producers = o->producers;
    r->procs = 1;
    r->lo = r->hi = o->lo;
    if (!mkdtemp(dir)) {
        snprintf(r->why, sizeof r->why, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    self_dir(bin, sizeof bin);
    snprintf(portf, sizeof portf, "%s/port", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    mkdir(out, 0700);
    setenv("RINGPUB_DIR", dir, 1);
    snprintf(path, sizeof path, "%s/ringcollect", bin);
    char *cargv[] = { path, "--listen", "127.0.0.1:0", "--out", out, "--port-file", portf, NULL };
    pid_t col = spawn(cargv, "/dev/null");
    if (await_port(portf, &port) != 0) {
        snprintf(r->why, sizeof r->why, "ringcollect did not start (is it built next to ringbench?)");
        kill(col, SIGTERM);
        return 0;
    }
    snprintf(cfg, sizeof cfg, "%s/ringpub.ini", dir);
    FILE *f = fopen(cfg, "w");
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    fprintf(f, "[event-publisher:ringbench]\ncollector.hostname = %s\ncollector.scheme = http\nkey.name = ringpub-dev\n"
               "key.secret = cmluZ3B1Yi1kZXZlbG9wbWVudC1zZWNyZXQtMDAwMDA=\nspool.dir = %s/spool\n"
               "compression = zstd\n", listen, dir);
    fclose(f);
    chmod(cfg, 0600); /* it holds the secret: ringpub refuses it otherwise */
    snprintf(path, sizeof path, "%s/ringpub", bin);
    char *pargv[] = { path, "--queue", "ringbench", "--config", cfg, NULL };
    char plog[PATH_MAX];
    snprintf(plog, sizeof plog, "%s/ringpub.log", dir);
    pid_t pub = spawn(pargv, plog);
    r->available = 1;

    uint64_t *acc = (uint64_t *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t t0 = wall_ns(), last = t0;
    pid_t kids[64];
    for (int i = 0; i < o->producers; i++)
        if ((kids[i] = fork()) == 0) {
            produce(o, i, &acc[i]);
            _exit(0);
        }
    for (int i = 0; i < o->producers; i++)
        waitpid(kids[i], NULL, 0);
    double put_s = (double)(wall_ns() - t0) / 1e9;
    for (int i = 0; i < o->producers; i++)
        r->accepted += acc[i];
    snprintf(path, sizeof path, "%s/ringbench.jsonl", out);
    r->consumed = follow(path, r->accepted, wall_ns() + 120000000000ull, &r->lat, &last);
    double wall = (double)(last - t0) / 1e9;
    r->attempts = r->accepted;
    r->bytes = r->accepted * o->lo;
    r->puts_per_s = put_s > 0 ? (double)r->accepted / put_s : 0;
    r->consumer_per_s = wall > 0 ? (double)r->consumed / wall : 0; /* delivered events/s */
    long wire = collector_bytes_in(port);
    r->wire_bytes = wire > 0 ? (uint64_t)wire : 0;
    r->mb_per_s = put_s > 0 ? (double)r->bytes / put_s / 1e6 : 0;
    r->counts_ok = r->consumed == r->accepted;
    kill(pub, SIGTERM);
    waitpid(pub, NULL, 0);
    kill(col, SIGTERM);
    waitpid(col, NULL, 0);
    munmap(acc, 4096);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        fprintf(stderr, "ringbench: could not remove %s\n", dir);
    return 0;
}
