/* Two Unix users share a ring (a service user produces, a daemon user
 * consumes), whichever side starts first, when the ring directory is
 * set-group-ID and closed to others (mode 2770, group G): the README's
 * recipe. Real users: the producer (ringctl put) and the daemon (ringpub)
 * run under setpriv with their own uid and G as a supplementary group; a
 * third user outside G is refused; a world-writable directory without the
 * sticky bit is refused. Needs root (to switch users), as CI runs. */
#include "check.h"
#include "rig.h"

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(users, .fini = rig_fini);

#define G_SHARE 64600 /* the group both users are in */
#define U_SVC 64601   /* the service (producer) */
#define U_PUB 64602   /* the daemon */
#define U_OUT 64603   /* in neither */

static char exe_ringpub[400], exe_ringctl[400], rings[400];

static void copy_exe(const char *name, char *to, size_t len)
{
    char cmd[1200];
    snprintf(to, len, "%s/bin/%s", th_dir(), name);
    snprintf(cmd, sizeof cmd, "install -m 0755 '%s' '%s'", bin(name), to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* th_dir() open to the other users (the binaries are copied in: a checkout
 * under a 0700 directory is not theirs to run); rings/ root:G 2770;
 * spool/ theirs alone. */
static void setup(void)
{
    cr_assert_eq(geteuid(), 0, "this suite switches between real users: run it as root (CI does)");
    cr_assert_eq(chmod(th_dir(), 0711), 0);
    mkdir(path_in("bin"), 0755);
    copy_exe("ringpub", exe_ringpub, sizeof exe_ringpub);
    copy_exe("ringctl", exe_ringctl, sizeof exe_ringctl);
    snprintf(rings, sizeof rings, "%s/rings", th_dir());
    cr_assert_eq(mkdir(rings, 0700), 0);
    cr_assert_eq(chown(rings, 0, G_SHARE), 0);
    cr_assert_eq(chmod(rings, 02770), 0);
    cr_assert_eq(mkdir(path_in("spool"), 0700), 0);
    cr_assert_eq(chown(path_in("spool"), U_PUB, U_PUB), 0);
    mkdir(path_in("out"), 0700);
    setenv("RINGPUB_DIR", rings, 1);
}

/* `setpriv` argv prefix for uid (in G unless it is U_OUT) then cmd. */
static pid_t as_user(int uid, char *const cmd[], const char *log)
{
    char ids[3][40];
    char *argv[16];
    int n = 0;
    snprintf(ids[0], sizeof ids[0], "--reuid=%d", uid);
    snprintf(ids[1], sizeof ids[1], "--regid=%d", uid);
    snprintf(ids[2], sizeof ids[2], "--groups=%d", G_SHARE);
    argv[n++] = "/usr/bin/setpriv";
    argv[n++] = ids[0];
    argv[n++] = ids[1];
    argv[n++] = uid == U_OUT ? "--clear-groups" : ids[2];
    for (int i = 0; cmd[i] && n < 15; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    return spawn(argv, log);
}

/* The service user puts events s = from..to-1 of producer 0 with ringctl
 * put (stdin: a file it may read); returns ringctl's exit code, its output
 * in out. */
static int svc_put(int uid, const char *queue, int from, int to, char *out, size_t outlen)
{
    char file[400], sh[1200];
    int status;
    snprintf(file, sizeof file, "%s/events-%s-%d.jsonl", th_dir(), queue, from);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    for (int s = from; s < to; s++)
        fprintf(f, "{\"p\":0,\"s\":%d,\"event_type\":\"users.test\",\"payload\":{\"n\":%d}}\n", s, s);
    fclose(f);
    cr_assert_eq(chmod(file, 0644), 0);
    snprintf(sh, sizeof sh, "exec '%s' put --queue %s < '%s'", exe_ringctl, queue, file);
    char *cmd[] = { "/bin/sh", "-c", sh, NULL };
    const char *log = path_in("put.log");
    unlink(log);
    pid_t p = as_user(uid, cmd, log);
    cr_assert_eq(reap(p, &status), p);
    f = fopen(log, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ringpub as the daemon user, for `queue`, to the collector on port. */
static pid_t pub_daemon(int port, const char *queue)
{
    char cfg[400];
    rig_queue = queue;
    rig_config(port, "ring.capacity = 1MiB\n");
    snprintf(cfg, sizeof cfg, "%s", path_in("ringpub.ini"));
    cr_assert_eq(chown(cfg, U_PUB, U_PUB), 0);
    char *cmd[] = { exe_ringpub, "--queue", (char *)queue, "--config", cfg, NULL };
    return as_user(U_PUB, cmd, path_in("ringpub.log"));
}

static void assert_shared_ring(const char *queue, int owner)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", rings, queue);
    cr_assert_eq(stat(p, &st), 0, "no ring %s", p);
    cr_assert_eq(st.st_uid, (uid_t)owner, "ring %s owned by %u", queue, (unsigned)st.st_uid);
    cr_assert_eq(st.st_gid, (gid_t)G_SHARE, "ring %s has group %u, not the directory's", queue,
                 (unsigned)st.st_gid);
    cr_assert_eq(st.st_mode & 0777, 0660, "ring %s has mode %o", queue, (unsigned)(st.st_mode & 0777));
}

static void assert_delivered(const char *queue, uint64_t n)
{
    char out[300];
    uint64_t acc[MAXP] = { n };
    tally t;
    snprintf(out, sizeof out, "out/%s.jsonl", queue);
    rig_out = out;
    await_delivered(&t, 1, acc, n);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, n);
    cr_assert_eq(t.dups, 0);
    cr_assert_eq(t.bad, 0);
}

Test(users, the_producer_starts_first, .init = setup)
{
    char out[2000];
    int port = free_port();
    pid_t col = rig_collector(port, NULL, NULL);
    cr_assert_eq(svc_put(U_SVC, "first", 0, 100, out, sizeof out), 0, "%s", out);
    assert_shared_ring("first", U_SVC);
    pid_t d = pub_daemon(port, "first");
    assert_delivered("first", 100);
    cr_assert_eq(svc_put(U_SVC, "first", 100, 200, out, sizeof out), 0, "%s", out);
    assert_delivered("first", 200);
    stop_clean(d, SIGTERM);
    stop_clean(col, SIGTERM);
}

Test(users, the_daemon_starts_first, .init = setup)
{
    char out[2000];
    int port = free_port();
    pid_t col = rig_collector(port, NULL, NULL);
    pid_t d = pub_daemon(port, "second");
    char p[600];
    snprintf(p, sizeof p, "%s/second", rings);
    await_file(p);
    assert_shared_ring("second", U_PUB);
    cr_assert_eq(svc_put(U_SVC, "second", 0, 100, out, sizeof out), 0, "%s", out);
    assert_delivered("second", 100);
    cr_assert_neq(svc_put(U_OUT, "second", 100, 110, out, sizeof out), 0, "a user outside the group put events");
    cr_assert(strstr(out, "ermission") || strstr(out, "not shared"), "%s", out);
    stop_clean(d, SIGTERM);
    stop_clean(col, SIGTERM);
}

Test(users, a_world_writable_directory_without_sticky_bit_is_refused, .init = setup)
{
    char out[2000];
    cr_assert_eq(chmod(rings, 0777), 0);
    cr_assert_neq(svc_put(U_SVC, "open", 0, 1, out, sizeof out), 0, "a ring was made in a 0777 directory");
    cr_assert(strstr(out, "no sticky bit"), "%s", out);
    cr_assert_eq(chmod(rings, 01777), 0); /* /dev/shm's mode: private rings */
    cr_assert_eq(svc_put(U_SVC, "open", 0, 1, out, sizeof out), 0, "%s", out);
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/open", rings);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "a ring in a sticky directory is private (mode %o)",
                 (unsigned)(st.st_mode & 0777));
}
