/* set_mempolicy/get_mempolicy on a machine of one NUMA node: modes,
 * flags, node masks, MPOL_F_MEMS_ALLOWED/NODE/ADDR. Compared with Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/syscall.h>
static long gm(int* mode, unsigned long* mask, unsigned long maxnode, void* addr, unsigned long flags) { return syscall(SYS_get_mempolicy, mode, mask, maxnode, addr, flags); }
static long sm(int mode, unsigned long* mask, unsigned long maxnode) { return syscall(SYS_set_mempolicy, mode, mask, maxnode); }
static void show(const char* what, long r) { printf("%-34s %s\n", what, r == 0 ? "0" : strerrorname_np(errno)); }
int main(void) {
    int mode = -1; unsigned long mask = 99, two[2] = {0, 1};
    show("get default", gm(&mode, &mask, 64, NULL, 0)); printf("  mode %d mask %lu\n", mode, mask);
    show("get mems allowed", gm(&mode, &mask, 64, NULL, 4)); printf("  mode %d mask %lu\n", mode, mask);
    show("get maxnode 0", gm(&mode, &mask, 0, NULL, 0));
    show("get bad flags", gm(&mode, &mask, 64, NULL, 8));
    show("get node without interleave", gm(&mode, NULL, 0, NULL, 1));
    int x; show("get addr", gm(&mode, NULL, 0, &x, 2)); printf("  mode %d\n", mode);
    show("get addr node", gm(&mode, NULL, 0, &x, 3)); printf("  mode %d\n", mode);
    show("get unmapped addr", gm(&mode, NULL, 0, (void*)16, 2));
    mask = 1; show("set bind node 0", sm(2, &mask, 64));
    show("get bind", gm(&mode, &mask, 64, NULL, 0)); printf("  mode %d mask %lu\n", mode, mask);
    mask = 2; show("set bind node 1", sm(2, &mask, 64));
    mask = 0; show("set bind empty", sm(2, &mask, 64));
    show("set far node", sm(2, two, 128));
    show("get addr after bind", gm(&mode, &mask, 64, &x, 2)); printf("  mode %d mask %lu\n", mode, mask);
    mask = 1; show("set interleave", sm(3, &mask, 64));
    show("get next interleave node", gm(&mode, NULL, 0, NULL, 1)); printf("  mode %d\n", mode);
    show("set preferred none", sm(1, NULL, 0));
    show("get", gm(&mode, &mask, 64, NULL, 0)); printf("  mode %d mask %lu\n", mode, mask);
    mask = 1; show("set local with nodes", sm(4, &mask, 64));
    show("set bad mode", sm(9, NULL, 0));
    mask = 1; show("set bind static", sm(2 | (1 << 15), &mask, 64));
    show("get", gm(&mode, &mask, 64, NULL, 0)); printf("  mode %#x mask %lu\n", mode, mask);
    show("set default", sm(0, NULL, 0));
    show("get", gm(&mode, &mask, 64, NULL, 0)); printf("  mode %d mask %lu\n", mode, mask);
    return 0;
}
