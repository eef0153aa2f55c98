// JPEG 2000 decoding through the system OpenJPEG 2.x library, opened at run time.
//
// openjpeg.h is deliberately not used: the few structures and function signatures we touch are
// declared below from the OpenJPEG 2.x ABI (soname libopenjp2.so.7, stable since 2.0), so the
// package builds where the library and its headers are absent. The layouts were checked against
// openjpeg.h of OpenJPEG 2.5.0 (Debian 12) with static assertions in a separate test build.

#include "COpenJPEG.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Our declarations of the OpenJPEG 2.x ABI.

typedef int ojl_bool;  // OPJ_BOOL

enum { OJL_CODEC_J2K = 0, OJL_CODEC_JP2 = 2 };  // OPJ_CODEC_FORMAT (an int-sized enum)

// As in openjpeg.h, codecs and streams are handed around as pointers to void pointers.
typedef void *ojl_codec;   // opj_codec_t
typedef void *ojl_stream;  // opj_stream_t

// opj_image_comp_t
typedef struct ojl_image_comp {
    uint32_t dx, dy;   // subsampling
    uint32_t w, h;     // component size
    uint32_t x0, y0;
    uint32_t prec;
    uint32_t bpp;      // obsolete
    uint32_t sgnd;
    uint32_t resno_decoded;
    uint32_t factor;   // resolution reduction
    int32_t *data;     // w × h samples after opj_decode
    uint16_t alpha;
} ojl_image_comp;

// opj_image_t
typedef struct ojl_image {
    uint32_t x0, y0, x1, y1;
    uint32_t numcomps;
    int color_space;   // OPJ_COLOR_SPACE (an enum with a −1 member: int)
    ojl_image_comp *comps;
    uint8_t *icc_profile_buf;
    uint32_t icc_profile_len;
} ojl_image;

// opj_dparameters_t is only handed to the library: a zeroed, generously sized buffer that
// opj_set_default_decoder_parameters fills (the real structure is about 8.3 KiB).
#define OJL_DPARAMETERS_BYTES 32768

typedef size_t (*ojl_read_fn)(void *buffer, size_t nb_bytes, void *user_data);
typedef int64_t (*ojl_skip_fn)(int64_t nb_bytes, void *user_data);
typedef ojl_bool (*ojl_seek_fn)(int64_t nb_bytes, void *user_data);
typedef void (*ojl_free_fn)(void *user_data);
typedef void (*ojl_msg_fn)(const char *msg, void *client_data);

typedef struct ojl_api {
    void *handle;
    ojl_codec *(*create_decompress)(int format);
    void (*set_default_decoder_parameters)(void *parameters);
    ojl_bool (*setup_decoder)(ojl_codec *codec, void *parameters);
    ojl_bool (*set_error_handler)(ojl_codec *codec, ojl_msg_fn callback, void *client_data);
    ojl_bool (*set_warning_handler)(ojl_codec *codec, ojl_msg_fn callback, void *client_data);
    ojl_bool (*set_info_handler)(ojl_codec *codec, ojl_msg_fn callback, void *client_data);
    ojl_stream *(*stream_create)(size_t buffer_size, ojl_bool is_input);
    void (*stream_set_read_function)(ojl_stream *stream, ojl_read_fn fn);
    void (*stream_set_skip_function)(ojl_stream *stream, ojl_skip_fn fn);
    void (*stream_set_seek_function)(ojl_stream *stream, ojl_seek_fn fn);
    void (*stream_set_user_data)(ojl_stream *stream, void *data, ojl_free_fn free_fn);
    void (*stream_set_user_data_length)(ojl_stream *stream, uint64_t length);
    ojl_bool (*read_header)(ojl_stream *stream, ojl_codec *codec, ojl_image **image);
    ojl_bool (*decode)(ojl_codec *codec, ojl_stream *stream, ojl_image *image);
    ojl_bool (*end_decompress)(ojl_codec *codec, ojl_stream *stream);
    void (*image_destroy)(ojl_image *image);
    void (*stream_destroy)(ojl_stream *stream);
    void (*destroy_codec)(ojl_codec *codec);
    const char *(*version)(void);  // optional
} ojl_api;

