/* The sticky bit (Linux's may_delete): in a mode-1777 directory another
 * user's entries cannot be removed, renamed away or replaced; one's own
 * can; the directory's owner and CAP_FOWNER can. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR "/tmp/umk-sticky-test"

static void say(const char *what, int r) { printf("%s: %d errno %d\n", what, r, r ? errno : 0); }

int main(void) {
  if (system("rm -rf " DIR) != 0) return 1;
  mkdir(DIR, 0777);
  chmod(DIR, 01777);
  close(open(DIR "/roots", O_CREAT | O_WRONLY, 0666));
  mkdir(DIR "/rootdir", 0777);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    errno = 0; say("unlink another's file", unlink(DIR "/roots"));
    errno = 0; say("rmdir another's dir", rmdir(DIR "/rootdir"));
    errno = 0; say("rename another's file", rename(DIR "/roots", DIR "/mine-now"));
    close(open(DIR "/mine", O_CREAT | O_WRONLY, 0666));
    errno = 0; say("replace another's file", rename(DIR "/mine", DIR "/roots"));
    errno = 0; say("rename own file", rename(DIR "/mine", DIR "/mine2"));
    errno = 0; say("unlink own file", unlink(DIR "/mine2"));
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  errno = 0; say("root unlinks it (CAP_FOWNER)", unlink(DIR "/roots"));
  return system("rm -rf " DIR) == 0 ? 0 : 1;
}
