/* version.h: Strata's version string. */
#ifndef STRATA_GLUE_VERSION_H
#define STRATA_GLUE_VERSION_H
const char *glue_version(void);
#endif
