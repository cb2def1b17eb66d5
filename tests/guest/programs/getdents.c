/* getdents64 on a directory created by the test; output sorted. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }
#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s errno=%d\n", __LINE__, #x, errno); return 1; } } while (0)

struct ent { char name[256]; int type; };
static int cmp(const void *a, const void *b) { return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name); }

int main(void) {
  char dir[] = "/tmp/umk-dents-XXXXXX";
  CHECK(mkdtemp(dir));
  char p[512];
  for (int i = 0; i < 40; i++) {
    snprintf(p, sizeof p, "%s/file-%02d-with-a-fairly-long-name-to-fill-buffers", dir, i);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
  }
  snprintf(p, sizeof p, "%s/subdir", dir); CHECK(mkdir(p, 0755) == 0);
  snprintf(p, sizeof p, "%s/link", dir); CHECK(symlink("file-00", p) == 0);
  snprintf(p, sizeof p, "%s/file-07-with-a-fairly-long-name-to-fill-buffers", dir); CHECK(unlink(p) == 0);

  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK(fd >= 0);
  static struct ent ents[100];
  int n = 0, calls = 0;
  char buf[512]; /* small buffer: forces several calls */
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    CHECK(r >= 0);
    if (r == 0) break;
    calls++;
    for (long off = 0; off < r;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      CHECK(n < 100);
      strcpy(ents[n].name, d->d_name);
      ents[n].type = d->d_type;
      n++;
      off += d->d_reclen;
    }
  }
  printf("multiple calls=%d\n", calls > 1);
  qsort(ents, n, sizeof ents[0], cmp);
  printf("count=%d\n", n);
  for (int i = 0; i < n; i++) printf("%s type=%d\n", ents[i].name, ents[i].type);
  /* tiny buffer -> EINVAL */
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  show("tiny buffer", (long)(syscall(SYS_getdents64, fd, buf, 8)));
  close(fd);
  /* getdents on a regular file -> ENOTDIR */
  snprintf(p, sizeof p, "%s/file-00-with-a-fairly-long-name-to-fill-buffers", dir);
  fd = open(p, O_RDONLY);
  show("on file", (long)(syscall(SYS_getdents64, fd, buf, sizeof buf)));
  close(fd);

  /* clean up via readdir */
  DIR *d = opendir(dir);
  CHECK(d);
  struct dirent *de;
  int removed = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    CHECK(unlinkat(dirfd(d), de->d_name, de->d_type == DT_DIR ? AT_REMOVEDIR : 0) == 0);
    removed++;
  }
  closedir(d);
  printf("removed=%d\n", removed);
  CHECK(rmdir(dir) == 0);
  return 0;
}
