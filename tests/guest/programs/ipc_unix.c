/* Unix domain sockets: socketpair, SCM_RIGHTS between processes,
 * SO_PEERCRED, SO_PASSCRED/SCM_CREDENTIALS, named (path, abstract,
 * autobind) stream sockets with listen/accept/connect, datagrams with
 * addresses and truncation, seqpacket boundaries, writev/readv as one
 * message, shutdown and EPIPE,
 * nonblocking EAGAIN, poll, and the error cases. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r) { printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0); }

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path + 1, name, strlen(name));
  return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void show_name(const char *what, int fd, int peer) {
  struct sockaddr_un a;
  socklen_t len = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
  if (r < 0) { printf("%s: error %d\n", what, errno); return; }
  int plen = (int)len - (int)offsetof(struct sockaddr_un, sun_path);
  if (plen <= 0) printf("%s: unnamed (len %u)\n", what, len);
  else if (a.sun_path[0] == 0) printf("%s: abstract, %d bytes\n", what, plen);
  else printf("%s: %s (len %u)\n", what, a.sun_path, len);
}

static void pass_fd(void) {
  int sv[2], p[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  if (pipe(p)) exit(1);
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    char byte;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    long n = recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    int fd = -1;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    printf("child: got %ld byte, an fd %s, cloexec %d\n", n, fd >= 0 ? "yes" : "no",
           fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    if (fd >= 0 && write(fd, "via scm", 7) != 7) printf("child: write failed\n");
    fflush(stdout);
    _exit(0);
  }
  close(sv[1]);
  char control[CMSG_SPACE(sizeof(int))] = { 0 };
  struct iovec iov = { "x", 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[1], sizeof(int));
  say("sendmsg with SCM_RIGHTS", sendmsg(sv[0], &m, 0));
  close(p[1]);
  waitpid(child, NULL, 0);
  char buf[16] = { 0 };
  long n = read(p[0], buf, sizeof buf - 1);
  printf("parent read through the passed pipe: %ld '%s'\n", n, buf);
  close(p[0]);
  close(sv[0]);
}

static void credentials(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct ucred uc;
  socklen_t len = sizeof uc;
  getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
  printf("SO_PEERCRED: len %u, pid is ours %d, uid %u gid %u\n", len, uc.pid == getpid(), uc.uid, uc.gid);
  int one = 1;
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  say("write", write(sv[0], "c", 1));
  char byte, control[CMSG_SPACE(sizeof(struct ucred))];
  struct iovec iov = { &byte, 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  long n = recvmsg(sv[1], &m, 0);
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  struct ucred got = { 0 };
  if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&got, CMSG_DATA(c), sizeof got);
  printf("SCM_CREDENTIALS: %ld byte, type %d, pid is ours %d, uid %u\n", n, c ? c->cmsg_type : -1, got.pid == getpid(),
         got.uid);
  close(sv[0]);
  close(sv[1]);
}

static void named_stream(void) {
  const char *path = "/tmp/umk-unix-test.sock";
  unlink(path);
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, path);
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  say("bind path", bind(srv, (struct sockaddr *)&a, alen));
  struct stat st;
  printf("the path is a socket: %d\n", stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  say("bind the same path", bind(again, (struct sockaddr *)&a, alen));
  say("connect before listen", connect(again, (struct sockaddr *)&a, alen));
  close(again);
  say("listen", listen(srv, 4));
  show_name("server name", srv, 0);
  int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  say("connect", connect(cli, (struct sockaddr *)&a, alen));
  say("connect again", connect(cli, (struct sockaddr *)&a, alen));
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  int conn = accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
  printf("accepted: %d, client address len %u, nonblocking %d\n", conn >= 0, plen, (fcntl(conn, F_GETFL) & O_NONBLOCK) != 0);
  show_name("client's peer", cli, 1);
  show_name("accepted's name", conn, 0);
  char buf[64];
  errno = 0;
  say("read with nothing there (nonblocking)", read(conn, buf, sizeof buf));
  say("client writes", write(cli, "hello ", 6));
  say("client writes more", write(cli, "world", 5));
  long n = recv(conn, buf, sizeof buf, MSG_WAITALL | MSG_DONTWAIT);
  printf("stream read: %ld '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
  struct pollfd pf = { conn, POLLIN | POLLOUT, 0 };
  int ready = poll(&pf, 1, 0);
  printf("poll: %d revents %#x\n", ready, pf.revents);
  say("client shuts down writing", shutdown(cli, SHUT_WR));
  say("read after the peer's SHUT_WR (EOF)", read(conn, buf, sizeof buf));
  say("client writes after SHUT_WR", send(cli, "x", 1, MSG_NOSIGNAL));
  close(conn);
  pf.fd = cli;
  pf.events = POLLIN;
  ready = poll(&pf, 1, 0);
  printf("poll after the peer closed: %d revents %#x\n", ready, pf.revents);
  close(cli);
  close(srv);
  unlink(path);
  int orphan = socket(AF_UNIX, SOCK_STREAM, 0);
  say("connect to a removed path", connect(orphan, (struct sockaddr *)&a, alen));
  close(orphan);
}

static void abstract_and_autobind(void) {
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "umk-test-abstract");
  int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  say("bind abstract", bind(srv, (struct sockaddr *)&a, alen));
  listen(srv, 1);
  show_name("abstract name", srv, 0);
  int cli = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  struct sockaddr_un fam = { .sun_family = AF_UNIX };
  say("autobind", bind(cli, (struct sockaddr *)&fam, sizeof(sa_family_t)));
  show_name("autobound name", cli, 0);
  say("connect", connect(cli, (struct sockaddr *)&a, alen));
  int conn = accept(srv, NULL, NULL);
  send(cli, "one", 3, 0);
  send(cli, "two!", 4, 0);
  char buf[16];
  long n1 = recv(conn, buf, sizeof buf, 0);
  long n2 = recv(conn, buf, 2, 0);
  printf("seqpacket boundaries: %ld then %ld (truncated)\n", n1, n2);
  int stream = socket(AF_UNIX, SOCK_STREAM, 0);
  say("stream to a seqpacket listener", connect(stream, (struct sockaddr *)&a, alen));
  close(stream);
  close(conn);
  close(cli);
  close(srv);
}

static void datagrams(void) {
  const char *p1 = "/tmp/umk-unix-dgram1", *p2 = "/tmp/umk-unix-dgram2";
  unlink(p1);
  unlink(p2);
  struct sockaddr_un a1, a2;
  socklen_t l1 = path_addr(&a1, p1), l2 = path_addr(&a2, p2);
  int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind(d1, (struct sockaddr *)&a1, l1);
  bind(d2, (struct sockaddr *)&a2, l2);
  say("sendto", sendto(d1, "datagram!", 9, 0, (struct sockaddr *)&a2, l2));
  say("send without a destination", send(d1, "x", 1, 0));
  char buf[64];
  struct sockaddr_un from;
  socklen_t flen = sizeof from;
  long n = recvfrom(d2, buf, 4, MSG_TRUNC, (struct sockaddr *)&from, &flen);
  printf("recvfrom with MSG_TRUNC: %ld, from %s\n", n, flen > 2 ? from.sun_path : "(unnamed)");
  say("connect d1 to d2", connect(d1, (struct sockaddr *)&a2, l2));
  say("send", send(d1, "connected", 9, 0));
  struct iovec iov = { buf, 3 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  n = recvmsg(d2, &m, 0);
  printf("recvmsg truncated: %ld, MSG_TRUNC set %d\n", n, (m.msg_flags & MSG_TRUNC) != 0);
  int d3 = socket(AF_UNIX, SOCK_DGRAM, 0);
  say("a third socket sends to d1 (connected to d2)", sendto(d3, "no", 2, 0, (struct sockaddr *)&a1, l1));
  close(d2);
  say("send to a closed peer", send(d1, "x", 1, 0));
  close(d1);
  close(d3);
  unlink(p1);
  unlink(p2);
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv);
  say("dgram pair send", send(sv[0], "p", 1, 0));
  say("dgram pair recv", recv(sv[1], buf, sizeof buf, 0));
  say("dgram pair recv empty", recv(sv[1], buf, sizeof buf, 0));
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  say("connect AF_UNSPEC dissolves", connect(sv[0], &unspec, sizeof unspec));
  say("send after AF_UNSPEC", send(sv[0], "q", 1, 0));
  say("connect AF_UNSPEC again", connect(sv[0], &unspec, sizeof unspec));
  close(sv[0]);
  close(sv[1]);
  /* writev is one datagram, readv scatters one */
  int types[] = { SOCK_DGRAM, SOCK_SEQPACKET };
  for (int i = 0; i < 2; i++) {
    socketpair(AF_UNIX, types[i] | SOCK_NONBLOCK, 0, sv);
    struct iovec two[2] = { { "ab", 2 }, { "cd", 2 } };
    say(i ? "seqpacket writev of 2" : "dgram writev of 2", writev(sv[0], two, 2));
    memset(buf, 0, sizeof buf);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("  one message: %ld '%s'\n", n, buf);
    say("  send hello", send(sv[0], "hello", 5, 0));
    char a[3] = { 0 }, b[8] = { 0 };
    struct iovec into[2] = { { a, 2 }, { b, 8 } };
    n = readv(sv[1], into, 2);
    printf("  readv into 2: %ld '%s' '%s'\n", n, a, b);
    say("  nothing left", recv(sv[1], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);
  }
}

static void errors(void) {
  say("AF_UNIX raw type", socket(AF_UNIX, 77, 0));
  say("AF_UNIX protocol 9", socket(AF_UNIX, SOCK_STREAM, 9));
  int p[2];
  if (pipe(p)) exit(1);
  say("listen on a pipe", listen(p[0], 1));
  close(p[0]);
  close(p[1]);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  say("listen on a datagram socket", listen(s, 1));
  say("accept on a datagram socket", accept(s, NULL, NULL));
  say("getpeername unconnected", getpeername(s, NULL, NULL) < 0 ? -1 : 0);
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  say("listen unbound", listen(s, 1));
  say("recv unconnected stream", recv(s, p, 1, MSG_DONTWAIT));
  say("send unconnected stream", send(s, "x", 1, MSG_NOSIGNAL));
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_INET;
  say("bind with another family", bind(s, (struct sockaddr *)&a, sizeof a));
  close(s);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  pass_fd();
  credentials();
  named_stream();
  abstract_and_autobind();
  datagrams();
  errors();
  return 0;
}
