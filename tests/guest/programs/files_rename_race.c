/* Two threads move directories a and b into each other, over and over:
 * Linux serializes cross-directory renames, so one of each pair fails
 * (EINVAL: a directory cannot go below itself) and both end where they
 * started; without that the two could make a cycle and vanish. Compared
 * with Linux. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "guest_test.h"

static char base[] = "/tmp/umk-rename-race-XXXXXX";
static char a[128], b[128], a_in_b[160], b_in_a[160];
static volatile int stop;

static void* move_a(void* arg)
{
    (void)arg;
    while (!stop)
        if (rename(a, a_in_b) == 0 && rename(a_in_b, a) != 0)
            stop = 1;
    return NULL;
}

static void* move_b(void* arg)
{
    (void)arg;
    while (!stop)
        if (rename(b, b_in_a) == 0 && rename(b_in_a, b) != 0)
            stop = 1;
    return NULL;
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(b, sizeof b, "%s/b", base);
    snprintf(a_in_b, sizeof a_in_b, "%s/b/a", base);
    snprintf(b_in_a, sizeof b_in_a, "%s/a/b", base);
    mkdir(a, 0755);
    mkdir(b, 0755);
    pthread_t x, y;
    pthread_create(&x, NULL, move_a, NULL);
    pthread_create(&y, NULL, move_b, NULL);
    usleep(700000);
    stop = 1;
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    struct stat st;
    printf("a there: %d, b there: %d\n", stat(a, &st) == 0, stat(b, &st) == 0);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    return system(cmd);
}
