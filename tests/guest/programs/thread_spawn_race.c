/* Two threads that are not the leader each keep creating short-lived
 * detached threads for a second: two clones at once must not take the
 * same stub slot (umk's kernel crashed on that). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static long made[2];

static void* short_lived(void* arg) { return arg; }

static void* spawner(void* arg)
{
    long* count = arg;
    while (!stop) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, NULL) == 0) {
            pthread_detach(t);
            (*count)++;
        }
        usleep(100);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, spawner, &made[i]);
    sleep(1);
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("both spawners made threads: %s\n", made[0] > 0 && made[1] > 0 ? "yes" : "no");
    return 0;
}
