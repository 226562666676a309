/* rig.c — see rig.h. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

const char *rig_queue = "e2e";
const char *rig_out = "out/e2e.jsonl";
const char *rig_out_also = NULL;

/* Children started by a test; a failed assertion ends the test early, so
 * the suite's fini stops whatever is still running (by the PIDs we got). */
static pid_t kids[32];
static int nkids;

static void forget_kid(pid_t pid)
{
    for (int i = 0; i < nkids; i++)
        if (kids[i] == pid)
            kids[i] = kids[--nkids];
}

void rig_fini(void)
{
    for (int i = 0; i < nkids; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    nkids = 0;
    th_cleanup();
}


static char bindir[512];

const char *bin(const char *name)
{
    static char path[600];
    const char *d = getenv("RINGPUB_BIN_DIR");
    snprintf(bindir, sizeof bindir, "%s", d ? d : "zig-out/bin");
    snprintf(path, sizeof path, "%s/%s", bindir, name);
    cr_assert_eq(access(path, X_OK), 0, "%s not built (run zig build)", path);
    return path;
}

void rig_setup(void)
{
    mkdir(path_in("out"), 0700);
    setenv("RINGPUB_DIR", th_dir(), 1);
}

const char *path_in(const char *name)
{
    static char p[4][300];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", th_dir(), name);
    return p[i];
}

int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* fork + exec argv with stderr appended to log. */
pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (nkids < 32)
        kids[nkids++] = pid;
    return pid;
}

pid_t reap(pid_t pid, int *status)
{
    pid_t r = waitpid(pid, status, 0);
    forget_kid(pid);
    return r;
}

void stop_clean(pid_t pid, int sig)
{
    int status;
    kill(pid, sig);
    cr_assert_eq(reap(pid, &status), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pid %d: status %#x after signal %d, not exit 0",
              (int)pid, status, sig);
}

typedef struct reaping {
    pid_t pid, r;
    int *status;
} reaping;

static int reaped(void *ctx)
{
    reaping *w = (reaping *)ctx;
    w->r = waitpid(w->pid, w->status, WNOHANG);
    return w->r != 0;
}

pid_t reap_within(pid_t pid, int *status, uint64_t ms)
{
    reaping w = { pid, 0, status };
    th_await(reaped, &w, ms, 10);
    if (w.r == pid)
        forget_kid(pid);
    return w.r;
}

/* Wait until file exists and is non-empty (bounded). */
static int file_filled(void *f)
{
    struct stat st;
    return stat((const char *)f, &st) == 0 && st.st_size > 0;
}

void await_file(const char *f)
{
    cr_assert(th_await(file_filled, (void *)f, 10000, 10), "%s never appeared", f);
}

void stop(pid_t pid, int sig)
{
    int status;
    kill(pid, sig);
    cr_assert_eq(reap(pid, &status), pid);
}

/* Producer processes: each puts `count` JSON events {"p":id,"s":seq,...}
 * of about 200 bytes, retrying RP_EFULL until `until_ms`; the number
 * accepted goes back through a pipe. */

static void produce_child(int id, uint64_t count, uint64_t until_ms, int out)
{
    rp_queue *q;
    rp_queue_opts o;
    char ev[256];
    uint64_t n = 0;
    memset(&o, 0, sizeof o);
    o.dir = th_dir();
    o.capacity = 8 << 20;
    o.max_event = 4096;
    if (rp_queue_open(&q, rig_queue, &o) == 0) {
        while (n < count && th_now_ms() < until_ms) {
            int len = snprintf(ev, sizeof ev,
                               "{\"p\":%d,\"s\":%llu,\"event_type\":\"e2e.test\",\"payload\":{\"user\":\"u-%llu\","
                               "\"pad\":\"................................................................"
                               "......................................\"}}",
                               id, (unsigned long long)n, (unsigned long long)(n * 7919 % 100000));
            int rc = rp_queue_put(q, ev, (size_t)len);
            if (rc == 0)
                n++;
            else if (rc == RP_EFULL)
                usleep(200);
            else
                break;
        }
    }
    if (write(out, &n, sizeof n) != sizeof n)
        _exit(1);
    _exit(0);
}

void start_producers(producers *p, int n, uint64_t count, uint64_t for_ms)
{
    p->n = n;
    for (int i = 0; i < n; i++) {
        int fds[2];
        cr_assert_eq(pipe(fds), 0);
        p->pid[i] = fork();
        cr_assert_neq(p->pid[i], -1);
        if (p->pid[i] == 0)
            produce_child(i, count, th_now_ms() + for_ms, fds[1]);
        close(fds[1]);
        p->fd[i] = fds[0];
    }
}

/* Accepted counts per producer. */
void join_producers(producers *p, uint64_t accepted[MAXP])
{
    for (int i = 0; i < p->n; i++) {
        cr_assert_eq(read(p->fd[i], &accepted[i], sizeof accepted[i]), (ssize_t)sizeof accepted[i]);
        close(p->fd[i]);
        th_reap_ok(p->pid[i], "producer");
    }
}


