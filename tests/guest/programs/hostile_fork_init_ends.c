/* pid 1 ends while another process forks from 8 threads: every process
 * must end with it. A fork under way as pid 1's end killed the others
 * used to finish afterwards, and its child paused forever: `umk run`
 * never returned (hostile_fork_init_ends.sh runs this several times). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void* forker(void* arg)
{
    (void)arg;
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            for (;;)
                pause();
        }
        if (pid > 0 && (pid & 1))
            kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    }
    return NULL;
}

int main(void)
{
    if (fork() == 0) {
        pthread_t t;
        for (int i = 0; i < 8; i++)
            pthread_create(&t, NULL, forker, NULL);
        pause();
    }
    usleep(300000);
    return 0;
}
