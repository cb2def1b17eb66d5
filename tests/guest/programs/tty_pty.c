/* Pseudo-terminals: /dev/ptmx and /dev/pts, the line discipline (canonical
 * editing, echo, signal characters, output processing, VMIN/VTIME), window
 * sizes, hangups, and controlling terminals with job control. Compared
 * with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void show(const char* what, long r)
{
    if (r < 0)
        printf("%-40s %s\n", what, strerrorname_np(errno));
    else
        printf("%-40s %ld\n", what, r);
}

// What the master has to read now, escaped.
static void drain(const char* what, int m)
{
    char buf[512];
    // Linux's line discipline works asynchronously: give it time.
    struct pollfd p = { m, POLLIN, 0 };
    poll(&p, 1, 200);
    usleep(20000);
    int flags = fcntl(m, F_GETFL);
    fcntl(m, F_SETFL, flags | O_NONBLOCK);
    ssize_t n = read(m, buf, sizeof buf);
    fcntl(m, F_SETFL, flags);
    printf("%-40s ", what);
    if (n < 0) {
        printf("%s\n", strerrorname_np(errno));
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('\n');
}

static void slave_read(const char* what, int s, size_t size)
{
    char buf[512] = { 0 };
    ssize_t n = read(s, buf, size);
    printf("%-40s %zd", what, n);
    if (n < 0)
        printf(" %s", strerrorname_np(errno));
    for (ssize_t i = 0; i < n; i++)
        printf(buf[i] >= 0x20 && buf[i] < 0x7f ? " %c" : " \\x%02x", (unsigned char)buf[i]);
    putchar('\n');
}

static int open_pair(int* s)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    *s = open(ptsname(m), O_RDWR | O_NOCTTY);
    return m;
}

static volatile sig_atomic_t got[65];
static void note(int sig) { got[sig]++; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    // Opening, locking, naming.
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    show("posix_openpt", m >= 0);
    int n = -1;
    show("TIOCGPTN", ioctl(m, TIOCGPTN, &n) == 0 && n >= 0);
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m)); // ptsname's buffer is reused
    char expected[32];
    snprintf(expected, sizeof expected, "/dev/pts/%d", n);
    show("ptsname is /dev/pts/N", strcmp(name, expected) == 0);
    show("open slave while locked", open(name, O_RDWR | O_NOCTTY));
    int locked = -1;
    show("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &locked) == 0 ? locked : -1);
    show("grantpt", grantpt(m));
    show("unlockpt", unlockpt(m));
    int s = open(name, O_RDWR | O_NOCTTY);
    show("open slave", s >= 0);
    struct stat st;
    fstat(s, &st);
    printf("%-40s chr %d major %d\n", "slave stat", S_ISCHR(st.st_mode), major(st.st_rdev));
    fstat(m, &st);
    printf("%-40s chr %d %d:%d\n", "master stat", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
    show("isatty(slave)", isatty(s));
    show("isatty(master)", isatty(m));
    char tname[64] = { 0 };
    show("ttyname(slave) = ptsname", ttyname_r(s, tname, sizeof tname) == 0 && strcmp(tname, name) == 0);
    show("/dev/pts/N listed", access(name, F_OK));
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    show("TIOCGPTPEER", peer >= 0);
    close(peer);
    show("TIOCGPTN on the slave", ioctl(s, TIOCGPTN, &n));

    // Defaults.
    struct termios t;
    tcgetattr(s, &t);
    printf("%-40s i %o o %o c %o l %o\n", "slave termios", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
    printf("%-40s", "slave c_cc");
    for (int i = 0; i < 17; i++)
        printf(" %d", t.c_cc[i]);
    printf("\n%-40s %d %d\n", "speeds", (int)cfgetispeed(&t), (int)cfgetospeed(&t));
    struct termios mt;
    tcgetattr(m, &mt);
    printf("%-40s i %o o %o c %o l %o\n", "master termios", mt.c_iflag, mt.c_oflag, mt.c_cflag, mt.c_lflag);

    // Canonical input: editing and echo.
    write(m, "abc\x7f" "d\n", 6);
    slave_read("read a line after erase", s, 100);
    drain("echo of it", m);
    write(m, "one two\x17three\n", 14);
    slave_read("word erase", s, 100);
    drain("echo of word erase", m);
    write(m, "gone\x15kept\n", 10);
    slave_read("line kill", s, 100);
    drain("echo of line kill", m);
    write(m, "abcdef\n", 7);
    slave_read("short read of a line", s, 3);
    slave_read("the rest of it", s, 100);
    write(m, "part\x04", 5);
    slave_read("EOF ends a line without itself", s, 100);
    write(m, "\x04", 1);
    slave_read("EOF alone: read 0", s, 100);
    write(m, "x\ry\n", 4);
    slave_read("ICRNL", s, 100);
    drain("echo", m);
    write(m, "\x01\x1b\n", 3);
    slave_read("control characters", s, 100);
    drain("their echo (ECHOCTL)", m);
    write(m, "\x16\x7f\n", 3);
    slave_read("literal next", s, 100);
    drain("its echo", m);
    int avail = -1;
    write(m, "ab\ncd\n", 6);
    usleep(50000);
    show("FIONREAD with two lines", ioctl(s, FIONREAD, &avail) == 0 ? avail : -1);
    slave_read("first", s, 100);
    slave_read("second", s, 100);
    drain("echo", m);

    // Output processing.
    write(s, "out\n", 4);
    drain("slave output (ONLCR)", m);
    show("FIONREAD on the master", (write(s, "xyz", 3), usleep(50000), ioctl(m, FIONREAD, &avail) == 0 ? avail : -1));
    drain("", m);
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "raw\n", 4);
    drain("without OPOST", m);
    t.c_oflag |= OPOST;

    // No echo, then non-canonical reads.
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    write(m, "secret\n", 7);
    slave_read("no echo", s, 100);
    drain("nothing echoed", m);
    struct termios raw = t;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &raw);
    slave_read("raw, MIN 0 TIME 0, nothing there", s, 100);
    raw.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &raw);
    slave_read("raw, MIN 0 TIME 2: times out", s, 100);
    raw.c_cc[VMIN] = 3;
    raw.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &raw);
    write(m, "\x03\r\x7f", 3);
    slave_read("raw, MIN 3: bytes as they are", s, 100);
    fcntl(s, F_SETFL, O_NONBLOCK);
    slave_read("raw, O_NONBLOCK, nothing there", s, 100);
    fcntl(s, F_SETFL, 0);
    write(m, "half", 4);
    struct pollfd ready = { s, POLLIN, 0 };
    poll(&ready, 1, 1000); // the line discipline has taken it (Linux does so asynchronously)
    tcsetattr(s, TCSANOW, &t);
    write(m, "way\n", 4);
    slave_read("raw bytes, then canonical mode", s, 100);
    write(m, "flushed\n", 8);
    tcflush(s, TCIFLUSH);
    fcntl(s, F_SETFL, O_NONBLOCK);
    slave_read("after tcflush(TCIFLUSH)", s, 100);
    fcntl(s, F_SETFL, 0);

    // Window size.
    struct winsize w = { 24, 80, 0, 0 }, back;
    show("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &w));
    ioctl(s, TIOCGWINSZ, &back);
    printf("%-40s %d %d\n", "TIOCGWINSZ on the slave", back.ws_row, back.ws_col);

    // poll.
    struct pollfd p[2] = { { m, POLLIN | POLLOUT, 0 }, { s, POLLIN | POLLOUT, 0 } };
    poll(p, 2, 0);
    printf("%-40s %x %x\n", "poll master, slave", p[0].revents, p[1].revents);
    write(m, "z\n", 2);
    poll(p, 2, 0);
    printf("%-40s %x %x\n", "poll after a line", p[0].revents, p[1].revents);
    slave_read("", s, 100);
    drain("", m);

    // Job control: a session whose controlling terminal is a new slave.
    int s2;
    int m2 = open_pair(&s2);
    close(s2);
    signal(SIGINT, note);
    pid_t child = fork();
    if (child == 0) {
        setsid();
        int c = open(ptsname(m2), O_RDWR); // a session leader: its terminal now
        printf("%-40s %d\n", "child: tcgetpgrp is its pid", tcgetpgrp(c) == getpid());
        printf("%-40s %d\n", "child: tcgetsid is its pid", tcgetsid(c) == getpid());
        int d = open("/dev/tty", O_RDWR);
        printf("%-40s %d\n", "child: /dev/tty opens", d >= 0);
        write(d, "via /dev/tty\n", 13);
        struct sigaction sa = { 0 };
        sa.sa_handler = note; // no SA_RESTART: ^C ends the read
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGWINCH, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        write(c, "ready\n", 6);
        char buf[64];
        ssize_t got_n;
        while ((got_n = read(c, buf, sizeof buf)) < 0 && errno == EINTR && !got[SIGINT])
            ; // SIGWINCH first
        printf("%-40s %zd %s\n", "child: read interrupted", got_n, got_n < 0 ? strerrorname_np(errno) : "");
        printf("%-40s %d\n", "child: SIGINT from ^C", (int)got[SIGINT]);
        printf("%-40s %d\n", "child: SIGWINCH", (int)got[SIGWINCH]);
        // A background group: reads give EIO when SIGTTIN is ignored.
        pid_t g = fork();
        if (g == 0) {
            setpgid(0, 0);
            signal(SIGTTIN, SIG_IGN);
            signal(SIGTTOU, SIG_IGN);
            char b[8];
            errno = 0;
            ssize_t r = read(c, b, sizeof b);
            printf("%-40s %zd %s\n", "background read, SIGTTIN ignored", r, strerrorname_np(errno));
            printf("%-40s %d\n", "background tcsetpgrp, SIGTTOU ignored", tcsetpgrp(c, getpgrp()));
            _exit(0);
        }
        waitpid(g, NULL, 0);
        printf("%-40s %d\n", "child: foreground moved to the grandchild", tcgetpgrp(c) == g);
        tcsetpgrp(c, getpgrp()) ;
        printf("%-40s %d\n", "TIOCSCTTY again", ioctl(c, TIOCSCTTY, 0));
        printf("%-40s %d %s\n", "tcsetpgrp to no group", tcsetpgrp(c, 99999), strerrorname_np(errno));
        _exit(0);
    }
    char buf[256];
    // Wait for "ready", then ^C and a window change.
    int total = 0;
    while (total < 200) {
        usleep(20000);
        int fl = fcntl(m2, F_GETFL);
        fcntl(m2, F_SETFL, fl | O_NONBLOCK);
        ssize_t r = read(m2, buf + total, sizeof buf - 1 - total);
        fcntl(m2, F_SETFL, fl);
        if (r > 0)
            total += r;
        buf[total] = 0;
        if (strstr(buf, "ready"))
            break;
    }
    printf("%-40s %d\n", "parent: child's output arrived", strstr(buf, "via /dev/tty\r\nready\r\n") != NULL);
    w.ws_row = 50;
    ioctl(m2, TIOCSWINSZ, &w);
    usleep(50000);
    write(m2, "\x03", 1);
    int status;
    waitpid(child, &status, 0);
    printf("%-40s %d\n", "child exit status", WEXITSTATUS(status));
    drain("echo of ^C", m2);
    printf("%-40s %d\n", "parent: no SIGINT here", (int)got[SIGINT]);
    close(m2);

    // Hangups: the slave closed, then the master closed.
    close(s);
    drain("master read, slave closed", m);
    struct pollfd pm = { m, POLLIN, 0 };
    poll(&pm, 1, 0);
    printf("%-40s %x\n", "poll master, slave closed", pm.revents);
    s = open(name, O_RDWR | O_NOCTTY);
    show("slave reopened", s >= 0);
    if (s >= 0) {
        write(m, "again\n", 6);
        slave_read("read on the reopened slave", s, 100);
    }
    s = s >= 0 ? s : open(name, O_RDWR | O_NOCTTY);
    close(m);
    slave_read("slave read after master closed", s, 100);
    show("slave write after master closed", write(s, "x", 1));
    show("reopen after master closed", open(name, O_RDWR | O_NOCTTY));
    close(s);
    return 0;
}
