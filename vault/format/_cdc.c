/*
 * vault._cdc: optional accelerator for vault/format/chunker.py (the cut-point search only).
 *
 * The cut decision at stream position p is
 *     v = first 8 bytes, little-endian, of AES-128-ECB(key, stream[p-15 .. p])
 *     cut if v < (L < avg ? T_small : T_large)       with L = p - start + 1
 * exactly as in the pure-Python reference path of vault/format/chunker.py, which is normative
 * (docs/FORMAT.md). This file only makes it fast: AES-NI with 8 windows in flight, or
 * VAES on 256-bit registers (16 windows in flight: one 32-byte load at p-15 holds the
 * windows ending at p and at p+16).
 *
 * Builds everywhere with plain -O3: the x86-64 code is compiled through per-function
 * target attributes and selected at run time (__builtin_cpu_supports). On other
 * architectures or compilers (or with -DCDC_PORTABLE_ONLY, to test that case) the module
 * builds but reports no implementation, and chunker.py then uses its reference path.
 *
 * Python API (private to vault.chunker):
 *   implementations() -> tuple[str, ...]    usable here, best first ("vaes", "aesni"), or ()
 *   cuts(key, data, start, scanned, min, avg, max, final, impl) -> (list[int], int)
 *       data: any C-contiguous buffer; the chunk being searched starts at data[start].
 *       scanned: positions < scanned are already known not to be cuts for that chunk
 *       (0 if none). Returns the end offsets of every chunk completed in data, in order,
 *       and the new `scanned` for the chunk left open. With final=True the rest of the
 *       data is returned as a last chunk. impl: "" for the best one, or a name above.
 *       The GIL is released during the search; the buffer is held through the
 *       buffer protocol for the whole call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(CDC_PORTABLE_ONLY)
#define CDC_X86 1
#include <immintrin.h>
#else
#define CDC_X86 0
#endif

enum { IMPL_NONE = 0, IMPL_AESNI = 1, IMPL_VAES = 2 };

static int have_aesni = 0;
static int have_vaes = 0;

/* Everything the search needs, fixed for one call. */
typedef struct {
    const uint8_t *buf;
    Py_ssize_t len;
    uint8_t round_keys[11 * 16];
    uint64_t t_small; /* threshold while L < avg */
    uint64_t t_large; /* threshold once L >= avg; a power of two, >= t_small */
} scan_ctx;

#if CDC_X86

#define CDC_TARGET_AES __attribute__((target("aes,sse4.1")))
#define CDC_TARGET_VAES __attribute__((target("vaes,avx2,aes,sse4.1")))

#define KEY_STEP(prev, rcon)                                                  \
    do {                                                                      \
        __m128i gen_ = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(prev, rcon), 0xff); \
        __m128i k_ = prev;                                                    \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                        \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                        \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                        \
        prev = _mm_xor_si128(k_, gen_);                                       \
        _mm_storeu_si128((__m128i *)(out + 16 * (++i_)), prev);               \
    } while (0)

CDC_TARGET_AES static void aes128_expand(const uint8_t key[16], uint8_t out[176]) {
    int i_ = 0;
    __m128i k = _mm_loadu_si128((const __m128i *)key);
    _mm_storeu_si128((__m128i *)out, k);
    KEY_STEP(k, 0x01);
    KEY_STEP(k, 0x02);
    KEY_STEP(k, 0x04);
    KEY_STEP(k, 0x08);
    KEY_STEP(k, 0x10);
    KEY_STEP(k, 0x20);
    KEY_STEP(k, 0x40);
    KEY_STEP(k, 0x80);
    KEY_STEP(k, 0x1b);
    KEY_STEP(k, 0x36);
}

/* First position in [p, last] that is a cut for the chunk whose position start+avg-1
 * is `mid`, or -1. Needs p >= 15 and last < len. */
