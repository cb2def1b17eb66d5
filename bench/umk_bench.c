// One benchmark binary, run natively and under umk: each probe prints
// "name ns_per_op". Every probe makes a real kernel round trip.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define PROBE(name, iters, body)                                    \
    do {                                                            \
        double start = now_ns();                                    \
        for (long i = 0; i < (iters); i++) { body; }                \
        printf("%s %.1f\n", name, (now_ns() - start) / (iters));    \
    } while (0)

static void fork_exit_wait(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
}

static const char* self_path;

static void fork_exec_wait(void)
{
    pid_t p = fork();
    if (p == 0) {
        execl(self_path, "umk_bench", "exit", (char*)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

static void* thread_body(void* arg) { return arg; }

static void thread_create_join(void)
{
    pthread_t t;
    pthread_create(&t, NULL, thread_body, NULL);
    pthread_join(t, NULL);
}

static int ping[2], pong[2];

static void pipe_pingpong(void)
{
    char c = 0;
    if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
        abort();
}

int main(int argc, char** argv)
{
    const char* only = argc > 1 ? argv[1] : NULL;
    self_path = argv[0];
    if (only && !strcmp(only, "exit"))
        return 0;
    struct stat st;
    if (!only || !strcmp(only, "getppid"))
        PROBE("getppid", 200000, syscall(SYS_getppid));
    if (!only || !strcmp(only, "open_close"))
        PROBE("open_close", 50000, close(open("/etc/passwd", O_RDONLY)));
    if (!only || !strcmp(only, "stat"))
        PROBE("stat", 50000, stat("/usr/bin/ls", &st));
    if (!only || !strcmp(only, "fork_exit_wait"))
        PROBE("fork_exit_wait", 300, fork_exit_wait());
    if (!only || !strcmp(only, "fork_exec_wait"))
        PROBE("fork_exec_wait", 200, fork_exec_wait());
    if (!only || !strcmp(only, "thread_create_join"))
        PROBE("thread_create_join", 2000, thread_create_join());
    if (!only || !strcmp(only, "pipe_pingpong")) {
        if (pipe(ping) || pipe(pong))
            return 1;
        pid_t echo = fork();
        if (echo == 0) {
            close(ping[1]);
            close(pong[0]);
            char c;
            while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1) {
            }
            _exit(0);
        }
        close(ping[0]);
        close(pong[1]);
        PROBE("pipe_pingpong", 20000, pipe_pingpong());
        close(ping[1]);
        waitpid(echo, NULL, 0);
    }
    return 0;
}
