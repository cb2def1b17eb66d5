/* lseek / pread / pwrite / dup2 / fcntl F_GETFD F_SETFD. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }
#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s errno=%d\n", __LINE__, #x, errno); return 1; } } while (0)

int main(void) {
  char path[] = "/tmp/umk-io-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, "0123456789", 10) == 10);
  printf("pos after write=%ld\n", (long)lseek(fd, 0, SEEK_CUR));
  printf("seek set=%ld\n", (long)lseek(fd, 3, SEEK_SET));
  printf("seek cur=%ld\n", (long)lseek(fd, 2, SEEK_CUR));
  printf("seek end=%ld\n", (long)lseek(fd, -1, SEEK_END));
  show("seek neg", (long)((long)lseek(fd, -100, SEEK_SET)));
  show("seek bad whence", (long)((long)lseek(fd, 0, 42)));
  char buf[32] = {0};
  CHECK(pread(fd, buf, 4, 2) == 4);
  printf("pread=%s pos=%ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
  CHECK(pwrite(fd, "AB", 2, 4) == 2);
  CHECK(pwrite(fd, "Z", 1, 15) == 1); /* leaves a hole */
  memset(buf, 0, sizeof buf);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read=%zd:", n);
  for (ssize_t i = 0; i < n; i++) printf(" %02x", (unsigned char)buf[i]);
  printf("\n");
  printf("pread past eof=%zd\n", pread(fd, buf, 4, 100));
  show("pread neg off", (long)(pread(fd, buf, 4, -1)));
  show("lseek pipe-less bad fd", (long)((long)lseek(999, 0, SEEK_SET)));

  /* dup2 and FD_CLOEXEC */
  printf("F_GETFD initial=%d\n", fcntl(fd, F_GETFD));
  CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
  printf("F_GETFD after set=%d\n", fcntl(fd, F_GETFD));
  int d = dup2(fd, 50);
  printf("dup2 -> %d, F_GETFD dup=%d\n", d, fcntl(50, F_GETFD));
  { long o1 = (long)lseek(fd, 7, SEEK_SET); long o2 = (long)lseek(50, 0, SEEK_CUR); printf("shared offset: %ld %ld\n", o1, o2); }
  printf("dup2 same returns fd=%d\n", dup2(fd, fd) == fd);
  show("dup2 bad", (long)(dup2(999, 51)));
  int d3 = fcntl(fd, F_DUPFD, 60);
  printf("F_DUPFD=%d\n", d3);
  int d4 = fcntl(fd, F_DUPFD_CLOEXEC, 60);
  printf("F_DUPFD_CLOEXEC=%d cloexec=%d\n", d4, fcntl(d4, F_GETFD));
  int d5 = dup3(fd, 70, O_CLOEXEC);
  printf("dup3=%d cloexec=%d\n", d5, fcntl(70, F_GETFD));
  show("dup3 same", (long)(dup3(fd, fd, 0)));
  printf("F_GETFL accmode=%d\n", fcntl(fd, F_GETFL) & O_ACCMODE);
  CHECK(close(50) == 0);
  show("close twice", (long)(close(50)));
  show("F_GETFD closed", (long)(fcntl(50, F_GETFD)));
  close(fd); close(d3); close(d4); close(d5);
  unlink(path);
  return 0;
}
