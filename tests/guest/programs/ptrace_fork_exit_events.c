/* A tracee that forks, vforks and execs with PTRACE_O_TRACEFORK, VFORK,
 * EXEC and EXIT: the tracer counts the event stops of the tracee and of
 * the children it gets attached to, among them PTRACE_EVENT_EXIT for
 * each (with the exit status in PTRACE_GETEVENTMSG), and the
 * signal-delivery stops for SIGCHLD, which the tracee ignores by default
 * but a tracer still sees. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/ptrace.h>

#include "guest_test.h"

enum { kChildren = 24 };

static void tracee(void)
{
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    for (int i = 0; i < kChildren; i++) {
        pid_t c = i % 3 == 2 ? vfork() : fork();
        if (c == 0) {
            if (i % 3 == 1)
                execl("/bin/true", "true", (char*)NULL);
            _exit(i & 7);
        }
        int st;
        waitpid(c, &st, 0);
        int want = i % 3 == 1 ? 0 : (i & 7);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
            _exit(100 + i);
    }
    _exit(5);
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t t = fork();
    if (t == 0)
        tracee();
    int st;
    waitpid(t, &st, 0);
    ptrace(PTRACE_SETOPTIONS, t, 0,
           PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT);
    ptrace(PTRACE_CONT, t, 0, 0);
    int forks = 0, vforks = 0, execs = 0, exits = 0, exit_status_sum = 0, sigstops = 0, sigchlds = 0, other = 0;
    int tracee_status = -1;
    for (;;) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (w == t)
                tracee_status = st;
            continue;
        }
        int inject = 0;
        switch (st >> 16) {
        case PTRACE_EVENT_FORK: forks++; break;
        case PTRACE_EVENT_VFORK: vforks++; break;
        case PTRACE_EVENT_EXEC: execs++; break;
        case PTRACE_EVENT_EXIT: {
            unsigned long msg = 0;
            ptrace(PTRACE_GETEVENTMSG, w, 0, &msg);
            exits++;
            exit_status_sum += (int)(msg >> 8);
            break;
        }
        case 0:
            if (WSTOPSIG(st) == SIGSTOP)
                sigstops++;
            else if (WSTOPSIG(st) == SIGCHLD)
                sigchlds++, inject = SIGCHLD;
            else
                other++, inject = WSTOPSIG(st);
            break;
        default:
            other++;
        }
        ptrace(PTRACE_CONT, w, 0, inject);
    }
    printf("forks %d, vforks %d, execs %d\n", forks, vforks, execs);
    printf("exit stops %d, their statuses add up to %d\n", exits, exit_status_sum);
    printf("SIGSTOP stops %d, SIGCHLD stops %d, other %d\n", sigstops, sigchlds, other);
    printf("tracee: exited %d, status %d\n", WIFEXITED(tracee_status), WEXITSTATUS(tracee_status));
    return 0;
}
