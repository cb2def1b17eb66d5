/* Capabilities as root and after changes of ids: capget/capset rules, the
 * set*uid and setfsuid fixups, PR_SET_KEEPCAPS, securebits, the bounding
 * and ambient sets, execve's transformation, and what the capabilities
 * allow (DAC override, chown, setuid). Compared with Linux; prints
 * relations, not masks (the host's root may lack some capabilities).
 * Runs as root. Each scenario in a child of its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

struct caps { uint64_t e, p, i; };

static struct caps get(void) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) { perror("capget"); exit(1); }
  struct caps c = { d[0].effective | (uint64_t)d[1].effective << 32, d[0].permitted | (uint64_t)d[1].permitted << 32,
                    d[0].inheritable | (uint64_t)d[1].inheritable << 32 };
  return c;
}

static int set(struct caps c) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = { { (uint32_t)c.e, (uint32_t)c.p, (uint32_t)c.i },
                                         { (uint32_t)(c.e >> 32), (uint32_t)(c.p >> 32), (uint32_t)(c.i >> 32) } };
  return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

#define BIT(n) ((uint64_t)1 << (n))
static const char *yes_no(int b) { return b ? "yes" : "no"; }
#define yn yes_no
/* Prints "label: result" (and errno on failure), the call made first. */
#define SAY(label, call)                                                       \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (long)(call);                                                    \
    int e_ = errno;                                                            \
    if (r_ < 0) printf("%s: %ld errno %d\n", label, r_, e_);                   \
    else printf("%s: %ld\n", label, r_);                                        \
  } while (0)

static void show(const char *what) {
  struct caps c = get();
  printf("%s: E=P %s, E empty %s, P empty %s, I empty %s, setuid %s, dac_override %s, chown %s, kill %s\n", what,
         yn(c.e == c.p), yn(c.e == 0), yn(c.p == 0), yn(c.i == 0), yn(c.e & BIT(CAP_SETUID) ? 1 : 0),
         yn(c.e & BIT(CAP_DAC_OVERRIDE) ? 1 : 0), yn(c.e & BIT(CAP_CHOWN) ? 1 : 0), yn(c.e & BIT(CAP_KILL) ? 1 : 0));
}

static const char *secret = "/tmp/umk-caps-secret";

static int can_open(void) {
  int fd = open(secret, O_RDONLY);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

static void run(const char *name, void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("== %s\n", name);
    fn();
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status))
    printf("%s: child status %#x\n", name, status);
}

static void root_start(void) {
  show("root");
  uint64_t bset_all = 1;
  for (int c = 0; c <= CAP_LAST_CAP; c++)
    if (prctl(PR_CAPBSET_READ, c) == 1 && !(get().p & BIT(c))) bset_all = 0;
  printf("P covers the bounding set: %s\n", yn(bset_all));
  SAY("CAPBSET_READ of 64", prctl(PR_CAPBSET_READ, 64));
}

static void setresuid_drops(void) {
  SAY("setresuid", setresuid(1000, 1000, 1000));
  show("after");
  SAY("setuid(0)", setuid(0));
  struct caps c = get();
  c.e = BIT(CAP_SETUID);
  SAY("raise without P", set(c));
}

