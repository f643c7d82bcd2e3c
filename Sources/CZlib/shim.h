#ifndef SOCKBENCH_CZLIB_SHIM_H
#define SOCKBENCH_CZLIB_SHIM_H

// zlib, as the one Swift type that reads compressed histograms (HistogramCodec) sees it.
#include <zlib.h>

/// Inflates the zlib stream `source` into `dest` (room for `*dest_length` bytes); Z_OK with the
/// length written, Z_BUF_ERROR when `dest` is too small, Z_DATA_ERROR for a damaged stream.
static inline int CZlib_uncompress(unsigned char *dest, unsigned long *dest_length, const unsigned char *source, unsigned long source_length) {
    return uncompress(dest, dest_length, source, source_length);
}

static const int CZlib_OK = Z_OK;
static const int CZlib_BUF_ERROR = Z_BUF_ERROR;

#endif
