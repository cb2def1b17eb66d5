/* inotify for changes made by the guest: a directory watch sees create,
 * open, modify, close, attrib, moves (with one cookie) and delete of its
 * entries; a file watch sees its own events and DELETE_SELF + IGNORED;
 * IN_ONESHOT, IN_MASK_ADD, rm_watch, nonblocking reads, FIONREAD, poll.
 * Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR "/tmp/umk-inotify-test"

static int in;
static int dir_wd, file_wd;

static const char *mask_name(uint32_t m) {
  static char buf[256];
  buf[0] = 0;
  static const struct { uint32_t bit; const char *name; } names[] = {
    { IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" }, { IN_CLOSE_WRITE, "CLOSE_WRITE" },
    { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" },
    { IN_MOVED_TO, "MOVED_TO" }, { IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" },
    { IN_MOVE_SELF, "MOVE_SELF" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" }, { IN_Q_OVERFLOW, "OVERFLOW" },
  };
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
    if (m & names[i].bit) { strcat(buf, buf[0] ? "|" : ""); strcat(buf, names[i].name); }
  return buf;
}

static void drain(const char *what) {
  char buf[4096] __attribute__((aligned(8)));
  uint32_t cookie = 0;
  printf("-- %s\n", what);
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      const char *who = e->wd == dir_wd ? "dir" : e->wd == file_wd ? "file" : "other";
      const char *same = "";
      if (e->cookie) { same = cookie == e->cookie ? " (same cookie)" : ""; cookie = e->cookie; }
      printf("%s %s %s%s\n", who, mask_name(e->mask), e->len ? e->name : "", same);
      p += sizeof *e + e->len;
    }
  }
}

int main(void) {
  if (system("rm -rf " DIR)) return 1;
  mkdir(DIR, 0755);
  in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  dir_wd = inotify_add_watch(in, DIR, IN_ALL_EVENTS);
  errno = 0;
  int bad = inotify_add_watch(in, DIR, 0);
  printf("empty mask: %d errno %d\n", bad, errno);
  errno = 0;
  bad = inotify_add_watch(in, "/etc/passwd", IN_MODIFY | IN_ONLYDIR);
  printf("IN_ONLYDIR on a file: %d errno %d\n", bad, errno);

  int fd = open(DIR "/a", O_CREAT | O_WRONLY, 0644);
  (void)!write(fd, "x", 1);
  close(fd);
  drain("create, write, close");
  file_wd = inotify_add_watch(in, DIR "/a", IN_ALL_EVENTS);
  printf("same wd for the same file again: %d\n", inotify_add_watch(in, DIR "/a", IN_MODIFY | IN_MASK_ADD) == file_wd);
  fd = open(DIR "/a", O_RDONLY);
  char c;
  (void)!read(fd, &c, 1);
  close(fd);
  chmod(DIR "/a", 0600);
  drain("read, chmod (file watched too)");
  mkdir(DIR "/sub", 0755);
  rename(DIR "/a", DIR "/b");
  drain("mkdir, rename");
  struct pollfd p = { in, POLLIN, 0 };
  int ready = poll(&p, 1, 0);
  printf("poll with nothing queued: %d\n", ready);
  unlink(DIR "/b");
  ready = poll(&p, 1, 0);
  int bytes = 0;
  ioctl(in, FIONREAD, &bytes);
  printf("poll after unlink: %d, FIONREAD > 0: %d\n", ready, bytes > 0);
  drain("unlink");
  rmdir(DIR "/sub");
  drain("rmdir");
  int once = inotify_add_watch(in, DIR, IN_CREATE | IN_ONESHOT);
  close(open(DIR "/c", O_CREAT | O_WRONLY, 0644));
  close(open(DIR "/d", O_CREAT | O_WRONLY, 0644));
  printf("oneshot replaced the dir watch: %d\n", once == dir_wd);
  drain("oneshot");
  errno = 0;
  int r = inotify_rm_watch(in, 12345);
  printf("rm unknown wd: %d errno %d\n", r, errno);
  if (system("rm -rf " DIR)) return 1;
  return 0;
}
