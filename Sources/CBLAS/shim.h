// OpenBLAS's CBLAS interface plus its thread-control extensions.
#include <cblas.h>
