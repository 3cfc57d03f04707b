/*
 * fsutil.c: file-system helpers (fsutil.h).
 */
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"

int glue_mkdir_p(const char *path)
{
    char tmp[GLUE_PATH_BYTES_MAX + 32];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}
