/* Thread names: prctl(PR_SET_NAME) and pthread_setname_np name one
 * thread (the process's name is its leader's), /proc/PID/task/TID
 * (comm, stat, status) shows each thread's, a new thread starts with
 * its creator's, and a fork child takes the forking thread's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "guest_test.h"

static pthread_barrier_t step;
static pid_t worker_tid;

/* The start of /proc/self/task/TID/NAME in buf ("?" when unreadable). */
static void read_task_file(pid_t tid, const char* name, char* buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, name);
    int fd = open(path, O_RDONLY);
    long n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    snprintf(buf + (n > 0 ? n : 0), size - (n > 0 ? (size_t)n : 0), "%s", n > 0 ? "" : "?");
}

static void show(const char* label, pid_t tid)
{
    char comm[32] = { 0 }, stat[256] = { 0 }, status[512] = { 0 };
    read_task_file(tid, "comm", comm, sizeof comm);
    comm[strcspn(comm, "\n")] = 0;
    read_task_file(tid, "stat", stat, sizeof stat);
    char* open_paren = strchr(stat, '(');
    char* close_paren = strrchr(stat, ')');
    if (open_paren && close_paren)
        *close_paren = 0;
    read_task_file(tid, "status", status, sizeof status);
    char* name = strstr(status, "Name:\t");
    char* pid_line = strstr(status, "\nPid:\t");
    if (name)
        name[strcspn(name, "\n")] = 0;
    printf("%s: task comm [%s] stat name [%s] status [%s] stat tid %s status pid %s\n", label, comm,
           open_paren ? open_paren + 1 : "?", name ? name + 6 : "?", atoi(stat) == tid ? "is the tid" : "is not",
           pid_line && atoi(pid_line + 6) == tid ? "is the tid" : "is not");
}

static void show_process(const char* label)
{
    char comm[32] = { 0 }, name[17] = { 0 };
    int fd = open("/proc/self/comm", O_RDONLY);
    if (fd < 0 || read(fd, comm, sizeof comm - 1) < 0)
        comm[0] = '?';
    close(fd);
    comm[strcspn(comm, "\n")] = 0;
    prctl(PR_GET_NAME, name);
    printf("%s: /proc/self/comm [%s] main's PR_GET_NAME [%s]\n", label, comm, name);
}

static void* worker(void* arg)
{
    (void)arg;
    worker_tid = gettid();
    char name[17] = { 0 };
    prctl(PR_GET_NAME, name);
    printf("new thread starts as [%s]\n", name);
    prctl(PR_SET_NAME, "worker-one");
    pthread_barrier_wait(&step); /* 1: named */
    pthread_barrier_wait(&step); /* 2: renamed by main */
    prctl(PR_GET_NAME, name);
    printf("worker after main renamed it: [%s]\n", name);
    char link[64] = { 0 }, expect[64];
    snprintf(expect, sizeof expect, "%d/task/%d", getpid(), gettid());
    long n = readlink("/proc/thread-self", link, sizeof link - 1);
    printf("/proc/thread-self: %s\n", n > 0 && !strcmp(link, expect) ? "PID/task/TID" : "wrong");
    char own[32] = { 0 };
    int fd = open("/proc/thread-self/comm", O_RDONLY);
    if (fd < 0 || read(fd, own, sizeof own - 1) < 0)
        own[0] = '?';
    close(fd);
    own[strcspn(own, "\n")] = 0;
    printf("/proc/thread-self/comm: [%s]\n", own);
    /* /proc/TID: a thread's id looks up, though not listed */
    char by_tid[64];
    snprintf(by_tid, sizeof by_tid, "/proc/%d/comm", gettid());
    own[0] = 0;
    fd = open(by_tid, O_RDONLY);
    long got = fd >= 0 ? read(fd, own, sizeof own - 1) : -1;
    if (fd >= 0)
        close(fd);
    own[got > 0 ? got : 0] = 0;
    own[strcspn(own, "\n")] = 0;
    printf("/proc/TID/comm: %s [%s]\n", fd >= 0 ? "ok" : ename(errno), own);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char child_name[32] = { 0 };
        int fd = open("/proc/self/comm", O_RDONLY);
        if (fd < 0 || read(fd, child_name, sizeof child_name - 1) < 0)
            child_name[0] = '?';
        child_name[strcspn(child_name, "\n")] = 0;
        printf("fork child of the worker: [%s]\n", child_name);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    pthread_barrier_wait(&step); /* 3: forked */
    pthread_barrier_wait(&step); /* 4: looked at */
    return NULL;
}

int main(void)
{
    prctl(PR_SET_NAME, "main-name");
    pthread_barrier_init(&step, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_barrier_wait(&step); /* 1 */
    show_process("after the worker named itself");
    show("worker", worker_tid);
    show("main", getpid());
    {
        int r = pthread_setname_np(t, "renamed-by-main");
        printf("pthread_setname_np of the worker: %s\n", r == 0 ? "0" : ename(r));
    }
    pthread_barrier_wait(&step); /* 2 */
    pthread_barrier_wait(&step); /* 3 */
    show("worker", worker_tid);
    show_process("at the end");
    pthread_barrier_wait(&step); /* 4 */
    pthread_join(t, NULL);
    return 0;
}
