/* Signals sent to a fork child at once, before it can have run a guest
 * instruction (umk finishes a child's setup while the parent goes on),
 * from a parent with threads that fork too, on task threads umk reuses:
 * a handled signal, SIGKILL, SIGSTOP and SIGCONT, and children that exit
 * at once. The output is the same whatever the timing. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "guest_test.h"

static volatile sig_atomic_t got_usr1;
static void on_usr1(int signo)
{
    (void)signo;
    got_usr1 = 1;
}

static int status_of(pid_t pid, int options)
{
    int status = 0;
    pid_t r;
    do
        r = waitpid(pid, &status, options);
    while (r < 0 && errno == EINTR);
    if (r != pid) {
        printf("waitpid: %s\n", ename(errno));
        exit(1);
    }
    return status;
}

/* A handled signal, pending or coming while the child waits for it. */
static int handled_signals(int rounds)
{
    int ok = 0;
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            while (!got_usr1)
                sigsuspend(&none);
            _exit(7);
        }
        kill(pid, SIGUSR1);
        int status = status_of(pid, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 7;
    }
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    return ok;
}

/* A child that waits for signals until one ends it. */
static pid_t fork_pausing(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static int killed_at_once(int rounds)
{
    int ok = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork_pausing();
        kill(pid, SIGKILL);
        int status = status_of(pid, 0);
        ok += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    return ok;
}

static int stopped_at_once(int rounds)
{
    int ok = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork_pausing();
        kill(pid, SIGSTOP);
        int stopped = status_of(pid, WUNTRACED);
        kill(pid, SIGCONT);
        kill(pid, SIGTERM);
        int status = status_of(pid, 0);
        ok += WIFSTOPPED(stopped) && WSTOPSIG(stopped) == SIGSTOP && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    }
    return ok;
}

/* Each thread forks children that exit at once with their number, and
 * waits for its own. */
static void* forking_thread(void* arg)
{
    long id = (long)arg, ok = 0;
    for (int i = 0; i < 40; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit((int)(id * 40 + i) & 0xff);
        int status = status_of(pid, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == ((id * 40 + i) & 0xff);
    }
    return (void*)ok;
}

static int threads_forking(void)
{
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, forking_thread, (void*)i);
    long ok = 0;
    for (int i = 0; i < 4; i++) {
        void* r;
        pthread_join(threads[i], &r);
        ok += (long)r;
    }
    return (int)ok;
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);
    printf("handled: %d of 60\n", handled_signals(60));
    printf("killed: %d of 60\n", killed_at_once(60));
    printf("stopped: %d of 30\n", stopped_at_once(30));
    printf("threads forking: %d of 160\n", threads_forking());
    printf("handled again: %d of 20\n", handled_signals(20));
    return 0;
}