// ---------------------------------------------------------------------------------------------
// Small helpers.

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/// Appends `msg` to a bounded, NUL-terminated buffer, "; "-separated, without trailing newlines
/// or control characters.
static void append_message(char *buf, size_t cap, size_t *used, const char *msg) {
    if (msg == NULL || cap == 0) return;
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' ')) n--;
    if (n == 0 || *used + 3 >= cap) return;
    if (*used > 0) {
        buf[(*used)++] = ';';
        buf[(*used)++] = ' ';
    }
    for (size_t i = 0; i < n && *used + 1 < cap; i++) {
        unsigned char c = (unsigned char)msg[i];
        buf[(*used)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    buf[*used] = '\0';
}

// ---------------------------------------------------------------------------------------------
// Loading the library.

/// Opens `soname` and resolves every function into `api`. Returns 1 on success; 0 with the reason
/// in `err` (and nothing left open) otherwise.
static int load_api(const char *soname, ojl_api *api, char *err, size_t errlen) {
    memset(api, 0, sizeof *api);
    dlerror();  // clear
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        set_err(err, errlen, "cannot open %s: %s", soname, why ? why : "unknown dlopen error");
        return 0;
    }
    const char *missing = NULL;
#define OJL_LOAD(field, symbol)                                  \
    do {                                                         \
        void *p_ = dlsym(h, symbol);                             \
        if (p_ == NULL) {                                        \
            missing = symbol;                                    \
            goto fail;                                           \
        }                                                        \
        memcpy(&api->field, &p_, sizeof p_);                     \
    } while (0)
    OJL_LOAD(create_decompress, "opj_create_decompress");
    OJL_LOAD(set_default_decoder_parameters, "opj_set_default_decoder_parameters");
    OJL_LOAD(setup_decoder, "opj_setup_decoder");
    OJL_LOAD(set_error_handler, "opj_set_error_handler");
    OJL_LOAD(set_warning_handler, "opj_set_warning_handler");
    OJL_LOAD(set_info_handler, "opj_set_info_handler");
    OJL_LOAD(stream_create, "opj_stream_create");
    OJL_LOAD(stream_set_read_function, "opj_stream_set_read_function");
    OJL_LOAD(stream_set_skip_function, "opj_stream_set_skip_function");
    OJL_LOAD(stream_set_seek_function, "opj_stream_set_seek_function");
    OJL_LOAD(stream_set_user_data, "opj_stream_set_user_data");
    OJL_LOAD(stream_set_user_data_length, "opj_stream_set_user_data_length");
    OJL_LOAD(read_header, "opj_read_header");
    OJL_LOAD(decode, "opj_decode");
    OJL_LOAD(end_decompress, "opj_end_decompress");
    OJL_LOAD(image_destroy, "opj_image_destroy");
    OJL_LOAD(stream_destroy, "opj_stream_destroy");
    OJL_LOAD(destroy_codec, "opj_destroy_codec");
#undef OJL_LOAD
    {
        void *p = dlsym(h, "opj_version");
        if (p != NULL) memcpy(&api->version, &p, sizeof p);
    }
    api->handle = h;
    return 1;
fail:
    set_err(err, errlen, "%s lacks the function %s (OpenJPEG 2.x expected)", soname, missing);
    dlclose(h);
    memset(api, 0, sizeof *api);
    return 0;
}

static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static ojl_api system_api;
static int system_loaded;
static char system_error[512];

static void load_system_library(void) {
    system_loaded = load_api(OSTEOCT_J2K_LIBRARY, &system_api, system_error, sizeof system_error);
    // Never dlclose'd: the library stays for the life of the process.
}

/// The once-loaded production library, or NULL with the reason in `err`.
static const ojl_api *system_library(char *err, size_t errlen) {
    pthread_once(&system_once, load_system_library);
    if (!system_loaded) {
        set_err(err, errlen, "%s", system_error);
        return NULL;
    }
    return &system_api;
}

int osteoct_j2k_available(char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = '\0';
    return system_library(err, errlen) != NULL;
}

const char *osteoct_j2k_library_version(void) {
    const ojl_api *api = system_library(NULL, 0);
    if (api == NULL || api->version == NULL) return NULL;
    return api->version();
}

// ---------------------------------------------------------------------------------------------
// The memory stream OpenJPEG reads from: the caller's buffer, never copied, never written.