static void tally_file(tally *t, const char *rel, int np, const uint64_t *accepted, uint8_t seen[MAXP][MAXSEQ])
{
    char line[1024];
    FILE *f = fopen(path_in(rel), "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        int p;
        unsigned long long s;
        t->lines++;
        if (sscanf(line, "{\"p\":%d,\"s\":%llu,", &p, &s) != 2 || p < 0 || p >= np || s >= MAXSEQ ||
            (accepted && s >= accepted[p])) {
            t->bad++;
            continue;
        }
        if (seen[p][s]++)
            t->dups++;
        else
            t->unique++;
    }
    fclose(f);
}

void count_delivered(tally *t, int np, const uint64_t *accepted)
{
    static uint8_t seen[MAXP][MAXSEQ];
    memset(seen, 0, sizeof seen);
    memset(t, 0, sizeof *t);
    tally_file(t, rig_out, np, accepted, seen);
    if (rig_out_also)
        tally_file(t, rig_out_also, np, accepted, seen);
}

/* Wait until `want` unique events arrived (bounded). */
typedef struct delivery {
    tally *t;
    int np;
    const uint64_t *accepted;
    uint64_t want;
} delivery;

static int delivered(void *ctx)
{
    delivery *w = (delivery *)ctx;
    count_delivered(w->t, w->np, w->accepted);
    return w->t->unique >= w->want;
}

void await_delivered(tally *t, int np, const uint64_t *accepted, uint64_t want)
{
    delivery w = { t, np, accepted, want };
    if (th_await(delivered, &w, E2E_WAIT_MS, 20))
        return;
    cr_assert_fail("only %llu of %llu events arrived (see %s)", (unsigned long long)t->unique,
                   (unsigned long long)want, path_in("ringpub.log"));
}

void rig_deliver_and_stop(tally *t, int np, const uint64_t *accepted, uint64_t want, pid_t d, pid_t col)
{
    await_delivered(t, np, accepted, want);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(t, np, accepted);
    cr_assert_eq(t->bad, 0);
    cr_assert_eq(t->unique, want);
}

uint64_t sum(const uint64_t *a, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}


int rig_files_in(const char *rel)
{
    int n = 0;
    DIR *dir = opendir(path_in(rel));
    struct dirent *e;
    if (!dir)
        return 0;
    while ((e = readdir(dir)))
        n += strstr(e->d_name, ".rpb") != NULL;
    closedir(dir);
    return n;
}

int spool_files(void)
{
    char spool_dir[128];
    snprintf(spool_dir, sizeof spool_dir, "spool/%s", rig_queue);
    return rig_files_in(spool_dir);
}

/* Wait (bounded) until a batch is in the spool. */
static int spooled(void *unused) { return (void)unused, spool_files() > 0; }

void await_spooled(const char *fail_msg)
{
    cr_assert(th_await(spooled, NULL, 20000, 10), "%s", fail_msg);
}

int run_capture(char *const argv[], char *err, size_t errlen)
{
    int status;
    const char *log = path_in("cli.log");
    unlink(log);
    pid_t pid = spawn(argv, log);
    cr_assert_eq(reap(pid, &status), pid);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- the usual e2e set-up: ringcollect, a config, ringpub ---------------- */

pid_t rig_collector(int port, const char *extra1, const char *extra2)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    unlink(path_in("port"));
    char *argv[] = { (char *)bin("ringcollect"), "--listen", listen, "--out", (char *)path_in("out"),
                     "--port-file", (char *)path_in("port"), (char *)extra1, (char *)extra2, NULL };
    pid_t p = spawn(argv, path_in("collect.log"));
    await_file(path_in("port"));
    return p;
}

/* 1 if config text sets key (at a line's start). */
static int sets(const char *text, const char *key, size_t n)
{
    for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, key, n) == 0 && (l[n] == ' ' || l[n] == '='))
            return 1;
    return 0;
}

void rig_write_config(const char *base, const char *extra)
{
    FILE *f = fopen(path_in("ringpub.ini"), "w");
    cr_assert_not_null(f);
    extra = extra ? extra : "";
    fprintf(f, "[event-publisher:%s]\n", rig_queue);
    for (const char *l = base, *end; *l; l = *end ? end + 1 : end) { /* a key set twice is refused: extra's win */
        end = l + strcspn(l, "\n");
        if (!sets(extra, l, strcspn(l, " =")))
            fprintf(f, "%.*s\n", (int)(end - l), l);
    }
    fprintf(f, "%s\n", extra);
    fclose(f);
    cr_assert_eq(chmod(path_in("ringpub.ini"), 0600), 0, "it may hold the secret");
}

