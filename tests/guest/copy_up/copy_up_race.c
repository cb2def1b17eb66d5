// copy_up_race DIR N THREADS: the threads race, for each i < N, to create
// DIR/d<i>/sub/t<thread> and to write byte 7*thread of DIR/f<i> (64
// bytes); then every file must be there and every write kept. Under umk
// DIR is in the lower layer, so each race is one of copy-ups.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char* dir;
static int n, threads;
static pthread_barrier_t barrier;
static long failures;

static void* race(void* arg)
{
    long id = (long)arg;
    char path[512];
    for (int i = 0; i < n; i++) {
        pthread_barrier_wait(&barrier);
        snprintf(path, sizeof path, "%s/d%d/sub/t%ld", dir, i, id);
        int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0)
            __sync_fetch_and_add(&failures, 1);
        else
            close(fd);
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fd = open(path, O_WRONLY);
        if (fd < 0 || pwrite(fd, "X", 1, id * 7) != 1)
            __sync_fetch_and_add(&failures, 1);
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc != 4)
        return 2;
    dir = argv[1];
    n = atoi(argv[2]);
    threads = atoi(argv[3]);
    pthread_t t[64];
    pthread_barrier_init(&barrier, NULL, threads);
    for (long id = 0; id < threads; id++)
        pthread_create(&t[id], NULL, race, (void*)id);
    for (int id = 0; id < threads; id++)
        pthread_join(t[id], NULL);
    long missing = 0, lost = 0;
    char path[512], data[64];
    for (int i = 0; i < n; i++) {
        for (int id = 0; id < threads; id++) {
            snprintf(path, sizeof path, "%s/d%d/sub/t%d", dir, i, id);
            if (access(path, F_OK) != 0)
                missing++;
        }
        snprintf(path, sizeof path, "%s/d%d/sub/after", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644); // alone, after the race
        if (fd < 0)
            missing++;
        else
            close(fd);
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fd = open(path, O_RDONLY);
        if (fd < 0 || pread(fd, data, sizeof data, 0) != sizeof data)
            lost += threads;
        else
            for (int id = 0; id < threads; id++)
                lost += data[id * 7] != 'X';
        if (fd >= 0)
            close(fd);
    }
    printf("failures %ld missing %ld lost writes %ld\n", failures, missing, lost);
    return failures || missing || lost;
}