typedef struct ojl_memory {
    const uint8_t *data;
    size_t len;
    size_t pos;
    int asked_past_end;  // OpenJPEG wanted bytes when none were left
} ojl_memory;

static size_t memory_read(void *buffer, size_t nb_bytes, void *user_data) {
    ojl_memory *m = user_data;
    if (m->pos >= m->len) {
        m->asked_past_end = 1;
        return (size_t)-1;  // end of stream
    }
    size_t avail = m->len - m->pos;
    size_t n = nb_bytes < avail ? nb_bytes : avail;
    memcpy(buffer, m->data + m->pos, n);
    m->pos += n;
    return n;
}

static int64_t memory_skip(int64_t nb_bytes, void *user_data) {
    ojl_memory *m = user_data;
    if (nb_bytes < 0) {
        // Backwards: only within what was read.
        uint64_t back = (uint64_t)(-(nb_bytes + 1)) + 1;
        if (back > m->pos) return -1;
        m->pos -= (size_t)back;
        return nb_bytes;
    }
    size_t avail = m->len - m->pos;
    if ((uint64_t)nb_bytes > avail) {
        m->asked_past_end = 1;
        m->pos = m->len;
        return -1;
    }
    m->pos += (size_t)nb_bytes;
    return nb_bytes;
}

static ojl_bool memory_seek(int64_t offset, void *user_data) {
    ojl_memory *m = user_data;
    if (offset < 0) return 0;
    if ((uint64_t)offset > m->len) {
        m->asked_past_end = 1;
        return 0;
    }
    m->pos = (size_t)offset;
    return 1;
}

// ---------------------------------------------------------------------------------------------
// Messages from OpenJPEG, per decode.

typedef struct ojl_messages {
    char errors[768];
    size_t errors_used;
    char warnings[384];
    size_t warnings_used;
} ojl_messages;

static void on_error(const char *msg, void *client_data) {
    ojl_messages *m = client_data;
    append_message(m->errors, sizeof m->errors, &m->errors_used, msg);
}

static void on_warning(const char *msg, void *client_data) {
    ojl_messages *m = client_data;
    append_message(m->warnings, sizeof m->warnings, &m->warnings_used, msg);
}

static void on_info(const char *msg, void *client_data) {
    (void)msg;
    (void)client_data;
}