CDC_TARGET_AES static Py_ssize_t scan_aesni(const scan_ctx *c, Py_ssize_t p, Py_ssize_t last,
                                           Py_ssize_t mid) {
    __m128i k[11];
    for (int r = 0; r < 11; r++) k[r] = _mm_loadu_si128((const __m128i *)(c->round_keys + 16 * r));
    const uint8_t *buf = c->buf;
    /* v < t_large  <=>  (v & ~(t_large-1)) == 0, tested on the low qword only */
    const __m128i hi_mask = _mm_set_epi64x(0, (long long)~(c->t_large - 1));
    const __m128i low_qword = _mm_set_epi64x(0, -1);
    const __m128i zero = _mm_setzero_si128();

    for (; p + 7 <= last; p += 8) {
        const uint8_t *w = buf + p - 15;
        __m128i s0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 0)), k[0]);
        __m128i s1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 1)), k[0]);
        __m128i s2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 2)), k[0]);
        __m128i s3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 3)), k[0]);
        __m128i s4 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 4)), k[0]);
        __m128i s5 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 5)), k[0]);
        __m128i s6 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 6)), k[0]);
        __m128i s7 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 7)), k[0]);
        for (int r = 1; r < 10; r++) {
            s0 = _mm_aesenc_si128(s0, k[r]);
            s1 = _mm_aesenc_si128(s1, k[r]);
            s2 = _mm_aesenc_si128(s2, k[r]);
            s3 = _mm_aesenc_si128(s3, k[r]);
            s4 = _mm_aesenc_si128(s4, k[r]);
            s5 = _mm_aesenc_si128(s5, k[r]);
            s6 = _mm_aesenc_si128(s6, k[r]);
            s7 = _mm_aesenc_si128(s7, k[r]);
        }
        s0 = _mm_aesenclast_si128(s0, k[10]);
        s1 = _mm_aesenclast_si128(s1, k[10]);
        s2 = _mm_aesenclast_si128(s2, k[10]);
        s3 = _mm_aesenclast_si128(s3, k[10]);
        s4 = _mm_aesenclast_si128(s4, k[10]);
        s5 = _mm_aesenclast_si128(s5, k[10]);
        s6 = _mm_aesenclast_si128(s6, k[10]);
        s7 = _mm_aesenclast_si128(s7, k[10]);
        __m128i any = _mm_or_si128(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi64(_mm_and_si128(s0, hi_mask), zero),
                                      _mm_cmpeq_epi64(_mm_and_si128(s1, hi_mask), zero)),
                         _mm_or_si128(_mm_cmpeq_epi64(_mm_and_si128(s2, hi_mask), zero),
                                      _mm_cmpeq_epi64(_mm_and_si128(s3, hi_mask), zero))),
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi64(_mm_and_si128(s4, hi_mask), zero),
                                      _mm_cmpeq_epi64(_mm_and_si128(s5, hi_mask), zero)),
                         _mm_or_si128(_mm_cmpeq_epi64(_mm_and_si128(s6, hi_mask), zero),
                                      _mm_cmpeq_epi64(_mm_and_si128(s7, hi_mask), zero))));
        if (__builtin_expect(!_mm_testz_si128(any, low_qword), 0)) {
            uint64_t v[8];
            v[0] = (uint64_t)_mm_cvtsi128_si64(s0);
            v[1] = (uint64_t)_mm_cvtsi128_si64(s1);
            v[2] = (uint64_t)_mm_cvtsi128_si64(s2);
            v[3] = (uint64_t)_mm_cvtsi128_si64(s3);
            v[4] = (uint64_t)_mm_cvtsi128_si64(s4);
            v[5] = (uint64_t)_mm_cvtsi128_si64(s5);
            v[6] = (uint64_t)_mm_cvtsi128_si64(s6);
            v[7] = (uint64_t)_mm_cvtsi128_si64(s7);
            for (int j = 0; j < 8; j++) {
                if (v[j] < (p + j < mid ? c->t_small : c->t_large)) return p + j;
            }
        }
    }
    for (; p <= last; p++) {
        __m128i s = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(buf + p - 15)), k[0]);
        for (int r = 1; r < 10; r++) s = _mm_aesenc_si128(s, k[r]);
        s = _mm_aesenclast_si128(s, k[10]);
        uint64_t v = (uint64_t)_mm_cvtsi128_si64(s);
        if (v < (p < mid ? c->t_small : c->t_large)) return p;
    }
    return -1;
}

/* Same contract as scan_aesni; 32 positions per step: register j of a half holds the
 * windows ending at p+j (low lane) and p+j+16 (high lane). */
