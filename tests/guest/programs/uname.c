/* uname: sysname and machine only (release/nodename legitimately differ). */
#include <stdio.h>
#include <sys/utsname.h>
int main(void) {
  struct utsname u;
  if (uname(&u) != 0) return 1;
  printf("%s %s\n", u.sysname, u.machine);
  return 0;
}