/// "<what>: OpenJPEG says: <errors> (warnings: …)" into err.
static void report_failure(char *err, size_t errlen, const char *what, const ojl_messages *m) {
    if (m->errors_used > 0 && m->warnings_used > 0) {
        set_err(err, errlen, "%s: OpenJPEG: %s (warnings: %s)", what, m->errors, m->warnings);
    } else if (m->errors_used > 0) {
        set_err(err, errlen, "%s: OpenJPEG: %s", what, m->errors);
    } else if (m->warnings_used > 0) {
        set_err(err, errlen, "%s (OpenJPEG warnings: %s)", what, m->warnings);
    } else {
        set_err(err, errlen, "%s (OpenJPEG gave no reason)", what);
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding.

static const uint8_t jp2_signature[12] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};

// ---------------------------------------------------------------------------------------------
// Completeness check. OpenJPEG (2.5, strict mode) accepts a codestream that stops exactly at a
// tile-part boundary — it then decodes only the layers / resolutions it got, without an error — so
// a frame cut short between tile-parts would silently give a degraded image. Before decoding, we
// walk the tile-part chain ourselves (SOT → Psot) and require either the EOC marker or, when the
// writer omitted EOC, every tile with all the tile-parts its TNsot announced.

enum { SCAN_COMPLETE = 0, SCAN_TRUNCATED = 1, SCAN_UNKNOWN = 2 };

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/// True if data[from..<len] is empty or only zero bytes (DICOM pads odd-length frames with one).
static int only_padding(const uint8_t *data, size_t from, size_t len) {
    for (size_t i = from; i < len; i++) {
        if (data[i] != 0) return 0;
    }
    return 1;
}

/// Scans the raw codestream cs[0..<n]. SCAN_UNKNOWN: a structure we do not follow; OpenJPEG decides.
static int scan_codestream(const uint8_t *cs, size_t n, char *err, size_t errlen) {
    if (n < 4 || be16(cs) != 0xFF4F) return SCAN_UNKNOWN;
    size_t pos = 2;
    uint64_t tiles = 0;
    // Main header: marker segments up to the first SOT.
    for (;;) {
        if (pos + 4 > n) {
            set_err(err, errlen, "the data ends inside the JPEG 2000 main header (at byte %zu)", n);
            return SCAN_TRUNCATED;
        }
        uint32_t marker = be16(cs + pos), length = be16(cs + pos + 2);
        if (marker == 0xFF90) break;
        if ((marker & 0xFF00) != 0xFF00 || length < 2) return SCAN_UNKNOWN;
        if (marker == 0xFF51) {  // SIZ: the tile grid
            if (length < 38 || pos + 2 + 38 > n) return SCAN_UNKNOWN;
            const uint8_t *siz = cs + pos + 4;  // Rsiz
            uint32_t xsiz = be32(siz + 2), ysiz = be32(siz + 6), xtsiz = be32(siz + 18), ytsiz = be32(siz + 22);
            uint32_t xtosiz = be32(siz + 26), ytosiz = be32(siz + 30);
            if (xtsiz == 0 || ytsiz == 0 || xtosiz >= xsiz || ytosiz >= ysiz) return SCAN_UNKNOWN;
            tiles = (uint64_t)((xsiz - xtosiz + (uint64_t)xtsiz - 1) / xtsiz) *
                    (uint64_t)((ysiz - ytosiz + (uint64_t)ytsiz - 1) / ytsiz);
        }
        pos += 2 + (size_t)length;
    }
    if (tiles == 0 || tiles > 65535) return SCAN_UNKNOWN;  // Isot is 16 bits

    uint8_t *seen = calloc((size_t)tiles, 2);  // per tile: tile-parts seen, TNsot announced
    if (seen == NULL) return SCAN_UNKNOWN;
    int result = SCAN_UNKNOWN;
    for (;;) {
        if (pos >= n || only_padding(cs, pos, n)) {
            // Out of data without EOC: complete only if every tile has all its announced parts.
            result = SCAN_COMPLETE;
            for (uint64_t t = 0; t < tiles; t++) {
                if (seen[2 * t + 1] == 0 || seen[2 * t] < seen[2 * t + 1]) {
                    result = SCAN_TRUNCATED;
                    set_err(err, errlen,
                            "the JPEG 2000 data stops after a tile-part, without the EOC marker, at byte %zu "
                            "(tile %llu has %u of %u tile-parts)",
                            pos, (unsigned long long)t, seen[2 * t], seen[2 * t + 1]);
                    break;
                }
            }
            break;
        }
        if (pos + 2 <= n && be16(cs + pos) == 0xFFD9) {  // EOC
            result = SCAN_COMPLETE;
            break;
        }
        if (pos + 2 <= n && be16(cs + pos) != 0xFF90) break;  // not a tile-part: unknown
        if (pos + 12 > n) {
            set_err(err, errlen, "the data ends inside a JPEG 2000 tile-part header (at byte %zu)", n);
            result = SCAN_TRUNCATED;
            break;
        }
        uint32_t isot = be16(cs + pos + 4), psot = be32(cs + pos + 6), tnsot = cs[pos + 11];
        if (be16(cs + pos + 2) != 10 || isot >= tiles) break;
        if (seen[2 * isot] < 255) seen[2 * isot]++;
        if (tnsot != 0) seen[2 * isot + 1] = (uint8_t)tnsot;
        if (psot == 0) {
            // The last tile-part runs to EOC at the end of the data (before any padding).
            size_t end = n;
            while (end > pos && cs[end - 1] == 0) end--;
            if (end >= pos + 14 && be16(cs + end - 2) == 0xFFD9) {
                result = SCAN_COMPLETE;
            } else {
                set_err(err, errlen, "the last JPEG 2000 tile-part (length 0: up to EOC) has no EOC marker; "
                                     "the data ends early at byte %zu", n);
                result = SCAN_TRUNCATED;
            }
            break;
        }
        if (psot < 14) break;  // corrupt: OpenJPEG reports it
        if ((uint64_t)pos + psot > n) {
            set_err(err, errlen, "a JPEG 2000 tile-part of %u bytes at byte %zu reaches past the end of the data (%zu)",
                    psot, pos, n);
            result = SCAN_TRUNCATED;
            break;
        }
        pos += psot;
    }
    free(seen);
    return result;
}

/// As scan_codestream, for the data handed to OpenJPEG: finds the codestream inside a JP2 file.
static int scan_frame(const uint8_t *data, size_t len, int is_jp2, char *err, size_t errlen) {
    if (!is_jp2) return scan_codestream(data, len, err, errlen);
    size_t pos = 0;
    while (pos + 8 <= len) {
        uint64_t box = be32(data + pos);
        size_t header = 8;
        if (box == 1) {
            if (pos + 16 > len) return SCAN_UNKNOWN;
            box = (uint64_t)be32(data + pos + 8) << 32 | be32(data + pos + 12);
            header = 16;
        } else if (box == 0) {
            box = len - pos;
        }
        if (box < header) return SCAN_UNKNOWN;
        if (memcmp(data + pos + 4, "jp2c", 4) == 0) {
            size_t end = box > len - pos ? len : pos + (size_t)box;
            return scan_codestream(data + pos + header, end - pos - header, err, errlen);
        }
        if (box > len - pos) {
            set_err(err, errlen, "the data ends inside a JP2 box of %llu bytes at byte %zu (data: %zu bytes)",
                    (unsigned long long)box, pos, len);
            return SCAN_TRUNCATED;
        }
        pos += (size_t)box;
    }
    if (pos < len && !only_padding(data, pos, len)) return SCAN_UNKNOWN;
    set_err(err, errlen, "the JP2 data ends at byte %zu before its codestream box", len);
    return SCAN_TRUNCATED;
}

/// Checks the image against the caller's expectation; after decoding also that sample data exists.
static int check_image(const ojl_image *image, int decoded, uint32_t ew, uint32_t eh, uint32_t ec,
                       uint32_t max_precision, char *err, size_t errlen) {
    if (image->numcomps == 0 || image->comps == NULL) {
        set_err(err, errlen, "the JPEG 2000 header declares no image components");
        return OSTEOCT_J2K_ERR_HEADER;
    }
    const ojl_image_comp *c0 = &image->comps[0];
    for (uint32_t k = 0; k < image->numcomps; k++) {
        const ojl_image_comp *c = &image->comps[k];
        if (c->dx != 1 || c->dy != 1) {
            set_err(err, errlen, "subsampled component %u (%u×%u)", k, c->dx, c->dy);
            return OSTEOCT_J2K_ERR_UNSUPPORTED;
        }
        if (c->w != c0->w || c->h != c0->h) {
            set_err(err, errlen, "components of different sizes (%u×%u and %u×%u)", c0->w, c0->h, c->w, c->h);
            return OSTEOCT_J2K_ERR_UNSUPPORTED;
        }
        if (c->prec != c0->prec || c->sgnd != c0->sgnd) {
            set_err(err, errlen, "components of different precision or signedness (%u-bit %s and %u-bit %s)",
                    c0->prec, c0->sgnd ? "signed" : "unsigned", c->prec, c->sgnd ? "signed" : "unsigned");
            return OSTEOCT_J2K_ERR_UNSUPPORTED;
        }
        if (c->factor != 0) {
            set_err(err, errlen, "reduced-resolution decoding (factor %u)", c->factor);
            return OSTEOCT_J2K_ERR_UNSUPPORTED;
        }
    }
    if (image->numcomps != ec || c0->w != ew || c0->h != eh) {
        set_err(err, errlen, "the stream holds %u columns × %u rows with %u component(s); expected %u × %u with %u",
                c0->w, c0->h, image->numcomps, ew, eh, ec);
        return OSTEOCT_J2K_ERR_MISMATCH;
    }
    if (c0->prec == 0 || c0->prec > max_precision || c0->prec > 31) {
        set_err(err, errlen, "%u-bit samples (the limit is %u bits)", c0->prec,
                max_precision < 31 ? max_precision : 31);
        return OSTEOCT_J2K_ERR_UNSUPPORTED;
    }
    if (decoded) {
        for (uint32_t k = 0; k < image->numcomps; k++) {
            if (image->comps[k].data == NULL) {
                set_err(err, errlen, "OpenJPEG returned no sample data for component %u", k);
                return OSTEOCT_J2K_ERR_DECODE;
            }
        }
    }
    return OSTEOCT_J2K_OK;
}

static void fill_info(osteoct_j2k_info *info, const ojl_image *image) {
    if (image->numcomps == 0 || image->comps == NULL) return;
    info->header_read = 1;
    info->width = image->comps[0].w;
    info->height = image->comps[0].h;
    info->components = image->numcomps;
    info->precision = image->comps[0].prec;
    info->is_signed = image->comps[0].sgnd ? 1u : 0u;
}

static int decode_with(const ojl_api *api, const uint8_t *data, size_t len, uint32_t ew, uint32_t eh, uint32_t ec,
                       uint32_t max_precision, int32_t *out, size_t out_count, osteoct_j2k_info *info, char *err,
                       size_t errlen) {
    if (data == NULL || len == 0 || out == NULL || ew == 0 || eh == 0 || ec == 0) {
        set_err(err, errlen, "invalid argument (no data, no output buffer or a zero dimension)");
        return OSTEOCT_J2K_ERR_ARGUMENT;
    }
    // Expected sample count, overflow-checked.
    uint64_t pixels = (uint64_t)ew * (uint64_t)eh;  // < 2^64
    if (pixels > SIZE_MAX / ec || pixels * ec > out_count) {
        set_err(err, errlen, "output buffer of %zu samples is too small for %u × %u × %u", out_count, ew, eh, ec);
        return OSTEOCT_J2K_ERR_ARGUMENT;
    }
    const size_t plane = (size_t)pixels;

    int format;
    if (len >= 4 && data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51) {
        format = OJL_CODEC_J2K;
    } else if (len >= sizeof jp2_signature && memcmp(data, jp2_signature, sizeof jp2_signature) == 0) {
        format = OJL_CODEC_JP2;
        info->is_jp2 = 1;
    } else if ((len < 4 && memcmp(data, "\xFF\x4F\xFF\x51", len) == 0) ||
               (len < sizeof jp2_signature && memcmp(data, jp2_signature, len) == 0)) {
        set_err(err, errlen, "the data ends after %zu byte(s), inside the JPEG 2000 signature", len);
        return OSTEOCT_J2K_ERR_TRUNCATED;
    } else {
        uint8_t b[4] = {0, 0, 0, 0};
        memcpy(b, data, len < 4 ? len : 4);
        set_err(err, errlen,
                "not JPEG 2000 data: starts %02X %02X %02X %02X, expected a codestream (FF 4F FF 51) or a JP2 "
                "signature box",
                b[0], b[1], b[2], b[3]);
        return OSTEOCT_J2K_ERR_NOT_J2K;
    }

    int status = OSTEOCT_J2K_OK;
    ojl_messages messages;
    memset(&messages, 0, sizeof messages);
    ojl_memory memory = {data, len, 0, 0};
    ojl_codec *codec = NULL;
    ojl_stream *stream = NULL;
    void *parameters = NULL;
    ojl_image *image = NULL;

    codec = api->create_decompress(format);
    parameters = calloc(1, OJL_DPARAMETERS_BYTES);
    if (codec == NULL || parameters == NULL) {
        set_err(err, errlen, "out of memory creating the OpenJPEG decoder");
        status = OSTEOCT_J2K_ERR_MEMORY;
        goto done;
    }
    api->set_error_handler(codec, on_error, &messages);
    api->set_warning_handler(codec, on_warning, &messages);
    api->set_info_handler(codec, on_info, &messages);
    api->set_default_decoder_parameters(parameters);
    if (!api->setup_decoder(codec, parameters)) {
        report_failure(err, errlen, "opj_setup_decoder failed", &messages);
        status = OSTEOCT_J2K_ERR_DECODE;
        goto done;
    }

    // A small buffer keeps `bytes_read` close to where OpenJPEG actually is; large reads (tile data)
    // bypass it and go straight from our buffer.
    stream = api->stream_create(4096, 1);
    if (stream == NULL) {
        set_err(err, errlen, "out of memory creating the OpenJPEG stream");
        status = OSTEOCT_J2K_ERR_MEMORY;
        goto done;
    }
    api->stream_set_read_function(stream, memory_read);
    api->stream_set_skip_function(stream, memory_skip);
    api->stream_set_seek_function(stream, memory_seek);
    api->stream_set_user_data(stream, &memory, NULL);
    api->stream_set_user_data_length(stream, (uint64_t)len);

    if (!api->read_header(stream, codec, &image) || image == NULL) {
        if (memory.asked_past_end) {
            status = OSTEOCT_J2K_ERR_TRUNCATED;
            report_failure(err, errlen, "the JPEG 2000 header ends early", &messages);
        } else if (scan_frame(data, len, format == OJL_CODEC_JP2, err, errlen) == SCAN_TRUNCATED) {
            status = OSTEOCT_J2K_ERR_TRUNCATED;  // err: where the scan found the end
        } else {
            status = OSTEOCT_J2K_ERR_HEADER;
            report_failure(err, errlen, "cannot read the JPEG 2000 header", &messages);
        }
        goto done;
    }
    fill_info(info, image);
    status = check_image(image, 0, ew, eh, ec, max_precision, err, errlen);
    if (status != OSTEOCT_J2K_OK) goto done;
    if (scan_frame(data, len, format == OJL_CODEC_JP2, err, errlen) == SCAN_TRUNCATED) {
        status = OSTEOCT_J2K_ERR_TRUNCATED;
        goto done;
    }

    if (!api->decode(codec, stream, image) || !api->end_decompress(codec, stream)) {
        // OpenJPEG either ran out of bytes, or (strict mode) saw a tile-part length (Psot) that
        // reaches past the end of the data; both mean the frame was cut short.
        int truncated = memory.asked_past_end || strstr(messages.errors, "inconsistent with stream length") != NULL;
        status = truncated ? OSTEOCT_J2K_ERR_TRUNCATED : OSTEOCT_J2K_ERR_DECODE;
        report_failure(err, errlen, truncated ? "the JPEG 2000 tile data ends early" : "cannot decode the JPEG 2000 data",
                       &messages);
        goto done;
    }
    // Decoding can change the image (a JP2 palette or channel definition): check again.
    fill_info(info, image);
    status = check_image(image, 1, ew, eh, ec, max_precision, err, errlen);
    if (status != OSTEOCT_J2K_OK) goto done;

    // Interleave: out[(y × w + x) × c + k] = comps[k].data[y × w + x].
    if (ec == 1) {
        memcpy(out, image->comps[0].data, plane * sizeof(int32_t));
    } else {
        for (uint32_t k = 0; k < ec; k++) {
            const int32_t *src = image->comps[k].data;
            int32_t *dst = out + k;
            for (size_t i = 0; i < plane; i++) dst[i * ec] = src[i];
        }
    }

    if (messages.warnings_used > 0) set_err(err, errlen, "OpenJPEG warnings: %s", messages.warnings);

done:
    info->bytes_read = memory.pos;
    if (image != NULL) api->image_destroy(image);
    if (stream != NULL) api->stream_destroy(stream);
    if (codec != NULL) api->destroy_codec(codec);
    free(parameters);
    return status;
}

int osteoct_j2k_decode(const uint8_t *data, size_t len, uint32_t expected_width, uint32_t expected_height,
                       uint32_t expected_components, uint32_t max_precision, int32_t *out, size_t out_count,
                       osteoct_j2k_info *info, char *err, size_t errlen) {
    return osteoct_j2k_decode_using(NULL, data, len, expected_width, expected_height, expected_components,
                                    max_precision, out, out_count, info, err, errlen);
}

int osteoct_j2k_decode_using(const char *library, const uint8_t *data, size_t len, uint32_t expected_width,
                             uint32_t expected_height, uint32_t expected_components, uint32_t max_precision,
                             int32_t *out, size_t out_count, osteoct_j2k_info *info, char *err, size_t errlen) {
    osteoct_j2k_info scratch;
    if (info == NULL) info = &scratch;
    memset(info, 0, sizeof *info);
    if (err != NULL && errlen > 0) err[0] = '\0';

    if (library == NULL) {
        const ojl_api *api = system_library(err, errlen);
        if (api == NULL) return OSTEOCT_J2K_ERR_LIBRARY;
        return decode_with(api, data, len, expected_width, expected_height, expected_components, max_precision, out,
                           out_count, info, err, errlen);
    }
    ojl_api api;
    if (!load_api(library, &api, err, errlen)) return OSTEOCT_J2K_ERR_LIBRARY;
    int status = decode_with(&api, data, len, expected_width, expected_height, expected_components, max_precision,
                             out, out_count, info, err, errlen);
    dlclose(api.handle);
    return status;
}