static void keepcaps(void) {
  SAY("KEEPCAPS", prctl(PR_SET_KEEPCAPS, 1));
  SAY("GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS));
  SAY("setresuid", setresuid(1000, 1000, 1000));
  show("after");
  struct caps c = get();
  c.e = c.p;
  SAY("raise E to P", set(c));
  show("raised");
  SAY("setuid(0)", setuid(0));
  show("back to root");
  SAY("KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2));
}

static void seteuid_toggles(void) {
  SAY("seteuid(1000)", seteuid(1000));
  show("euid 1000");
  SAY("seteuid(0)", seteuid(0));
  show("euid 0");
  setfsuid(1000);
  show("fsuid 1000");
  setfsuid(0);
  show("fsuid 0");
}

static void drop_dac(void) {
  struct caps c = get();
  c.e &= ~(BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH));
  SAY("drop from E", set(c));
  SAY("open", can_open());
  c.e = c.p;
  SAY("back", set(c));
  SAY("open", can_open());
  c.p &= ~BIT(CAP_CHOWN);
  c.e = c.p;
  SAY("drop chown from P", set(c));
  SAY("chown", chown(secret, 1001, 1001));
  c.e |= BIT(CAP_CHOWN);
  SAY("raise E beyond P", set(c));
  c.p |= BIT(CAP_CHOWN);
  SAY("raise P", set(c));
  c = get();
  c.e &= ~BIT(CAP_KILL);
  set(c);
  SAY("kill(1) without CAP_KILL as uid 0", kill(1, 0));
  setresuid(1000, 1000, 1000);
  SAY("kill(1) as uid 1000", kill(1, 0));
}

static void inheritable_rules(void) {
  struct caps c = get();
  c.i = BIT(CAP_NET_BIND_SERVICE);
  SAY("I within P", set(c));
  c.p &= ~(BIT(CAP_SETPCAP) | BIT(CAP_SYS_ADMIN));
  c.e = c.p;
  SAY("drop setpcap", set(c));
  c.i |= BIT(CAP_SYS_ADMIN);
  SAY("I beyond I|P without setpcap", set(c));
  SAY("CAPBSET_DROP without setpcap", prctl(PR_CAPBSET_DROP, CAP_NET_RAW));
}

static void ambient(void) {
  SAY("raise not in I", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
  struct caps c = get();
  c.i = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
  set(c);
  SAY("raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
  SAY("is_set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
  SAY("raise 2", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
  c.i = BIT(CAP_NET_BIND_SERVICE);
  set(c);
  SAY("net_raw still ambient after leaving I", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
  SAY("bad cap", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 99, 0, 0));
  SAY("CLEAR_ALL with arg", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
  /* Keep ids without the fixup, then exec as uid 1000: only the ambient set. */
  SAY("securebits", prctl(PR_SET_SECUREBITS, 1 << 2 /* NO_SETUID_FIXUP */));
  SAY("setresuid", setresuid(1000, 1000, 1000));
  fflush(stdout);
  execl("/proc/self/exe", "cred_caps", "show-exec", (char *)NULL);
  perror("exec");
}

static void exec_as_user(void) {
  setresuid(1000, 1000, 1000);
  fflush(stdout);
  execl("/proc/self/exe", "cred_caps", "show-exec", (char *)NULL);
}

static void exec_bounding(void) {
  SAY("CAPBSET_DROP", prctl(PR_CAPBSET_DROP, CAP_NET_RAW));
  SAY("CAPBSET_READ", prctl(PR_CAPBSET_READ, CAP_NET_RAW));
  prctl(PR_SET_KEEPCAPS, 1);
  fflush(stdout);
  execl("/proc/self/exe", "cred_caps", "show-exec", (char *)NULL);
}

static void securebits_locks(void) {
  int keep_locked = (1 << 4) | (1 << 5);
  SAY("set locked keepcaps", prctl(PR_SET_SECUREBITS, keep_locked));
  SAY("GET_SECUREBITS", prctl(PR_GET_SECUREBITS));
  SAY("clear locked", prctl(PR_SET_SECUREBITS, 0));
  SAY("KEEPCAPS 0", prctl(PR_SET_KEEPCAPS, 0));
  SAY("unknown bit", prctl(PR_SET_SECUREBITS, keep_locked | (1 << 30)));
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "show-exec") == 0) {
    struct caps c = get();
    show("after exec");
    printf("ambient only: %s, net_raw in P %s, keepcaps %d\n", yn(c.p == BIT(CAP_NET_BIND_SERVICE)),
           yn(c.p & BIT(CAP_NET_RAW) ? 1 : 0), prctl(PR_GET_KEEPCAPS));
    return 0;
  }
  int fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0);
  if (fd < 0 || fchown(fd, 1000, 1000) != 0) { perror(secret); return 1; }
  close(fd);
  run("root", root_start);
  run("setresuid drops", setresuid_drops);
  run("keepcaps", keepcaps);
  run("seteuid and setfsuid", seteuid_toggles);
  run("drop dac", drop_dac);
  run("inheritable", inheritable_rules);
  run("ambient", ambient);
  run("exec as user", exec_as_user);
  run("exec bounding", exec_bounding);
  run("securebits", securebits_locks);
  unlink(secret);
  return 0;
}
