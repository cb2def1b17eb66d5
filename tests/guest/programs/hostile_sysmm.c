/* HOSTILE (run only under umk): /sys/kernel/mm must not list host content;
 * it must be absent or empty. (Natively it lists hugepages, transparent_hugepage, ...) */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  DIR *d = opendir("/sys/kernel/mm");
  if (!d) { printf("opendir failed errno=%d\nPASS\n", errno); return 0; }
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    printf("entry: %s\n", de->d_name);
    n++;
  }
  closedir(d);
  if (n) { printf("FAIL: %d host entries visible\n", n); return 1; }
  printf("empty\nPASS\n");
  return 0;
}