CDC_TARGET_VAES static Py_ssize_t scan_vaes(const scan_ctx *c, Py_ssize_t p, Py_ssize_t last,
                                           Py_ssize_t mid) {
    __m256i k[11];
    for (int r = 0; r < 11; r++)
        k[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(c->round_keys + 16 * r)));
    const uint8_t *buf = c->buf;
    const long long hm = (long long)~(c->t_large - 1);
    const __m256i hi_mask = _mm256_set_epi64x(0, hm, 0, hm);
    const __m256i low_qwords = _mm256_set_epi64x(0, -1, 0, -1);
    const __m256i zero = _mm256_setzero_si256();

    for (; p + 31 <= last; p += 32) {
        uint64_t v[32];
        int found = 0;
        for (int half = 0; half < 16; half += 8) {
            const uint8_t *w = buf + p + half - 15;
            __m256i s0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 0)), k[0]);
            __m256i s1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 1)), k[0]);
            __m256i s2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 2)), k[0]);
            __m256i s3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 3)), k[0]);
            __m256i s4 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 4)), k[0]);
            __m256i s5 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 5)), k[0]);
            __m256i s6 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 6)), k[0]);
            __m256i s7 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 7)), k[0]);
            for (int r = 1; r < 10; r++) {
                s0 = _mm256_aesenc_epi128(s0, k[r]);
                s1 = _mm256_aesenc_epi128(s1, k[r]);
                s2 = _mm256_aesenc_epi128(s2, k[r]);
                s3 = _mm256_aesenc_epi128(s3, k[r]);
                s4 = _mm256_aesenc_epi128(s4, k[r]);
                s5 = _mm256_aesenc_epi128(s5, k[r]);
                s6 = _mm256_aesenc_epi128(s6, k[r]);
                s7 = _mm256_aesenc_epi128(s7, k[r]);
            }
            s0 = _mm256_aesenclast_epi128(s0, k[10]);
            s1 = _mm256_aesenclast_epi128(s1, k[10]);
            s2 = _mm256_aesenclast_epi128(s2, k[10]);
            s3 = _mm256_aesenclast_epi128(s3, k[10]);
            s4 = _mm256_aesenclast_epi128(s4, k[10]);
            s5 = _mm256_aesenclast_epi128(s5, k[10]);
            s6 = _mm256_aesenclast_epi128(s6, k[10]);
            s7 = _mm256_aesenclast_epi128(s7, k[10]);
            __m256i any = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_or_si256(_mm256_cmpeq_epi64(_mm256_and_si256(s0, hi_mask), zero),
                                    _mm256_cmpeq_epi64(_mm256_and_si256(s1, hi_mask), zero)),
                    _mm256_or_si256(_mm256_cmpeq_epi64(_mm256_and_si256(s2, hi_mask), zero),
                                    _mm256_cmpeq_epi64(_mm256_and_si256(s3, hi_mask), zero))),
                _mm256_or_si256(
                    _mm256_or_si256(_mm256_cmpeq_epi64(_mm256_and_si256(s4, hi_mask), zero),
                                    _mm256_cmpeq_epi64(_mm256_and_si256(s5, hi_mask), zero)),
                    _mm256_or_si256(_mm256_cmpeq_epi64(_mm256_and_si256(s6, hi_mask), zero),
                                    _mm256_cmpeq_epi64(_mm256_and_si256(s7, hi_mask), zero))));
            if (__builtin_expect(!_mm256_testz_si256(any, low_qwords), 0)) {
                if (!found) {
                    for (int j = 0; j < 32; j++) v[j] = UINT64_MAX;
                    found = 1;
                }
#define CDC_TAKE(j, s)                                                        \
    v[half + (j)] = (uint64_t)_mm256_extract_epi64(s, 0);                     \
    v[half + (j) + 16] = (uint64_t)_mm256_extract_epi64(s, 2)
                CDC_TAKE(0, s0);
                CDC_TAKE(1, s1);
                CDC_TAKE(2, s2);
                CDC_TAKE(3, s3);
                CDC_TAKE(4, s4);
                CDC_TAKE(5, s5);
                CDC_TAKE(6, s6);
                CDC_TAKE(7, s7);
#undef CDC_TAKE
            }
        }
        if (__builtin_expect(found, 0)) {
            /* Values of a half with no candidate stay UINT64_MAX: never below a threshold. */
            for (int j = 0; j < 32; j++) {
                if (v[j] < (p + j < mid ? c->t_small : c->t_large)) return p + j;
            }
        }
    }
    return p <= last ? scan_aesni(c, p, last, mid) : -1;
}

#endif /* CDC_X86 */

static Py_ssize_t scan(int impl, const scan_ctx *c, Py_ssize_t p, Py_ssize_t last, Py_ssize_t mid) {
#if CDC_X86
    if (impl == IMPL_VAES) return scan_vaes(c, p, last, mid);
    return scan_aesni(c, p, last, mid);
#else
    (void)impl; (void)c; (void)p; (void)last; (void)mid;
    return -1; /* unreachable: cuts() refuses to run without an implementation */
#endif
}

static PyObject *cdc_implementations(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (have_vaes) return Py_BuildValue("(ss)", "vaes", "aesni");
    if (have_aesni) return Py_BuildValue("(s)", "aesni");
    return PyTuple_New(0);
}

