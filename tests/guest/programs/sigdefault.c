/* Default actions, compared with native by the exit status: argv[1] names
 * what the program does to itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    const char* what = argc > 1 ? argv[1] : "";
    printf("%s\n", what);
    fflush(stdout);
    if (!strcmp(what, "abort"))
        abort();
    if (!strcmp(what, "term"))
        raise(SIGTERM);
    if (!strcmp(what, "segv"))
        *(volatile int*)0 = 1;
    if (!strcmp(what, "kill"))
        kill(getpid(), SIGKILL);
    if (!strcmp(what, "blocked-segv")) { /* a blocked fault signal still kills */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigprocmask(SIG_BLOCK, &s, NULL);
        *(volatile int*)0 = 1;
    }
    if (!strcmp(what, "ignored-usr1")) {
        signal(SIGUSR1, SIG_IGN);
        raise(SIGUSR1);
        return 3;
    }
    return 0;
}
