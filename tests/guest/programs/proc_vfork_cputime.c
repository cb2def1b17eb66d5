/* CPU time of vfork children that exit without an exec: theirs, not
 * their parent's. A child borrows its parent's host process, whose CPU
 * time umk counted for each such child: 20 of them after half a second
 * of the parent's work came to 10 s. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "guest_test.h"

static double seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(void)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < 0.5);
    for (int i = 0; i < 20; i++) {
        pid_t child = vfork();
        if (child == 0)
            _exit(i);
        waitpid(child, NULL, 0);
    }
    struct rusage children, self;
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_SELF, &self);
    double theirs = seconds(children.ru_utime) + seconds(children.ru_stime);
    double mine = seconds(self.ru_utime) + seconds(self.ru_stime);
    printf("children: %s\n", theirs < 0.2 ? "a little CPU time" : "too much CPU time");
    printf("the parent: %s\n", mine > 0.2 ? "its own half second" : "too little CPU time");
    return 0;
}
