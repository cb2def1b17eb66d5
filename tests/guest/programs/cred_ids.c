/* The set*uid/set*gid family as root and as the ids it moves to: every
 * transition and refusal compared with Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <sys/fsuid.h>
static void show(const char* w, int r){ uid_t a,b,c; gid_t x,y,z; getresuid(&a,&b,&c); getresgid(&x,&y,&z); printf("%s r=%d e=%d u=%d/%d/%d g=%d/%d/%d fsu=%d fsg=%d\n", w, r, r?errno:0, a,b,c,x,y,z, setfsuid(-1), setfsgid(-1)); }
int main(){ show("start",0); show("setregid",setregid(10,20)); show("setresgid",setresgid(30,-1,40)); show("setgid",setgid(50));
 show("setreuid",setreuid(100,200)); show("setreuid-bad",setreuid(300,-1)); show("setresuid",setresuid(-1,100,-1)); show("setuid-bad",setuid(5));
 show("setuid",setuid(200)); printf("fsuid old=%d\n", setfsuid(100)); show("after-fs",0); show("setresuid-bad",setresuid(1,2,3)); return 0; }
