/* supervise.c — see supervise.h. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child, stop_sig;

static void forward(int sig)
{
    stop_sig = sig;
    if (child > 0)
        kill((pid_t)child, sig);
}

static int is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGFPE || sig == SIGILL || sig == SIGABRT || sig == SIGBUS;
}

static void set_handler(void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Too many restarts lately? (keeps the start times of the last few) */
static int too_many(time_t *starts, int *n)
{
    time_t now = time(NULL);
    int k = 0;
    for (int i = 0; i < *n; i++)
        if (now - starts[i] < SUPERVISE_WINDOW_S)
            starts[k++] = starts[i];
    *n = k;
    if (k >= SUPERVISE_MAX_RESTARTS)
        return 1;
    starts[(*n)++] = now;
    return 0;
}

int pub_supervise(int *exit_code)
{
    pid_t parent = getpid();
    time_t starts[SUPERVISE_MAX_RESTARTS];
    int nstarts = 0, st;
    set_handler(forward);
    for (;;) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "ringpub: cannot start the daemon process: %s\n", strerror(errno));
            *exit_code = 1;
            return 1;
        }
        if (pid == 0) {
            set_handler(SIG_DFL);
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
                _exit(1);
            return 0;
        }
        child = pid;
        if (stop_sig) /* arrived while there was no child */
            kill(pid, stop_sig);
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                *exit_code = 1;
                return 1;
            }
        child = 0;
        if (WIFEXITED(st)) {
            *exit_code = WEXITSTATUS(st);
            return 1;
        }
        int sig = WTERMSIG(st);
        if (!is_fault(sig) || stop_sig) {
            fprintf(stderr, "ringpub: the daemon process was ended by signal %d (%s)\n", sig, strsignal(sig));
            *exit_code = 128 + sig;
            return 1;
        }
        if (too_many(starts, &nstarts)) {
            fprintf(stderr, "ringpub: the daemon crashed %d times in %d s (last: %s); giving up\n",
                    SUPERVISE_MAX_RESTARTS, SUPERVISE_WINDOW_S, strsignal(sig));
            *exit_code = 1;
            return 1;
        }
        fprintf(stderr, "ringpub: the daemon crashed (%s); restarting it (an event that crashed a processor "
                        "goes to the error stream)\n", strsignal(sig));
    }
}
