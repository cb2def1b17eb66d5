/* Extended attributes: set/get/list/remove with the flags and size rules,
 * symlinks (l*) and fds (f*), the namespace rules for another user
 * (trusted.* hidden and refused, user.* needs write permission, not on
 * symlinks), and copy-up of a file that has them. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define F "/tmp/umk-xattr-file"
#define L "/tmp/umk-xattr-link"

static void say(const char *what, long r) { printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0); }

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names sorted (their order is the file system's). */
static void show_list(const char *what, const char *path) {
  char names[256], *sorted[16];
  long n = listxattr(path, names, sizeof names);
  int count = 0;
  for (long at = 0; at < n && count < 16; at += (long)strlen(names + at) + 1) sorted[count++] = names + at;
  qsort(sorted, count, sizeof sorted[0], by_name);
  printf("%s:", what);
  for (int i = 0; i < count; i++) printf(" %s", sorted[i]);
  printf(" (%ld)\n", n);
}

int main(void) {
  unlink(F);
  unlink(L);
  int fd = open(F, O_RDWR | O_CREAT, 0644);
  symlink(F, L);
  say("set user.a", setxattr(F, "user.a", "one", 3, 0));
  say("create user.a again", setxattr(F, "user.a", "x", 1, XATTR_CREATE));
  say("replace user.b (absent)", setxattr(F, "user.b", "x", 1, XATTR_REPLACE));
  say("set user.b empty", setxattr(F, "user.b", "", 0, 0));
  say("fset user.c", fsetxattr(fd, "user.c", "three", 5, 0));
  say("set trusted.t", setxattr(F, "trusted.t", "tt", 2, 0));
  say("bad flags", setxattr(F, "user.d", "x", 1, 3));
  say("unknown namespace", setxattr(F, "bogus.x", "x", 1, 0));
  say("empty name", setxattr(F, "", "x", 1, 0));
  char big[300];
  memset(big, 'n', sizeof big);
  memcpy(big, "user.", 5);
  big[299] = 0;
  say("name too long", setxattr(F, big, "x", 1, 0));
  say("lset user on a symlink", lsetxattr(L, "user.a", "x", 1, 0));
  char v[16] = { 0 };
  say("size of user.a", getxattr(F, "user.a", NULL, 0));
  say("get user.a through the link", getxattr(L, "user.a", v, sizeof v));
  printf("value '%s'\n", v);
  say("buffer too small", getxattr(F, "user.c", v, 2));
  say("missing", getxattr(F, "user.zz", v, sizeof v));
  say("lget user on the symlink", lgetxattr(L, "user.a", v, sizeof v));
  show_list("list", F);
  say("list size", listxattr(F, NULL, 0));
  char small[4];
  say("list too small", listxattr(F, small, sizeof small));
  say("remove user.b", removexattr(F, "user.b"));
  say("remove user.b again", removexattr(F, "user.b"));
  show_list("list after", F);
  chmod(F, 0644);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    if (setresuid(1000, 1000, 1000)) _exit(1);
    show_list("other user's list (trusted hidden)", F);
    say("other user reads user.a", getxattr(F, "user.a", v, sizeof v));
    say("other user reads trusted.t", getxattr(F, "trusted.t", v, sizeof v));
    say("other user sets user.x (no write permission)", setxattr(F, "user.x", "x", 1, 0));
    say("other user sets security.s", setxattr(F, "security.s", "x", 1, 0));
    fflush(stdout);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  close(fd);
  unlink(L);
  unlink(F);
  return 0;
}
