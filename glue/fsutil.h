/*
 * fsutil.h: small file-system helpers shared by the replica (node_setup.c)
 * and the separate executor (executor.c).
 */
#ifndef STRATA_GLUE_FSUTIL_H
#define STRATA_GLUE_FSUTIL_H

/* Creates directory `path` and every missing parent (mode 0755), like
 * `mkdir -p`; an existing directory is not an error. Returns 0, or -1 with
 * errno set by the mkdir that failed. A path longer than
 * GLUE_PATH_BYTES_MAX + 31 bytes fails with ENAMETOOLONG. */
int glue_mkdir_p(const char *path);

#endif
