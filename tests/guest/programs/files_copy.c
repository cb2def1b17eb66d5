/* In-kernel copies: sendfile, copy_file_range, splice through a pipe,
 * posix_fadvise; offsets given or the files' own positions; the error
 * cases. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define A "/tmp/umk-copy-a"
#define B "/tmp/umk-copy-b"

static void say(const char *what, long r) { printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0); }

static void show(const char *what) {
  char buf[128] = { 0 };
  int fd = open(B, O_RDONLY);
  long n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("%s: %ld '%s'\n", what, n, buf);
}

int main(void) {
  int a = open(A, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (write(a, "0123456789abcdefghij", 20) != 20) return 1;
  int b = open(B, O_RDWR | O_CREAT | O_TRUNC, 0600);

  off_t off = 5;
  say("sendfile from offset 5, 6 bytes", sendfile(b, a, &off, 6));
  printf("offset now %ld, a's position %ld\n", (long)off, (long)lseek(a, 0, SEEK_CUR));
  show("b");
  lseek(a, 2, SEEK_SET);
  say("sendfile from a's position, 3 bytes", sendfile(b, a, NULL, 3));
  printf("a's position now %ld\n", (long)lseek(a, 0, SEEK_CUR));
  show("b");

  loff_t in = 10, out = 0;
  say("copy_file_range 4 bytes", copy_file_range(a, &in, b, &out, 4, 0));
  printf("in %ld out %ld\n", (long)in, (long)out);
  show("b");
  say("copy_file_range past the end", copy_file_range(a, &in, b, &out, 100, 0));
  loff_t x = 0, y = 2;
  say("copy_file_range overlapping in one file", copy_file_range(a, &x, a, &y, 5, 0));
  say("copy_file_range with flags", copy_file_range(a, NULL, b, NULL, 1, 1));

  int p[2];
  if (pipe(p)) return 1;
  loff_t from = 0;
  say("splice file -> pipe", splice(a, &from, p[1], NULL, 8, 0));
  loff_t to = 20;
  say("splice pipe -> file", splice(p[0], NULL, b, &to, 8, 0));
  show("b");
  say("splice without a pipe", splice(a, NULL, b, NULL, 1, 0));
  say("splice with an offset for the pipe", splice(p[0], &from, b, NULL, 1, 0));
  say("copy_file_range from a pipe", copy_file_range(p[0], NULL, b, NULL, 1, 0));
  int app = open(B, O_WRONLY | O_APPEND);
  say("sendfile to O_APPEND", sendfile(app, a, NULL, 1));
  say("fadvise", posix_fadvise(a, 0, 0, POSIX_FADV_SEQUENTIAL) ? -1 : 0);
  printf("fadvise on a pipe: %d, bad advice: %d\n", posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL),
         posix_fadvise(a, 0, 0, 99));
  unlink(A);
  unlink(B);
  return 0;
}