void rig_config(int port, const char *extra)
{
    char base[1024];
    snprintf(base, sizeof base,
             "collector.hostname = 127.0.0.1:%d\ncollector.scheme = http\nkey.name = ringpub-dev\n"
             "key.secret = " DEV_SECRET "\nspool.dir = %s\n"
             "ring.capacity = 8MiB\nring.max_event = 4KiB\nbatch.max_bytes = 64KiB\n"
             "batch.max_age = 50ms\nretry.backoff_cap = 300ms\npost.timeout = 2s\n"
             "signature.timestamp = true\n", /* ringcollect wants ringpub's form */
             port, path_in("spool"));
    rig_write_config(base, extra);
}

pid_t rig_daemon(void)
{
    char *argv[] = { (char *)bin("ringpub"), "--queue", (char *)rig_queue, "--config",
                     (char *)path_in("ringpub.ini"), NULL };
    return spawn(argv, path_in("ringpub.log"));
}

rp_queue *rig_direct_queue(rp_queue_opts *o)
{
    rp_queue *q;
    memset(o, 0, sizeof *o);
    o->dir = th_dir();
    o->capacity = 8 << 20;
    o->max_event = 4096;
    cr_assert_eq(rp_queue_open(&q, rig_queue, o), 0);
    return q;
}

int rig_lines_with(const char *rel, const char *needle)
{
    char line[4096];
    int n = 0;
    FILE *f = fopen(path_in(rel), "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

uint64_t rig_ring_used(void)
{
    rp_stats st;
    rp_queue_opts o;
    char why[200];
    memset(&o, 0, sizeof o);
    o.dir = th_dir();
    cr_assert_eq(rp_ring_stat(rig_queue, &o, &st, why, sizeof why), 0, "%s", why);
    return st.used_bytes;
}

typedef struct lines_await {
    const char *rel, *needle;
    int want, n;
} lines_await;

static int enough_lines(void *ctx)
{
    lines_await *w = (lines_await *)ctx;
    w->n = rig_lines_with(w->rel, w->needle);
    return w->n >= w->want;
}

int rig_await_lines(const char *rel, const char *needle, int want, uint64_t ms)
{
    lines_await w = { rel, needle, want, 0 };
    th_await(enough_lines, &w, ms, 10);
    return w.n;
}

typedef struct stat_await {
    const char *want;
    char *out;
    size_t outlen;
} stat_await;

int rig_stat(char *out, size_t outlen)
{
    char *argv[] = { (char *)bin("ringctl"), (char *)"stat", (char *)rig_queue, (char *)"--once", NULL };
    return run_capture(argv, out, outlen);
}

static int stat_has(void *ctx)
{
    stat_await *w = (stat_await *)ctx;
    return rig_stat(w->out, w->outlen) == 0 && strstr(w->out, w->want) != NULL;
}

int rig_stat_says(const char *want, char *out, size_t outlen)
{
    stat_await w = { want, out, outlen };
    return th_await(stat_has, &w, 10000, 50);
}

int rig_ring_released(void *unused)
{
    (void)unused;
    return rig_ring_used() == 0;
}

long rig_probes(void)
{
    static char out[1 << 14];
    cr_assert(rig_stat_says(" probes since start", out, sizeof out), "%s", out);
    const char *p = strstr(out, " probes since start");
    while (p > out && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtol(p, NULL, 10);
}

/* The documentation's ```ini blocks (docs/configuration.md, then
 * docs/operations.md), their [section] lines left out; returns how many (at
 * most max). */
int rig_readme_blocks(char blocks[][4096], int max)
{
    static const char *const docs[] = { "docs/configuration.md", "docs/operations.md" };
    char path[1024], line[1024];
    int n = 0;
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        int in = 0;
        size_t len = 0;
        snprintf(path, sizeof path, "%s", __FILE__);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash : path, sizeof path - (size_t)(slash ? slash - path : 0), "/../%s", docs[d]);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        while (fgets(line, sizeof line, f)) {
            if (!in && strncmp(line, "```ini", 6) == 0) {
                cr_assert_lt(n, max);
                in = 1, len = 0, blocks[n][0] = '\0';
            } else if (in && strncmp(line, "```", 3) == 0) {
                in = 0, n++;
            } else if (in && line[0] != '[') {
                cr_assert_lt(len + strlen(line), sizeof blocks[0]);
                len += (size_t)snprintf(blocks[n] + len, sizeof blocks[0] - len, "%s", line);
            }
        }
        fclose(f);
    }
    return n;
}

int rig_spool_empty(void *unused)
{
    (void)unused;
    return spool_files() == 0;
}

pid_t rig_spool_while_down(int port, int np, uint64_t count, uint64_t acc[MAXP])
{
    producers p;
    rig_config(port, NULL);
    pid_t d = rig_daemon(); /* nothing listens on port yet */
    start_producers(&p, np, count, 30000);
    join_producers(&p, acc);
    await_spooled("nothing was spooled");
    return d;
}
