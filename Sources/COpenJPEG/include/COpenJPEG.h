// COpenJPEG — a narrow C API over the system OpenJPEG library (libopenjp2.so.7), opened at run time
// with dlopen so that OsteoCT builds, and runs every other codec, on a machine without it.
//
// Only our own types appear here; openjpeg.h is neither included nor needed to build.
// All functions are safe to call from several threads at once (each decode has its own codec,
// stream and message buffers; the library is opened once).

#ifndef OSTEOCT_COPENJPEG_H
#define OSTEOCT_COPENJPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The soname opened by the production path.
#define OSTEOCT_J2K_LIBRARY "libopenjp2.so.7"

// Status codes returned by osteoct_j2k_decode and osteoct_j2k_decode_using.
/// Decoded; `out` holds width × height × components samples.
#define OSTEOCT_J2K_OK 0
/// libopenjp2 could not be opened, or lacks a function we need (`err` says which).
#define OSTEOCT_J2K_ERR_LIBRARY 1
/// A null pointer, zero size or an output buffer too small for the expected image.
#define OSTEOCT_J2K_ERR_ARGUMENT 2
/// The data starts with neither a J2K codestream (FF 4F FF 51) nor a JP2 signature box.
#define OSTEOCT_J2K_ERR_NOT_J2K 3
/// OpenJPEG could not read the main header.
#define OSTEOCT_J2K_ERR_HEADER 4
/// The header is valid but disagrees with the expected width, height or component count
/// (`info` holds what the stream says). Nothing was decoded.
#define OSTEOCT_J2K_ERR_MISMATCH 5
/// A valid stream we do not decode: subsampled or differing components, precision above
/// `max_precision`, a reduced-resolution result. Nothing was copied.
#define OSTEOCT_J2K_ERR_UNSUPPORTED 6
/// OpenJPEG failed while decoding tile data.
#define OSTEOCT_J2K_ERR_DECODE 7
/// The data ends early: OpenJPEG asked for bytes past the end, a tile-part length reaches past it,
/// or the tile-part chain lacks both EOC and tile-parts its TNsot announced. (That last check runs
/// before decoding, because OpenJPEG decodes a stream cut at a tile-part boundary without an error,
/// returning an image with missing quality layers or resolutions.)
#define OSTEOCT_J2K_ERR_TRUNCATED 8
/// Memory allocation failed.
#define OSTEOCT_J2K_ERR_MEMORY 9

/// What the stream's header says (filled as far as it was read, zero otherwise).
typedef struct osteoct_j2k_info {
    /// 1 once the main header has been read and the fields below are meaningful.
    uint32_t header_read;
    uint32_t width;
    uint32_t height;
    uint32_t components;
    /// Bits per sample of component 0 (all components are required to agree).
    uint32_t precision;
    /// 1 if the codestream declares the samples signed (two's complement), 0 unsigned.
    uint32_t is_signed;
    /// 1 if the data is a JP2 file (box format), 0 if a raw J2K codestream.
    uint32_t is_jp2;
    /// How far OpenJPEG had read into the data when it stopped (buffered, so approximate:
    /// an upper bound on where a problem was found).
    uint64_t bytes_read;
} osteoct_j2k_info;

/// Returns 1 if libopenjp2.so.7 is (or can be) loaded with every function we need, 0 otherwise with
/// the reason (dlopen / dlsym message) in `err`. `err` may be NULL when `errlen` is 0.
int osteoct_j2k_available(char *err, size_t errlen);

/// The loaded library's version string (opj_version), or NULL if it is not loaded / available.
const char *osteoct_j2k_library_version(void);

/// Decodes one JPEG 2000 frame (raw codestream or JP2 file) from `data[0..<len]`.
///
/// The stream must describe exactly `expected_width` × `expected_height` with `expected_components`
/// components, none subsampled, all with the same precision (1…`max_precision`, at most 31) and
/// signedness; otherwise nothing is decoded and ERR_MISMATCH / ERR_UNSUPPORTED is returned, so the
/// header can never make this function allocate more than the caller expected.
///
/// On OK, `out` (capacity `out_count` samples, at least width × height × components) holds the
/// samples as the codestream defines them (signed or unsigned per `info->is_signed`, already
/// DC-shifted and with any multi-component transform inverted by OpenJPEG), colour-by-pixel:
/// out[(y × width + x) × components + c].
///
/// `info` (may be NULL) receives what the header says; `err` (may be NULL when `errlen` is 0)
/// receives a NUL-terminated message, including OpenJPEG's own error text, on failure, and
/// OpenJPEG's warnings (or an empty string) on success.
int osteoct_j2k_decode(const uint8_t *data, size_t len,
                       uint32_t expected_width, uint32_t expected_height,
                       uint32_t expected_components, uint32_t max_precision,
                       int32_t *out, size_t out_count,
                       osteoct_j2k_info *info, char *err, size_t errlen);

/// Test seam: the same as osteoct_j2k_decode, but opens `library` (a soname or path) for this call
/// only, instead of the once-loaded libopenjp2.so.7. Lets tests exercise the "library missing" path
/// in-process without touching the shared state. A NULL `library` behaves as osteoct_j2k_decode.
int osteoct_j2k_decode_using(const char *library,
                             const uint8_t *data, size_t len,
                             uint32_t expected_width, uint32_t expected_height,
                             uint32_t expected_components, uint32_t max_precision,
                             int32_t *out, size_t out_count,
                             osteoct_j2k_info *info, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif // OSTEOCT_COPENJPEG_H
