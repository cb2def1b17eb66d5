/* Ptys coming and going under other threads' feet: threads stat the
 * slave's name while the main thread opens and closes pairs (a lookup may
 * hold the last reference to a pair); a slave held by an O_PATH fd keeps
 * its own device number after its pair is gone and a new pair takes the
 * index, and cannot be reopened. Echo that nobody reads stays bounded;
 * TIOCSIG sends only keyboard signals; clearing IXON restarts output
 * stopped by ^S. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static char current[64];
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void* spin(void* arg)
{
    (void)arg;
    struct stat st;
    char name[64];
    while (!stop) {
        pthread_mutex_lock(&name_lock);
        strcpy(name, current);
        pthread_mutex_unlock(&name_lock);
        if (name[0])
            stat(name, &st);
    }
    return NULL;
}

static int open_pair(int* s, char* name)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(m);
    strcpy(name, ptsname(m));
    /* Linux itself fails this open now and then (ENOENT): a lookup of the
     * same name racing with the previous pair's removal leaves a negative
     * dentry for a moment. Tried again, it works there; umk must not need
     * more than the same few tries. */
    for (int tries = 0; tries < 3; tries++) {
        *s = open(name, O_RDWR | O_NOCTTY);
        if (*s >= 0 || errno != ENOENT)
            break;
        usleep(1000);
    }
    return m;
}

int main(void)
{
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, spin, NULL);
    int ok = 1;
    for (int i = 0; i < 3000; i++) {
        char name[64];
        int s, m = open_pair(&s, name);
        pthread_mutex_lock(&name_lock);
        strcpy(current, name);
        pthread_mutex_unlock(&name_lock);
        ok &= m >= 0 && s >= 0;
        close(m);
        close(s);
    }
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    printf("3000 pairs opened and closed under lookups: %d\n", ok);

    // A stale slave node.
    char a_name[64], b_name[64], c_name[64];
    int as, bs, cs;
    int a = open_pair(&as, a_name), b = open_pair(&bs, b_name);
    int held = open(b_name, O_PATH);
    struct stat before, after;
    fstat(held, &before);
    close(as), close(a), close(bs), close(b);
    int c = open_pair(&cs, c_name);
    fstat(held, &after);
    printf("O_PATH slave keeps its device number: %d\n", before.st_rdev == after.st_rdev);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", held);
    int again = open(proc, O_RDWR | O_NOCTTY);
    printf("reopened through /proc: %d %s\n", again, again < 0 ? strerrorname_np(errno) : "");
    close(cs), close(c);

    // Echo nobody reads.
    int s, m = open_pair(&s, c_name);
    fcntl(m, F_SETFL, O_NONBLOCK);
    char line[100];
    memset(line, 'x', sizeof line);
    write(m, line, sizeof line);
    long written = 0;
    for (int i = 0; i < 20000; i++) {
        ssize_t n = write(m, "\x12", 1); // VREPRINT: echoes the whole line again
        if (n < 0)
            break;
        written += n;
    }
    int queued = 0;
    ioctl(m, FIONREAD, &queued);
    printf("echo queued for the master stays bounded: %d\n", queued <= 65536);

    // TIOCSIG.
    const int sigs[] = { SIGINT, SIGQUIT, SIGTSTP, SIGKILL, SIGSTOP, SIGUSR1 };
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        int r = ioctl(m, TIOCSIG, sigs[i]);
        printf("TIOCSIG %-2d %d %s\n", sigs[i], r, r < 0 ? strerrorname_np(errno) : "");
    }
    close(s), close(m);

    // ^S, then IXON off: output flows.
    m = open_pair(&s, c_name);
    write(m, "\x13", 1);
    usleep(20000);
    struct termios t;
    tcgetattr(s, &t);
    t.c_iflag &= ~IXON;
    tcsetattr(s, TCSANOW, &t);
    fcntl(s, F_SETFL, O_NONBLOCK);
    ssize_t n = write(s, "hi\n", 3);
    printf("write after ^S and IXON off: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    // tcflow: output held and let go; STOP and START sent to the master.
    printf("tcflow TCOOFF: %d\n", tcflow(s, TCOOFF));
    n = write(s, "held\n", 5);
    printf("write while held: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    printf("tcflow TCOON: %d\n", tcflow(s, TCOON));
    n = write(s, "go\n", 3);
    printf("write after TCOON: %zd\n", n);
    int off = tcflow(s, TCIOFF);
    int on = tcflow(s, TCION);
    printf("tcflow TCIOFF, TCION: %d %d\n", off, on);
    int bad = tcflow(s, 7);
    printf("tcflow bad: %d %s\n", bad, strerrorname_np(errno));
    usleep(50000);
    char out[64];
    fcntl(m, F_SETFL, O_NONBLOCK);
    n = read(m, out, sizeof out);
    printf("the master read:");
    for (ssize_t i = 0; i < n; i++)
        printf(" %02x", (unsigned char)out[i]);
    printf("\n");
    return 0;
}
