// The system's zlib (Debian zlib1g-dev): gzip for pprof exports, which pprof readers expect.
#include <zlib.h>
