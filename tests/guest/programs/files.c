/* File create/write/read back/rename/mkdir/unlink, pwrite with O_APPEND,
 * under a unique /tmp dir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }
#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s errno=%d\n", __LINE__, #x, errno); return 1; } } while (0)

int main(void) {
  char dir[] = "/tmp/umk-files-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char a[256], b[256], sub[256], c[256];
  snprintf(a, sizeof a, "%s/a.txt", dir);
  snprintf(b, sizeof b, "%s/b.txt", dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  snprintf(c, sizeof c, "%s/sub/c.txt", dir);

  int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0640);
  CHECK(fd >= 0);
  const char msg[] = "hello, file\nline two\n";
  CHECK(write(fd, msg, sizeof msg - 1) == (ssize_t)sizeof msg - 1);
  CHECK(close(fd) == 0);
  /* O_EXCL on existing file */
  CHECK(open(a, O_CREAT | O_EXCL | O_WRONLY, 0640) == -1);
  printf("excl errno=%d\n", errno);

  struct stat st;
  CHECK(stat(a, &st) == 0);
  printf("size=%lld mode=%o\n", (long long)st.st_size, (unsigned)(st.st_mode & 07777));

  char buf[128] = {0};
  fd = open(a, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  printf("read %zd: %s", n, buf);
  CHECK(read(fd, buf, sizeof buf) == 0);
  close(fd);

  /* append */
  fd = open(a, O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK(write(fd, "appended\n", 9) == 9);
  close(fd);

  CHECK(rename(a, b) == 0);
  show("old stat", (long)(stat(a, &st)));
  CHECK(stat(b, &st) == 0);
  printf("new size=%lld\n", (long long)st.st_size);

  CHECK(mkdir(sub, 0755) == 0);
  show("mkdir again", (long)(mkdir(sub, 0755)));
  CHECK(rename(b, c) == 0);
  FILE *f = fopen(c, "r");
  CHECK(f != NULL);
  while (fgets(buf, sizeof buf, f)) printf("c: %s", buf);
  fclose(f);

  show("rmdir nonempty", (long)(rmdir(sub)));
  /* pwrite on O_APPEND appends whatever the offset, and the position stays */
  int ap = open(c, O_WRONLY | O_APPEND);
  CHECK(ap >= 0);
  show("pwrite O_APPEND at 0", (long)pwrite(ap, "TAIL", 4, 0));
  show("position after", (long)lseek(ap, 0, SEEK_CUR));
  close(ap);
  CHECK(stat(c, &st) == 0);
  printf("size after append=%lld\n", (long long)st.st_size);
  CHECK(truncate(c, 5) == 0);
  CHECK(stat(c, &st) == 0);
  printf("truncated size=%lld\n", (long long)st.st_size);
  CHECK(unlink(c) == 0);
  show("unlink again", (long)(unlink(c)));
  CHECK(rmdir(sub) == 0);
  CHECK(rmdir(dir) == 0);
  show("dir gone", (long)(access(dir, F_OK)));
  return 0;
}