static PyObject *cdc_cuts(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer key, data;
    Py_ssize_t start, scanned, mn, avg, mx;
    int final;
    const char *impl_name;
    if (!PyArg_ParseTuple(args, "y*y*nnnnnps:cuts", &key, &data, &start, &scanned, &mn, &avg,
                          &mx, &final, &impl_name))
        return NULL;

    PyObject *result = NULL;
    Py_ssize_t *ends = NULL;
    int impl;
    if (impl_name[0] == '\0') {
        impl = have_vaes ? IMPL_VAES : have_aesni ? IMPL_AESNI : IMPL_NONE;
    } else if (strcmp(impl_name, "vaes") == 0) {
        impl = have_vaes ? IMPL_VAES : IMPL_NONE;
    } else if (strcmp(impl_name, "aesni") == 0) {
        impl = have_aesni ? IMPL_AESNI : IMPL_NONE;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown implementation %R", PyTuple_GET_ITEM(args, 8));
        goto done;
    }
    if (impl == IMPL_NONE) {
        PyErr_SetString(PyExc_RuntimeError, "no AES implementation usable on this CPU");
        goto done;
    }
    if (key.len != 16) {
        PyErr_SetString(PyExc_ValueError, "key must be 16 bytes");
        goto done;
    }
    if (!(64 <= mn && mn < avg && avg < mx && mx <= ((Py_ssize_t)1 << 24) && (avg & (avg - 1)) == 0)) {
        PyErr_SetString(PyExc_ValueError,
                        "need 64 <= min < avg < max <= 2**24 with avg a power of two");
        goto done;
    }
    if (start < 0 || start > data.len || scanned < 0) {
        PyErr_SetString(PyExc_ValueError, "start or scanned out of range");
        goto done;
    }

    scan_ctx ctx;
    ctx.buf = (const uint8_t *)data.buf;
    ctx.len = data.len;
    /* 2**64 // (2*avg) and 2*2**64 // avg, avg = 2**a with 7 <= a <= 23 */
    int a = 0;
    while (((Py_ssize_t)1 << a) < avg) a++;
    ctx.t_small = (uint64_t)1 << (63 - a);
    ctx.t_large = (uint64_t)1 << (65 - a);
#if CDC_X86
    aes128_expand((const uint8_t *)key.buf, ctx.round_keys);
#endif

    Py_ssize_t cap = (data.len - start) / mn + 2;
    ends = PyMem_RawMalloc((size_t)cap * sizeof(Py_ssize_t));
    if (ends == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n = 0;
    Py_ssize_t s = start, sc = scanned, len = data.len;

    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        Py_ssize_t lo = s + mn - 1; /* L = min */
        Py_ssize_t hi = s + mx - 2; /* L = max - 1 */
        Py_ssize_t mid = s + avg - 1; /* L = avg */
        Py_ssize_t p0 = sc > lo ? sc : lo;
        Py_ssize_t last = hi < len - 1 ? hi : len - 1;
        if (p0 <= last) {
            Py_ssize_t cut = scan(impl, &ctx, p0, last, mid);
            if (cut >= 0) {
                ends[n++] = cut + 1;
                s = cut + 1;
                sc = 0;
                continue;
            }
            sc = last + 1;
        }
        if (sc > hi && len - s >= mx) { /* no cut below max: forced cut */
            ends[n++] = s + mx;
            s += mx;
            sc = 0;
            continue;
        }
        break;
    }
    if (final && s < len) {
        ends[n++] = len;
        s = len;
        sc = 0;
    }
    Py_END_ALLOW_THREADS

    PyObject *list = PyList_New(n);
    if (list == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyLong_FromSsize_t(ends[i]);
        if (o == NULL) {
            Py_DECREF(list);
            goto done;
        }
        PyList_SET_ITEM(list, i, o);
    }
    result = Py_BuildValue("(Nn)", list, sc);

done:
    PyMem_RawFree(ends);
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef cdc_methods[] = {
    {"implementations", cdc_implementations, METH_NOARGS,
     "implementations() -> tuple of usable implementation names, best first"},
    {"cuts", cdc_cuts, METH_VARARGS,
     "cuts(key, data, start, scanned, min, avg, max, final, impl) -> (ends, scanned)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cdc_module = {
    PyModuleDef_HEAD_INIT, "vault._cdc",
    "AES-NI / VAES accelerator for the cut-point search of vault.chunker.", -1, cdc_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cdc(void) {
#if CDC_X86
    __builtin_cpu_init();
    have_aesni = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
    have_vaes = have_aesni && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vaes");
#endif
    return PyModule_Create(&cdc_module);
}
