// The system's libzstd (Debian libzstd-dev): streaming compression in the recorder, streaming
// decompression in the reader.
#include <zstd.h>
