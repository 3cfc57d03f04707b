/* version.c: the version string shown by `strata --version`. */
#include "version.h"

const char *glue_version(void)
{
    return "0.1.0";
}
