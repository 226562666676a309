/* Events refused one by one go to the error stream, with the real
 * binaries: a processor's refusals, an EventGate 207 partial success; an
 * error stream that cannot be written falls back without stopping
 * delivery. */
#include "rig.h"

#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(error_stream, .fini = rig_fini);

/* The error stream's lines: how many, and how many contain needle. */
static int error_lines(const char *needle, int *with)
{
    cr_assert_eq(access(path_in("spool/e2e.errors.jsonl"), R_OK), 0, "no error stream");
    *with = rig_lines_with("spool/e2e.errors.jsonl", needle);
    return rig_lines_with("spool/e2e.errors.jsonl", "");
}

/* Processors in the daemon: valid events reach the collector, filtered
 * ones are counted, failed ones land in the error stream with the reason,
 * and every ring byte is released. */
Test(error_stream, processors_route_failures_to_the_error_stream, .init = rig_setup)
{
    int port = free_port(), with;
    uint64_t acc[MAXP] = { 0 };
    tally t;
    rp_queue_opts o;
    char ev[200];
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, "processors = validate, drop\nvalidate.required = p, s\ndrop.match = debug.*\n");
    pid_t d = rig_daemon();
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0; i < 300; i++) {
        int n = i % 3 == 0 ? snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"event_type\":\"app.x\"}",
                                      (unsigned long long)acc[0]++)
              : i % 3 == 1 ? snprintf(ev, sizeof ev, "{\"p\":0,\"event_type\":\"app.x\"}")
                           : snprintf(ev, sizeof ev, "{\"p\":0,\"s\":9,\"event_type\":\"debug.x\"}");
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    cr_assert_eq(rp_queue_put(q, "not json", 8), 0);
    rp_queue_close(q);
    await_delivered(&t, 1, acc, 100);
    stop(d, SIGTERM);
    stop(col, SIGTERM);
    count_delivered(&t, 1, acc);
    cr_assert_eq(t.unique, 100);
    cr_assert_eq(t.lines, 100, "no filtered or invalid event reached the collector");
    cr_assert_eq(error_lines("\"processor\":\"validate\",\"message\"", &with), 101);
    cr_assert_eq(with, 101, "every error event names the processor and the reason");
    error_lines("\"message\":\"required field s is missing\"", &with);
    cr_assert_eq(with, 100);
    error_lines("\"raw_event\":\"not json\"", &with);
    cr_assert_eq(with, 1, "the original event is kept");
    error_lines("\"queue\":\"e2e\"", &with);
    cr_assert_eq(with, 101);
    rp_stats st;
    char why[200];
    cr_assert_eq(rp_ring_stat("e2e", &o, &st, why, sizeof why), 0, "%s", why);
    cr_assert_eq(st.used_bytes, 0, "every ring byte released");
}

/* Issue 14: an errors.file that cannot be written (its directory removed
 * under the daemon) used to stop the daemon at the first invalid event,
 * and the valid events behind it were not delivered. Now the refused
 * events go to the spool directory's error stream, said once in the log,
 * and delivery goes on. */
Test(error_stream, unwritable_error_stream_does_not_stop_delivery, .init = rig_setup)
{
    int port = free_port(), with;
    uint64_t acc[MAXP] = { 0 };
    tally t;
    rp_queue_opts o;
    char ev[200], extra[600];
    cr_assert_eq(mkdir(path_in("errs"), 0700), 0);
    snprintf(extra, sizeof extra, "processors = validate\nvalidate.required = p, s\nerrors.file = %s\n",
             path_in("errs/main.errors.jsonl"));
    pid_t col = rig_collector(port, NULL, NULL);
    rig_config(port, extra);
    pid_t d = rig_daemon();
    cr_assert_eq(rig_await_lines("ringpub.log", "spooled batches waiting", 1, 10000), 1, "it started");
    cr_assert_eq(rmdir(path_in("errs")), 0);
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0; i < 200; i++) {
        int n = i % 2 ? snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu}", (unsigned long long)acc[0]++)
                      : snprintf(ev, sizeof ev, "{\"p\":0,\"invalid\":%d}", i);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    rp_queue_close(q);
    await_delivered(&t, 1, acc, 100);
    stop_clean(d, SIGTERM);
    stop(col, SIGTERM);
    cr_assert_eq(error_lines("required field s is missing", &with), 100, "the refused events, in the fallback");
    cr_assert_eq(with, 100);
    cr_assert_eq(rig_lines_with("ringpub.log", "refused events go to"), 1, "said once");
}

/* sink = eventgate against ringcollect's EventGate-style /v1/events: the
 * accepted events are stored, the refused ones (207 partial success) land
 * in the error stream with EventGate's reason, the ring is released. */
Test(error_stream, eventgate_sink_partial_success, .init = rig_setup)
{
    int port = free_port(), with;
    uint64_t acc[MAXP] = { 0 };
    tally t;
    rp_queue_opts o;
    char ev[200], extra[200];
    pid_t col = rig_collector(port, NULL, NULL);
    snprintf(extra, sizeof extra, "sink = eventgate\neventgate.url = http://127.0.0.1:%d/v1/events\n", port);
    rig_config(port, extra);
    pid_t d = rig_daemon();
    rp_queue *q = rig_direct_queue(&o);
    for (int i = 0; i < 400; i++) {
        int n = i % 4 ? snprintf(ev, sizeof ev, "{\"p\":0,\"s\":%llu,\"$schema\":\"/t/1.0.0\",\"meta\":{\"stream\":\"t\"}}",
                                 (unsigned long long)acc[0]++)
                      : snprintf(ev, sizeof ev, "{\"p\":0,\"no_schema\":%d}", i);
        cr_assert_eq(rp_queue_put(q, ev, (size_t)n), 0);
    }
    rp_queue_close(q);
    rig_deliver_and_stop(&t, 1, acc, 300, d, col);
    cr_assert_eq(t.lines, 300);
    cr_assert_eq(error_lines("\"processor\":\"eventgate\"", &with), 100);
    cr_assert_eq(with, 100);
    error_lines("required property", &with);
    cr_assert_eq(with, 100, "EventGate's reason is kept");
}
