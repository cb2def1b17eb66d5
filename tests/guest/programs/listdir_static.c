/* Lists a directory (argv[1], default /): one name a line. Static, so it
 * also runs under --root DIR (tests/guest/root_dir.sh). */
#include <dirent.h>
#include <stdio.h>
int main(int c, char** v){ DIR* d = opendir(c > 1 ? v[1] : "/"); struct dirent* e; if(!d){perror("opendir");return 1;} while((e=readdir(d))) printf("%s\n", e->d_name); return 0; }
