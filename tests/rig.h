/*
 * rig.h — what the end-to-end suites share: the installed binaries, child
 * processes tracked by PID (rig_fini stops the ones a failed test left),
 * producer processes putting numbered events {"p":ID,"s":SEQ,...} into
 * queue rig_queue, and a tally of what arrived in the JSONL file rig_out.
 */
#ifndef RINGPUB_TEST_RIG_H
#define RINGPUB_TEST_RIG_H

#include "helpers.h"
#include "ringpub.h"

#include <stdint.h>
#include <sys/types.h>

#define E2E_WAIT_MS 60000
#define MAXP 4
#define MAXSEQ 200000

extern const char *rig_queue; /* the producers' queue ("e2e") */
extern const char *rig_out;   /* JSONL of delivered events, under th_dir() ("out/e2e.jsonl") */
extern const char *rig_out_also; /* a second such file tallied with it (NULL: none) */

/* Suite fini: SIGKILL and reap the children still running, then th_cleanup(). */
void rig_fini(void);
/* A test's .init: th_dir()/out made, RINGPUB_DIR = th_dir(). */
void rig_setup(void);
/* Path of an installed binary (RINGPUB_BIN_DIR); asserts it exists. */
const char *bin(const char *name);
/* th_dir()/name, from a ring of 4 static buffers. */
const char *path_in(const char *name);
/* A TCP port free on 127.0.0.1 right now. */
int free_port(void);
/* fork + exec argv, stdout and stderr appended to log; the child is tracked. */
pid_t spawn(char *const argv[], const char *log);
/* waitpid and forget a tracked child. */
pid_t reap(pid_t pid, int *status);
/* Send sig to pid, reap it, assert it exited 0 (a clean shutdown). */
void stop_clean(pid_t pid, int sig);
/* reap(), but waits at most ms: returns 0 (still running) after that. */
pid_t reap_within(pid_t pid, int *status, uint64_t ms);
/* Wait (bounded) until file f exists and is not empty. */
void await_file(const char *f);
/* Send sig to a tracked child and reap it. */
void stop(pid_t pid, int sig);

typedef struct {
    pid_t pid[MAXP];
    int fd[MAXP];
    int n;
} producers;

/* n producer processes, each putting `count` events for at most for_ms. */
void start_producers(producers *p, int n, uint64_t count, uint64_t for_ms);
/* Wait for them; accepted[i] = events producer i put. */
void join_producers(producers *p, uint64_t accepted[MAXP]);

/* What arrived in rig_out (and rig_out_also). */
typedef struct {
    uint64_t lines, unique, dups, bad;
} tally;

void count_delivered(tally *t, int np, const uint64_t *accepted);
/* Wait (bounded) until `want` unique events arrived, else fail. */
void await_delivered(tally *t, int np, const uint64_t *accepted, uint64_t want);
uint64_t sum(const uint64_t *a, int n);
/* The usual end of a run: await `want` unique events, SIGTERM daemon d and
 * collector col, tally into t, and assert every line is a producer's event
 * and `want` arrived (the caller asserts what else it must). */
void rig_deliver_and_stop(tally *t, int np, const uint64_t *accepted, uint64_t want, pid_t d, pid_t col);

/* Wait (bounded by ms) until th_dir()/rel has `want` lines with needle;
 * returns how many it has (the caller asserts). */
int rig_await_lines(const char *rel, const char *needle, int want, uint64_t ms);
/* `ringctl stat rig_queue --once` into out; its exit code. */
int rig_stat(char *out, size_t outlen);
/* Polls `ringctl stat rig_queue` (the daemon reports its sink once a
 * second) until its output, left in out, holds want: 1, or 0 after 10 s. */
int rig_stat_says(const char *want, char *out, size_t outlen);

/* The probes a daemon reports having sent to its failing sink (ringctl stat). */
long rig_probes(void);

/* Bytes of rig_queue's ring not yet released by its consumer. */
uint64_t rig_ring_used(void);
/* th_await predicate: every byte of rig_queue's ring is released. */
int rig_ring_released(void *unused);
/* Lines of file th_dir()/rel that contain needle (0 if there is no file). */
int rig_lines_with(const char *rel, const char *needle);
/* Spooled batches (*.rpb) in th_dir()/rel. */
int rig_files_in(const char *rel);
/* Batches in th_dir()/spool/rig_queue. */
int spool_files(void);
/* Wait (bounded) until a batch is in the spool, else fail with fail_msg. */
void await_spooled(const char *fail_msg);
/* th_await predicate: the spool has no batch left. */
int rig_spool_empty(void *unused);
/* The daemon with no collector on port: np producers put count events
 * each (acc: what they got in), and batches reach the spool. */
pid_t rig_spool_while_down(int port, int np, uint64_t count, uint64_t acc[MAXP]);
/* Run argv to its end; its output (stdout and stderr, up to errlen) in
 * err; the exit code. */
int run_capture(char *const argv[], char *err, size_t errlen);


/* ringcollect on 127.0.0.1:port writing th_dir()/out (extra1/2: more
 * arguments, or NULL); waits until it listens. */
pid_t rig_collector(int port, const char *extra1, const char *extra2);
/* th_dir()/ringpub.ini (mode 0600) for queue rig_queue: collector on port,
 * spool in th_dir()/spool, small ring and batches, then the extra lines. */
void rig_config(int port, const char *extra);
/* ringpub --queue rig_queue with that config, logging to ringpub.log. */
/* Write th_dir()/ringpub.ini: section [event-publisher:rig_queue], the
 * lines of base whose key extra does not set (a key set twice is refused),
 * then extra (may be NULL); mode 0600. */
void rig_write_config(const char *base, const char *extra);
pid_t rig_daemon(void);
/* A producer handle on rig_queue in th_dir() (8 MiB ring, 4 KiB events). */
rp_queue *rig_direct_queue(rp_queue_opts *o);
/* The ini blocks of docs/configuration.md and docs/operations.md, [section] lines left out, into blocks;
 * returns how many (asserts at most max). */
int rig_readme_blocks(char blocks[][4096], int max);
/* The development key ringcollect accepts by default (base64). */
#define DEV_SECRET "cmluZ3B1Yi1kZXZlbG9wbWVudC1zZWNyZXQtMDAwMDA="

#endif
