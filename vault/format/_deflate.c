/*
 * lkvault.vault.format._deflate: a raw deflate compressor whose output is bit-identical to
 * stock zlib's (1.2.12 to 1.3.x) for levels 1-9, memLevel 1-9, window bits 9-15, every
 * strategy, a preset dictionary, and any split of the input across compress() calls.
 *
 * Written for lkvault from RFC 1951 and zlib's documented behaviour, so that a member's
 * compressed bytes re-created at restore do not depend on the zlib the restoring computer
 * links (zlib-ng and the Chromium/Intel forks compress differently). What has to match zlib
 * is not only the format but every choice zlib makes:
 *
 * - Matching. A window of 2*wsize bytes; every 3-byte string is hashed
 *   (hash_bits = memLevel + 7, each of the 3 bytes shifted by (hash_bits + 2) / 3 bits more
 *   than the next) into head/prev chains of 16-bit positions; when the lookahead drops
 *   below MIN_LOOKAHEAD the upper half slides down and every position loses wsize (those
 *   below it become "none"). Matches are searched along a chain up to max_chain entries
 *   (a quarter when the previous match is already "good"), stop at "nice", and never
 *   reach further back than wsize - MIN_LOOKAHEAD. Levels 1-3 take the first match found
 *   and insert the strings inside it only when it is short; levels 4-9 defer each match
 *   by one byte (lazy evaluation) and drop 3-byte matches more than 4096 bytes back.
 *   Content is processed only while at least MIN_LOOKAHEAD bytes are ahead, unless the
 *   caller flushes; that is why the output does not depend on how the input was split.
 * - Blocks. A block ends when its symbol buffer (1 << (memLevel + 6), less one) is full, or
 *   at a flush; it is then written stored, with the fixed codes or with dynamic codes,
 *   whichever is smallest by zlib's estimate (stored only when the block's bytes are still
 *   in the window). Huffman codes are zlib's: a heap ordered by frequency then subtree
 *   depth, lengths capped at 15 (7 for the code-length code) with zlib's overflow repair,
 *   canonical codes, code lengths sent with the run-length codes 16/17/18.
 * - Level 0 is not offered: zlib's stored-block sizes depend on the caller's output buffer
 *   sizes, so no compressor can promise the same bytes.
 *
 * Python API (private to vault/format/deflater.py and vault/format/restarts.py):
 *   Deflater(level, wbits, mem_level, strategy, zdict=None, *, track_blocks=False)
 *                                     wbits: -9..-15 (raw deflate)
 *       .compress(data) -> bytes      like zlib's compressobj().compress (Z_NO_FLUSH)
 *       .flush(mode) -> bytes         Z_NO_FLUSH (0), Z_SYNC_FLUSH (2), Z_FULL_FLUSH (3),
 *                                     Z_FINISH (4); after Z_FINISH the object is spent.
 *       .block_ends() -> [(content offset, bit offset)] of the blocks written so far
 *   segment(...)      one segment of a stream re-created from a restart point
 *   append_bits(...)  joins bit strings; bits_equal(...) compares them
 *   scan_blocks(...)  where the blocks of a given raw deflate stream end (the one parser
 *                     here: every read is bounds-checked, malformed data gives None)
 *   (signatures in _deflate.pyi and at each function below). The GIL is released while
 *   compressing or scanning; one Deflater must not be used by two threads at once (it
 *   raises instead of waiting).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MATCH 3
#define MAX_MATCH 258
#define MIN_LOOKAHEAD (MAX_MATCH + MIN_MATCH + 1)
#define TOO_FAR 4096
#define WINDOW_PAD 320 /* zeroed bytes past the window: word compares may read there */

#define LITERALS 256
#define END_BLOCK 256
#define LENGTH_CODES 29
#define L_CODES (LITERALS + 1 + LENGTH_CODES) /* 286 */
#define D_CODES 30
#define BL_CODES 19
#define HEAP_SIZE (2 * L_CODES + 1)
#define MAX_BITS 15
#define MAX_BL_BITS 7
#define REP_3_6 16
#define REPZ_3_10 17
#define REPZ_11_138 18

enum { NO_FLUSH = 0, SYNC_FLUSH = 2, FULL_FLUSH = 3, FINISH = 4 };
enum { FILTERED = 1, HUFFMAN_ONLY = 2, RLE = 3, FIXED = 4 };
typedef enum { NEED_MORE, BLOCK_DONE, FINISH_DONE } BlockState;

/* ---- constant tables (RFC 1951, section 3.2.5) ------------------------------------------- */

static const uint8_t EXTRA_LBITS[LENGTH_CODES] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                  2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint8_t EXTRA_DBITS[D_CODES] = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,  4,  4,  5,  5,  6,
                                             6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t EXTRA_BLBITS[BL_CODES] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0, 2, 3, 7};
/* The order in which code-length code lengths are sent (RFC 1951, 3.2.7). */
static const uint8_t BL_ORDER[BL_CODES] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                           11, 4,  12, 3, 13, 2, 14, 1, 15};

static uint8_t length_code[256]; /* match length - 3 -> length code 0..28 */
static uint16_t length_base[LENGTH_CODES];
static uint8_t dist_code[512]; /* distance - 1 -> code: [d] below 256, [256 + (d >> 7)] above */
static uint16_t dist_base[D_CODES];
static uint16_t fixed_lcode[L_CODES + 2], fixed_llen[L_CODES + 2];
static uint16_t fixed_dcode[D_CODES], fixed_dlen[D_CODES];

/* Per level: good, lazy (levels 1-3: longest match whose strings are all inserted), nice,
 * chain, and whether matches are evaluated lazily. As zlib documents for its levels. */
typedef struct {
    uint16_t good, lazy, nice, chain;
    uint8_t slow;
} LevelConfig;
static const LevelConfig LEVELS[10] = {
    {0, 0, 0, 0, 0},          {4, 4, 8, 4, 0},       {4, 5, 16, 8, 0},
    {4, 6, 32, 32, 0},        {4, 4, 16, 16, 1},     {8, 16, 32, 32, 1},
    {8, 16, 128, 128, 1},     {8, 32, 128, 256, 1},  {32, 128, 258, 1024, 1},
    {32, 258, 258, 4096, 1},
};

static unsigned reverse_bits(unsigned code, int len) {
    unsigned out = 0;
    while (len-- > 0) {
        out = (out << 1) | (code & 1);
        code >>= 1;
    }
    return out;
}

/* Canonical codes (RFC 1951, 3.2.2) for lengths len[0..max_code], bit-reversed for sending. */
static void canonical_codes(uint16_t *codes, const uint16_t *lens, int max_code,
                            const uint16_t *count) {
    uint16_t next[MAX_BITS + 1];
    unsigned code = 0;
    for (int bits = 1; bits <= MAX_BITS; bits++) {
        code = (code + count[bits - 1]) << 1;
        next[bits] = (uint16_t)code;
    }
    for (int n = 0; n <= max_code; n++) {
        if (lens[n] != 0) codes[n] = (uint16_t)reverse_bits(next[lens[n]]++, lens[n]);
    }
}

static void init_tables(void) {
    int length = 0, dist = 0, code;
    for (code = 0; code < LENGTH_CODES - 1; code++) {
        length_base[code] = (uint16_t)length;
        for (int n = 0; n < (1 << EXTRA_LBITS[code]); n++) length_code[length++] = (uint8_t)code;
    }
    length_code[255] = (uint8_t)code; /* length 258 has its own code, 285, without extra bits */
    length_base[code] = 255;
    for (code = 0; code < 16; code++) {
        dist_base[code] = (uint16_t)dist;
        for (int n = 0; n < (1 << EXTRA_DBITS[code]); n++) dist_code[dist++] = (uint8_t)code;
    }
    dist >>= 7;
    for (; code < D_CODES; code++) {
        dist_base[code] = (uint16_t)(dist << 7);
        for (int n = 0; n < (1 << (EXTRA_DBITS[code] - 7)); n++) dist_code[256 + dist++] = (uint8_t)code;
    }
    uint16_t count[MAX_BITS + 1] = {0};
    for (int n = 0; n < L_CODES + 2; n++) {
        fixed_llen[n] = n < 144 ? 8 : n < 256 ? 9 : n < 280 ? 7 : 8;
        count[fixed_llen[n]]++;
    }
    canonical_codes(fixed_lcode, fixed_llen, L_CODES + 1, count);
    for (int n = 0; n < D_CODES; n++) {
        fixed_dlen[n] = 5;
        fixed_dcode[n] = (uint16_t)reverse_bits((unsigned)n, 5);
    }
}

static inline unsigned distance_code(unsigned dist_minus_one) {
    return dist_minus_one < 256 ? dist_code[dist_minus_one] : dist_code[256 + (dist_minus_one >> 7)];
}

/* ---- state ----------------------------------------------------------------------------- */

typedef struct {
    uint32_t freq[HEAP_SIZE];
    uint16_t dad[HEAP_SIZE];
    uint16_t len[HEAP_SIZE];
    uint16_t code[HEAP_SIZE];
    int max_code;
} Tree;

typedef struct {
    const uint16_t *fixed_len; /* NULL for the code-length code */
    const uint8_t *extra;
    int extra_base, elems, max_length;
} TreeKind;

static const TreeKind LIT_KIND = {fixed_llen, EXTRA_LBITS, LITERALS + 1, L_CODES, MAX_BITS};
static const TreeKind DIST_KIND = {fixed_dlen, EXTRA_DBITS, 0, D_CODES, MAX_BITS};
static const TreeKind BL_KIND = {NULL, EXTRA_BLBITS, 0, BL_CODES, MAX_BL_BITS};

typedef struct {
    /* parameters */
    int level, strategy;
    unsigned w_size, w_mask, window_size, max_dist;
    unsigned hash_mask, hash_shift;
    unsigned good_match, max_lazy, nice_match, max_chain;
    /* matching */
    uint8_t *window;
    uint16_t *prev, *head;
    unsigned strstart, lookahead, insert;
    unsigned match_start, match_length, prev_length, prev_match;
    int match_available;
    long block_start;
    /* input of the current call */
    const uint8_t *next_in;
    size_t avail_in;
    /* the current block's symbols: distance (0 for a literal) and literal or length - 3 */
    uint16_t *sym_dist;
    uint8_t *sym_lc;
    unsigned sym_count, sym_limit;
    /* trees */
    Tree ltree, dtree, bltree;
    int heap[HEAP_SIZE];
    int heap_len, heap_max;
    uint8_t depth[HEAP_SIZE];
    uint16_t bl_count[MAX_BITS + 1];
    int64_t opt_len, static_len;
    /* output: whole bytes in out, up to 31 bits waiting in bitbuf */
    uint8_t *out;
    size_t out_len, out_cap;
    uint64_t bitbuf;
    int bitcnt;
    int out_of_memory;
    int last_flush;
    /* block ends, for restart points: content offsets count from the first byte after the
     * preset dictionary (window position `origin`, which the slide moves down) */
    long origin;
    uint64_t bytes_returned; /* output bytes handed to the caller before out[0] */
    int track_blocks;
    int64_t *block_ends; /* pairs (content offset, bit offset of the block's end) */
    size_t block_count, block_cap;
    long stop_at;     /* >= 0: halt at the block end at this content offset */
    int halt;         /* set at that block end, or at one past it (stop_bits stays -1) */
    int64_t stop_bits;
    int64_t end_bits; /* bits of the whole stream before the final byte alignment */
} Deflate;

/* ---- bit output ------------------------------------------------------------------------ */

static int reserve(Deflate *s, size_t more) {
    if (s->out_cap - s->out_len >= more) return 1;
    size_t cap = s->out_cap ? s->out_cap : 1 << 16;
    while (cap - s->out_len < more) cap *= 2;
    uint8_t *grown = realloc(s->out, cap);
    if (grown == NULL) {
        s->out_of_memory = 1;
        return 0;
    }
    s->out = grown;
    s->out_cap = cap;
    return 1;
}

/* The caller has reserved room: at most 4 bytes per call, len <= 16. */
static inline void put_bits(Deflate *s, unsigned value, int len) {
    s->bitbuf |= (uint64_t)value << s->bitcnt;
    s->bitcnt += len;
    if (s->bitcnt >= 32) {
        uint8_t *o = s->out + s->out_len;
        uint32_t w = (uint32_t)s->bitbuf;
        o[0] = (uint8_t)w;
        o[1] = (uint8_t)(w >> 8);
        o[2] = (uint8_t)(w >> 16);
        o[3] = (uint8_t)(w >> 24);
        s->out_len += 4;
        s->bitbuf >>= 32;
        s->bitcnt -= 32;
    }
}

/* Bits written since the stream began, whole bytes handed out included. */
static inline int64_t bits_out(const Deflate *s) {
    return (int64_t)(s->bytes_returned + s->out_len) * 8 + s->bitcnt;
}

static void align_to_byte(Deflate *s) {
    while (s->bitcnt > 0) {
        s->out[s->out_len++] = (uint8_t)s->bitbuf;
        s->bitbuf >>= 8;
        s->bitcnt -= 8;
    }
    s->bitbuf = 0;
    s->bitcnt = 0;
}

/* ---- Huffman trees --------------------------------------------------------------------- */

static inline int lighter(const Tree *t, const uint8_t *depth, int n, int m) {
    return t->freq[n] < t->freq[m] || (t->freq[n] == t->freq[m] && depth[n] <= depth[m]);
}

static void sift_down(Deflate *s, const Tree *t, int k) {
    int v = s->heap[k];
    int j = k << 1;
    while (j <= s->heap_len) {
        if (j < s->heap_len && lighter(t, s->depth, s->heap[j + 1], s->heap[j])) j++;
        if (lighter(t, s->depth, v, s->heap[j])) break;
        s->heap[k] = s->heap[j];
        k = j;
        j <<= 1;
    }
    s->heap[k] = v;
}

/* Code lengths from the finished tree (heap[heap_max..] lists nodes, parents first); lengths
 * over the kind's maximum are clipped and the counts repaired by moving leaves down from the
 * deepest level below the maximum, then lengths reassigned from the least frequent leaves. */
static void assign_lengths(Deflate *s, Tree *t, const TreeKind *kind) {
    int max_code = t->max_code, max_length = kind->max_length, overflow = 0, h;
    memset(s->bl_count, 0, sizeof s->bl_count);
    t->len[s->heap[s->heap_max]] = 0;
    for (h = s->heap_max + 1; h < HEAP_SIZE; h++) {
        int n = s->heap[h];
        int bits = t->len[t->dad[n]] + 1;
        if (bits > max_length) {
            bits = max_length;
            overflow++;
        }
        t->len[n] = (uint16_t)bits;
        if (n > max_code) continue; /* an inner node */
        s->bl_count[bits]++;
        int xbits = n >= kind->extra_base ? kind->extra[n - kind->extra_base] : 0;
        int64_t f = t->freq[n];
        s->opt_len += f * (bits + xbits);
        if (kind->fixed_len) s->static_len += f * (kind->fixed_len[n] + xbits);
    }
    if (overflow == 0) return;
    do {
        int bits = max_length - 1;
        while (s->bl_count[bits] == 0) bits--;
        s->bl_count[bits]--;
        s->bl_count[bits + 1] += 2;
        s->bl_count[max_length]--;
        overflow -= 2;
    } while (overflow > 0);
    for (int bits = max_length; bits != 0; bits--) {
        int n = s->bl_count[bits];
        while (n != 0) {
            int m = s->heap[--h];
            if (m > max_code) continue;
            if (t->len[m] != bits) {
                s->opt_len += ((int64_t)bits - t->len[m]) * (int64_t)t->freq[m];
                t->len[m] = (uint16_t)bits;
            }
            n--;
        }
    }
}

static void build_tree(Deflate *s, Tree *t, const TreeKind *kind) {
    int elems = kind->elems, max_code = -1, n, node;
    s->heap_len = 0;
    s->heap_max = HEAP_SIZE;
    for (n = 0; n < elems; n++) {
        if (t->freq[n] != 0) {
            s->heap[++s->heap_len] = max_code = n;
            s->depth[n] = 0;
        } else {
            t->len[n] = 0;
        }
    }
    /* A code needs two symbols: add dummies of frequency 1, not counted in the lengths. */
    while (s->heap_len < 2) {
        node = s->heap[++s->heap_len] = max_code < 2 ? ++max_code : 0;
        t->freq[node] = 1;
        s->depth[node] = 0;
        s->opt_len--;
        if (kind->fixed_len) s->static_len -= kind->fixed_len[node];
    }
    t->max_code = max_code;
    for (n = s->heap_len / 2; n >= 1; n--) sift_down(s, t, n);
    node = elems;
    do {
        n = s->heap[1];
        s->heap[1] = s->heap[s->heap_len--];
        sift_down(s, t, 1);
        int m = s->heap[1];
        s->heap[--s->heap_max] = n;
        s->heap[--s->heap_max] = m;
        t->freq[node] = t->freq[n] + t->freq[m];
        s->depth[node] = (uint8_t)((s->depth[n] >= s->depth[m] ? s->depth[n] : s->depth[m]) + 1);
        t->dad[n] = t->dad[m] = (uint16_t)node;
        s->heap[1] = node++;
        sift_down(s, t, 1);
    } while (s->heap_len >= 2);
    s->heap[--s->heap_max] = s->heap[1];
    assign_lengths(s, t, kind);
    canonical_codes(t->code, t->len, max_code, s->bl_count);
}

/* Counts, in the code-length code, the lengths of `t` as they will be sent (runs of a length
 * as 16, runs of zeros as 17/18). Leaves a guard length after max_code for send_lengths. */
static void count_lengths(Deflate *s, Tree *t, int max_code) {
    int prevlen = -1, nextlen = t->len[0], count = 0;
    int max_count = nextlen == 0 ? 138 : 7, min_count = nextlen == 0 ? 3 : 4;
    t->len[max_code + 1] = 0xffff;
    for (int n = 0; n <= max_code; n++) {
        int curlen = nextlen;
        nextlen = t->len[n + 1];
        if (++count < max_count && curlen == nextlen) continue;
        if (count < min_count) {
            s->bltree.freq[curlen] += (uint32_t)count;
        } else if (curlen != 0) {
            if (curlen != prevlen) s->bltree.freq[curlen]++;
            s->bltree.freq[REP_3_6]++;
        } else if (count <= 10) {
            s->bltree.freq[REPZ_3_10]++;
        } else {
            s->bltree.freq[REPZ_11_138]++;
        }
        count = 0;
        prevlen = curlen;
        if (nextlen == 0) {
            max_count = 138, min_count = 3;
        } else if (curlen == nextlen) {
            max_count = 6, min_count = 3;
        } else {
            max_count = 7, min_count = 4;
        }
    }
}

static inline void put_code(Deflate *s, const Tree *t, int n) {
    put_bits(s, t->code[n], t->len[n]);
}

/* Sends the lengths of `t`, in the same runs count_lengths counted. */
static void send_lengths(Deflate *s, Tree *t, int max_code) {
    int prevlen = -1, nextlen = t->len[0], count = 0;
    int max_count = nextlen == 0 ? 138 : 7, min_count = nextlen == 0 ? 3 : 4;
    for (int n = 0; n <= max_code; n++) {
        int curlen = nextlen;
        nextlen = t->len[n + 1];
        if (++count < max_count && curlen == nextlen) continue;
        if (count < min_count) {
            do put_code(s, &s->bltree, curlen);
            while (--count != 0);
        } else if (curlen != 0) {
            if (curlen != prevlen) {
                put_code(s, &s->bltree, curlen);
                count--;
            }
            put_code(s, &s->bltree, REP_3_6);
            put_bits(s, (unsigned)(count - 3), 2);
        } else if (count <= 10) {
            put_code(s, &s->bltree, REPZ_3_10);
            put_bits(s, (unsigned)(count - 3), 3);
        } else {
            put_code(s, &s->bltree, REPZ_11_138);
            put_bits(s, (unsigned)(count - 11), 7);
        }
        count = 0;
        prevlen = curlen;
        if (nextlen == 0) {
            max_count = 138, min_count = 3;
        } else if (curlen == nextlen) {
            max_count = 6, min_count = 3;
        } else {
            max_count = 7, min_count = 4;
        }
    }
}

/* Builds the code-length code; returns the index in BL_ORDER of the last length to send. */
static int build_length_tree(Deflate *s) {
    count_lengths(s, &s->ltree, s->ltree.max_code);
    count_lengths(s, &s->dtree, s->dtree.max_code);
    build_tree(s, &s->bltree, &BL_KIND);
    int last;
    for (last = BL_CODES - 1; last >= 3; last--) {
        if (s->bltree.len[BL_ORDER[last]] != 0) break;
    }
    s->opt_len += 3 * ((int64_t)last + 1) + 5 + 5 + 4;
    return last;
}

static void new_block(Deflate *s) {
    memset(s->ltree.freq, 0, sizeof(uint32_t) * L_CODES);
    memset(s->dtree.freq, 0, sizeof(uint32_t) * D_CODES);
    memset(s->bltree.freq, 0, sizeof(uint32_t) * BL_CODES);
    s->ltree.freq[END_BLOCK] = 1;
    s->opt_len = s->static_len = 0;
    s->sym_count = 0;
}

static void send_symbols(Deflate *s, const uint16_t *lcode, const uint16_t *llen,
                         const uint16_t *dcode, const uint16_t *dlen) {
    for (unsigned i = 0; i < s->sym_count; i++) {
        unsigned dist = s->sym_dist[i], lc = s->sym_lc[i];
        if (dist == 0) {
            put_bits(s, lcode[lc], llen[lc]);
            continue;
        }
        unsigned code = length_code[lc];
        put_bits(s, lcode[code + LITERALS + 1], llen[code + LITERALS + 1]);
        if (EXTRA_LBITS[code]) put_bits(s, lc - length_base[code], EXTRA_LBITS[code]);
        dist--;
        code = distance_code(dist);
        put_bits(s, dcode[code], dlen[code]);
        if (EXTRA_DBITS[code]) put_bits(s, dist - dist_base[code], EXTRA_DBITS[code]);
    }
    put_bits(s, lcode[END_BLOCK], llen[END_BLOCK]);
}

static void stored_block(Deflate *s, const uint8_t *data, unsigned len, int last) {
    put_bits(s, (unsigned)last, 3); /* type 00 */
    align_to_byte(s);
    uint8_t *o = s->out + s->out_len;
    o[0] = (uint8_t)len;
    o[1] = (uint8_t)(len >> 8);
    o[2] = (uint8_t)~len;
    o[3] = (uint8_t)(~len >> 8);
    s->out_len += 4;
    if (len) memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
}

/* Writes the current block in its cheapest form. data: its bytes, or NULL when they have left
 * the window (a stored block is then impossible). */
static void write_block(Deflate *s, const uint8_t *data, unsigned long stored_len, int last) {
    if (!reserve(s, stored_len + (size_t)s->sym_count * 6 + 2048)) return;
    build_tree(s, &s->ltree, &LIT_KIND);
    build_tree(s, &s->dtree, &DIST_KIND);
    int last_bl = build_length_tree(s);
    int64_t opt_bytes = (s->opt_len + 3 + 7) >> 3;
    int64_t static_bytes = (s->static_len + 3 + 7) >> 3;
    if (static_bytes <= opt_bytes || s->strategy == FIXED) opt_bytes = static_bytes;
    if ((int64_t)stored_len + 4 <= opt_bytes && data != NULL) {
        stored_block(s, data, (unsigned)stored_len, last);
    } else if (static_bytes == opt_bytes) {
        put_bits(s, (1u << 1) + (unsigned)last, 3);
        send_symbols(s, fixed_lcode, fixed_llen, fixed_dcode, fixed_dlen);
    } else {
        int lcodes = s->ltree.max_code + 1, dcodes = s->dtree.max_code + 1;
        put_bits(s, (2u << 1) + (unsigned)last, 3);
        put_bits(s, (unsigned)(lcodes - 257), 5);
        put_bits(s, (unsigned)(dcodes - 1), 5);
        put_bits(s, (unsigned)(last_bl + 1 - 4), 4);
        for (int rank = 0; rank <= last_bl; rank++) put_bits(s, s->bltree.len[BL_ORDER[rank]], 3);
        send_lengths(s, &s->ltree, lcodes - 1);
        send_lengths(s, &s->dtree, dcodes - 1);
        send_symbols(s, s->ltree.code, s->ltree.len, s->dtree.code, s->dtree.len);
    }
    new_block(s);
    if (last) {
        s->end_bits = bits_out(s);
        align_to_byte(s);
    }
}

static void note_block_end(Deflate *s) {
    long offset = (long)s->strstart - s->origin;
    if (s->stop_at >= 0 && offset >= s->stop_at) {
        if (offset == s->stop_at) s->stop_bits = bits_out(s);
        s->halt = 1;
    }
    if (!s->track_blocks) return;
    if (s->block_count == s->block_cap) {
        size_t cap = s->block_cap ? 2 * s->block_cap : 256;
        int64_t *grown = realloc(s->block_ends, cap * 2 * sizeof(int64_t));
        if (grown == NULL) {
            s->out_of_memory = 1;
            return;
        }
        s->block_ends = grown;
        s->block_cap = cap;
    }
    s->block_ends[2 * s->block_count] = offset;
    s->block_ends[2 * s->block_count + 1] = bits_out(s);
    s->block_count++;
}

static void end_block(Deflate *s, int last) {
    const uint8_t *data = s->block_start >= 0 ? s->window + s->block_start : NULL;
    write_block(s, data, (unsigned long)((long)s->strstart - s->block_start), last);
    if (!last) note_block_end(s);
    s->block_start = (long)s->strstart;
}

/* Records a literal; true when the block's symbol buffer is full. */
static inline int tally_literal(Deflate *s, unsigned c) {
    s->sym_dist[s->sym_count] = 0;
    s->sym_lc[s->sym_count++] = (uint8_t)c;
    s->ltree.freq[c]++;
    return s->sym_count == s->sym_limit;
}

static inline int tally_match(Deflate *s, unsigned dist, unsigned len_minus_3) {
    s->sym_dist[s->sym_count] = (uint16_t)dist;
    s->sym_lc[s->sym_count++] = (uint8_t)len_minus_3;
    s->ltree.freq[length_code[len_minus_3] + LITERALS + 1]++;
    s->dtree.freq[distance_code(dist - 1)]++;
    return s->sym_count == s->sym_limit;
}

/* ---- matching -------------------------------------------------------------------------- */

static inline unsigned hash_at(const Deflate *s, unsigned pos) {
    const uint8_t *p = s->window + pos;
    return (((unsigned)p[0] << (2 * s->hash_shift)) ^ ((unsigned)p[1] << s->hash_shift) ^ p[2]) &
           s->hash_mask;
}

/* Inserts the string at pos in its hash chain; returns the previous head of that chain. */
static inline unsigned insert_string(Deflate *s, unsigned pos) {
    unsigned h = hash_at(s, pos);
    unsigned head = s->head[h];
    s->prev[pos & s->w_mask] = (uint16_t)head;
    s->head[h] = (uint16_t)pos;
    return head;
}

static void slide_positions(uint16_t *table, unsigned count, unsigned wsize) {
    for (unsigned n = 0; n < count; n++) {
        unsigned m = table[n];
        table[n] = (uint16_t)(m >= wsize ? m - wsize : 0);
    }
}

/* Reads input into the window (sliding it when the search position nears its end) until
 * MIN_LOOKAHEAD bytes are ahead or the input is used up; hashes the strings left pending. */
static void fill_window(Deflate *s) {
    unsigned wsize = s->w_size;
    do {
        unsigned room = s->window_size - s->lookahead - s->strstart;
        if (s->strstart >= wsize + s->max_dist) {
            memcpy(s->window, s->window + wsize, wsize);
            s->match_start -= wsize;
            s->strstart -= wsize;
            s->block_start -= (long)wsize;
            s->origin -= (long)wsize;
            if (s->insert > s->strstart) s->insert = s->strstart;
            slide_positions(s->head, s->hash_mask + 1, wsize);
            slide_positions(s->prev, wsize, wsize);
            room += wsize;
        }
        if (s->avail_in == 0) break;
        size_t n = s->avail_in < room ? s->avail_in : room;
        memcpy(s->window + s->strstart + s->lookahead, s->next_in, n);
        s->next_in += n;
        s->avail_in -= n;
        s->lookahead += (unsigned)n;
        if (s->lookahead + s->insert >= MIN_MATCH) {
            unsigned pos = s->strstart - s->insert;
            while (s->insert) {
                insert_string(s, pos);
                pos++;
                s->insert--;
                if (s->lookahead + s->insert < MIN_MATCH) break;
            }
        }
    } while (s->lookahead < MIN_LOOKAHEAD && s->avail_in != 0);
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Length of the common prefix of a and b, at most MAX_MATCH; bytes 0-2 are known equal (the
 * first two compared by the caller, the third implied by equal hashes). */
static inline unsigned common_length(const uint8_t *a, const uint8_t *b) {
    for (unsigned i = 3; i < MAX_MATCH; i += 8) {
        uint64_t x = load64(a + i) ^ load64(b + i);
        if (x != 0) {
#if PY_LITTLE_ENDIAN
            unsigned k = i + ((unsigned)__builtin_ctzll(x) >> 3);
#else
            unsigned k = i + ((unsigned)__builtin_clzll(x) >> 3);
#endif
            return k < MAX_MATCH ? k : MAX_MATCH;
        }
    }
    return MAX_MATCH;
}

/* The longest match for the string at strstart along the chain from cur_match, longer than
 * prev_length; sets match_start. Never longer than the lookahead. */
static unsigned longest_match(Deflate *s, unsigned cur_match) {
    unsigned chain = s->max_chain;
    const uint8_t *window = s->window;
    const uint8_t *scan = window + s->strstart;
    unsigned best_len = s->prev_length;
    unsigned nice = s->nice_match;
    unsigned limit = s->strstart > s->max_dist ? s->strstart - s->max_dist : 0;
    const uint16_t *prev = s->prev;
    unsigned wmask = s->w_mask;
    uint8_t end1 = scan[best_len - 1], end0 = scan[best_len];
    if (s->prev_length >= s->good_match) chain >>= 2;
    if (nice > s->lookahead) nice = s->lookahead;
    do {
        const uint8_t *match = window + cur_match;
        if (match[best_len] != end0 || match[best_len - 1] != end1 || match[0] != scan[0] ||
            match[1] != scan[1])
            continue;
        unsigned len = common_length(scan, match);
        if (len > best_len) {
            s->match_start = cur_match;
            best_len = len;
            if (len >= nice) break;
            end1 = scan[best_len - 1];
            end0 = scan[best_len];
        }
    } while ((cur_match = prev[cur_match & wmask]) > limit && --chain != 0);
    return best_len <= s->lookahead ? best_len : s->lookahead;
}

#define END_BLOCK_IF(cond)                                                                      \
    do {                                                                                        \
        if (cond) {                                                                             \
            end_block(s, 0);                                                                    \
            if (s->out_of_memory || s->halt) return NEED_MORE;                                  \
        }                                                                                       \
    } while (0)

/* Ends the pass over the input: the state for the next one, and the block at a flush. */
static BlockState finish_pass(Deflate *s, int flush) {
    s->insert = s->strstart < MIN_MATCH - 1 ? s->strstart : MIN_MATCH - 1;
    if (flush == FINISH) {
        end_block(s, 1);
        return FINISH_DONE;
    }
    if (s->sym_count) end_block(s, 0);
    return s->halt ? NEED_MORE : BLOCK_DONE;
}

/* Levels 1-3: the first match found is taken; the strings inside it are hashed only when it is
 * no longer than max_lazy. */
static BlockState deflate_fast(Deflate *s, int flush) {
    for (;;) {
        if (s->lookahead < MIN_LOOKAHEAD) {
            fill_window(s);
            if (s->lookahead < MIN_LOOKAHEAD && flush == NO_FLUSH) return NEED_MORE;
            if (s->lookahead == 0) break;
        }
        unsigned hash_head = 0;
        if (s->lookahead >= MIN_MATCH) hash_head = insert_string(s, s->strstart);
        if (hash_head != 0 && s->strstart - hash_head <= s->max_dist) {
            s->match_length = longest_match(s, hash_head);
        }
        int full;
        if (s->match_length >= MIN_MATCH) {
            full = tally_match(s, s->strstart - s->match_start, s->match_length - MIN_MATCH);
            s->lookahead -= s->match_length;
            if (s->match_length <= s->max_lazy && s->lookahead >= MIN_MATCH) {
                s->match_length--;
                do {
                    s->strstart++;
                    insert_string(s, s->strstart);
                } while (--s->match_length != 0);
                s->strstart++;
            } else {
                s->strstart += s->match_length;
                s->match_length = 0;
            }
        } else {
            full = tally_literal(s, s->window[s->strstart]);
            s->lookahead--;
            s->strstart++;
        }
        END_BLOCK_IF(full);
    }
    return finish_pass(s, flush);
}

/* Levels 4-9: a match is taken only if the match starting one byte later is not longer. */
static BlockState deflate_slow(Deflate *s, int flush) {
    for (;;) {
        if (s->lookahead < MIN_LOOKAHEAD) {
            fill_window(s);
            if (s->lookahead < MIN_LOOKAHEAD && flush == NO_FLUSH) return NEED_MORE;
            if (s->lookahead == 0) break;
        }
        unsigned hash_head = 0;
        if (s->lookahead >= MIN_MATCH) hash_head = insert_string(s, s->strstart);
        s->prev_length = s->match_length;
        s->prev_match = s->match_start;
        s->match_length = MIN_MATCH - 1;
        if (hash_head != 0 && s->prev_length < s->max_lazy &&
            s->strstart - hash_head <= s->max_dist) {
            s->match_length = longest_match(s, hash_head);
            if (s->match_length <= 5 &&
                (s->strategy == FILTERED ||
                 (s->match_length == MIN_MATCH && s->strstart - s->match_start > TOO_FAR))) {
                s->match_length = MIN_MATCH - 1;
            }
        }
        if (s->prev_length >= MIN_MATCH && s->match_length <= s->prev_length) {
            unsigned max_insert = s->strstart + s->lookahead - MIN_MATCH;
            int full = tally_match(s, s->strstart - 1 - s->prev_match, s->prev_length - MIN_MATCH);
            s->lookahead -= s->prev_length - 1;
            s->prev_length -= 2;
            do {
                if (++s->strstart <= max_insert) insert_string(s, s->strstart);
            } while (--s->prev_length != 0);
            s->match_available = 0;
            s->match_length = MIN_MATCH - 1;
            s->strstart++;
            END_BLOCK_IF(full);
        } else if (s->match_available) {
            int full = tally_literal(s, s->window[s->strstart - 1]);
            END_BLOCK_IF(full);
            s->strstart++;
            s->lookahead--;
        } else {
            s->match_available = 1;
            s->strstart++;
            s->lookahead--;
        }
    }
    if (s->match_available) {
        tally_literal(s, s->window[s->strstart - 1]);
        s->match_available = 0;
    }
    return finish_pass(s, flush);
}

/* Strategy RLE: only matches at distance 1 (runs of one byte). */
static BlockState deflate_rle(Deflate *s, int flush) {
    for (;;) {
        if (s->lookahead <= MAX_MATCH) {
            fill_window(s);
            if (s->lookahead <= MAX_MATCH && flush == NO_FLUSH) return NEED_MORE;
            if (s->lookahead == 0) break;
        }
        s->match_length = 0;
        if (s->lookahead >= MIN_MATCH && s->strstart > 0) {
            const uint8_t *scan = s->window + s->strstart;
            uint8_t byte = scan[-1];
            if (scan[0] == byte && scan[1] == byte && scan[2] == byte) {
                unsigned len = 3;
                while (len < MAX_MATCH && scan[len] == byte) len++;
                s->match_length = len < s->lookahead ? len : s->lookahead;
            }
        }
        int full;
        if (s->match_length >= MIN_MATCH) {
            full = tally_match(s, 1, s->match_length - MIN_MATCH);
            s->lookahead -= s->match_length;
            s->strstart += s->match_length;
            s->match_length = 0;
        } else {
            full = tally_literal(s, s->window[s->strstart]);
            s->lookahead--;
            s->strstart++;
        }
        END_BLOCK_IF(full);
    }
    s->insert = 0;
    if (flush == FINISH) {
        end_block(s, 1);
        return FINISH_DONE;
    }
    if (s->sym_count) end_block(s, 0);
    return BLOCK_DONE;
}

/* Strategy HUFFMAN_ONLY: literals only. */
static BlockState deflate_huff(Deflate *s, int flush) {
    for (;;) {
        if (s->lookahead == 0) {
            fill_window(s);
            if (s->lookahead == 0) {
                if (flush == NO_FLUSH) return NEED_MORE;
                break;
            }
        }
        s->match_length = 0;
        int full = tally_literal(s, s->window[s->strstart]);
        s->lookahead--;
        s->strstart++;
        END_BLOCK_IF(full);
    }
    s->insert = 0;
    if (flush == FINISH) {
        end_block(s, 1);
        return FINISH_DONE;
    }
    if (s->sym_count) end_block(s, 0);
    return BLOCK_DONE;
}

/* ---- stream ---------------------------------------------------------------------------- */

static int flush_rank(int flush) { return flush * 2 - (flush > 4 ? 9 : 0); }

/* One call of zlib's deflate() with unlimited output room: consumes all of next_in. */
static void deflate_step(Deflate *s, int flush) {
    int old_flush = s->last_flush;
    s->last_flush = flush;
    if (s->avail_in == 0 && flush_rank(flush) <= flush_rank(old_flush) && flush != FINISH) return;
    if (s->avail_in == 0 && s->lookahead == 0 && flush == NO_FLUSH) return;
    BlockState state;
    if (s->strategy == HUFFMAN_ONLY)
        state = deflate_huff(s, flush);
    else if (s->strategy == RLE)
        state = deflate_rle(s, flush);
    else if (LEVELS[s->level].slow)
        state = deflate_slow(s, flush);
    else
        state = deflate_fast(s, flush);
    if (s->out_of_memory || s->halt || state != BLOCK_DONE) return;
    if (!reserve(s, 16)) return;
    stored_block(s, NULL, 0, 0); /* the empty stored block that marks a sync or full flush */
    if (flush == FULL_FLUSH) {
        memset(s->head, 0, sizeof(uint16_t) * (s->hash_mask + 1));
        if (s->lookahead == 0) {
            s->strstart = 0;
            s->block_start = 0;
            s->insert = 0;
        }
    }
}

/* Puts a preset dictionary (its last wsize bytes) in the window and its strings in the hash,
 * as history the first block may refer to but does not contain. */
static void set_dictionary(Deflate *s, const uint8_t *dict, size_t len) {
    if (len >= s->w_size) {
        dict += len - s->w_size;
        len = s->w_size;
    }
    s->next_in = dict;
    s->avail_in = len;
    fill_window(s);
    while (s->lookahead >= MIN_MATCH) {
        unsigned pos = s->strstart, n = s->lookahead - (MIN_MATCH - 1);
        do insert_string(s, pos++);
        while (--n);
        s->strstart = pos;
        s->lookahead = MIN_MATCH - 1;
        fill_window(s);
    }
    s->strstart += s->lookahead;
    s->block_start = (long)s->strstart;
    s->origin = (long)s->strstart;
    s->insert = s->lookahead;
    s->lookahead = 0;
    s->match_length = s->prev_length = MIN_MATCH - 1;
    s->match_available = 0;
    s->next_in = NULL;
    s->avail_in = 0;
}

static void deflate_free(Deflate *s) {
    free(s->window);
    free(s->prev);
    free(s->head);
    free(s->sym_dist);
    free(s->sym_lc);
    free(s->out);
    free(s->block_ends);
    memset(s, 0, sizeof *s);
}

static int deflate_init(Deflate *s, int level, int wbits, int mem_level, int strategy) {
    memset(s, 0, sizeof *s);
    if (wbits == 8) wbits = 9; /* zlib's rule: a 256-byte window is not supported */
    s->level = level;
    s->strategy = strategy;
    s->w_size = 1u << wbits;
    s->w_mask = s->w_size - 1;
    s->window_size = 2 * s->w_size;
    s->max_dist = s->w_size - MIN_LOOKAHEAD;
    unsigned hash_bits = (unsigned)mem_level + 7;
    s->hash_mask = (1u << hash_bits) - 1;
    s->hash_shift = (hash_bits + MIN_MATCH - 1) / MIN_MATCH;
    unsigned lit_bufsize = 1u << (mem_level + 6);
    s->sym_limit = lit_bufsize - 1;
    s->window = calloc(s->window_size + WINDOW_PAD, 1);
    s->prev = calloc(s->w_size, sizeof(uint16_t));
    s->head = calloc(s->hash_mask + 1, sizeof(uint16_t));
    s->sym_dist = malloc(sizeof(uint16_t) * lit_bufsize);
    s->sym_lc = malloc(lit_bufsize);
    if (!s->window || !s->prev || !s->head || !s->sym_dist || !s->sym_lc) {
        deflate_free(s);
        return 0;
    }
    const LevelConfig *cfg = &LEVELS[level];
    s->good_match = cfg->good;
    s->max_lazy = cfg->lazy;
    s->nice_match = cfg->nice;
    s->max_chain = cfg->chain;
    s->match_length = s->prev_length = MIN_MATCH - 1;
    s->last_flush = -2; /* as zlib: a first sync or full flush is never a repeat */
    s->stop_at = -1;
    s->stop_bits = -1;
    s->end_bits = -1;
    new_block(s);
    return 1;
}

/* ---- Python type ----------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    Deflate state;
    int ready;    /* initialised and not finished */
    int busy;     /* a call is running with the GIL released */
    int64_t *final_ends; /* the block ends not yet collected when the stream was finished */
    size_t final_count;
} DeflaterObject;

static int check_parameters(int level, int wbits, int mem_level, int strategy) {
    if (level < 1 || level > 9) {
        PyErr_Format(PyExc_ValueError, "deflate level %d is not supported (1 to 9)", level);
        return 0;
    }
    if (wbits < -15 || wbits > -8) {
        PyErr_Format(PyExc_ValueError, "wbits %d is not supported (raw deflate: -8 to -15)",
                     wbits);
        return 0;
    }
    if (mem_level < 1 || mem_level > 9) {
        PyErr_Format(PyExc_ValueError, "memLevel %d is not supported (1 to 9)", mem_level);
        return 0;
    }
    if (strategy < 0 || strategy > FIXED) {
        PyErr_Format(PyExc_ValueError, "strategy %d is not supported (0 to 4)", strategy);
        return 0;
    }
    return 1;
}

static int deflater_init(DeflaterObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"level",      "wbits", "mem_level", "strategy",
                               "zdict",      "track_blocks", NULL};
    int level, wbits, mem_level, strategy, track_blocks = 0;
    Py_buffer zdict = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iiii|y*$p", keywords, &level, &wbits,
                                     &mem_level, &strategy, &zdict, &track_blocks))
        return -1;
    int result = -1;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Deflater is in use by another thread");
        goto done;
    }
    if (level == -1) level = 6;
    if (!check_parameters(level, wbits, mem_level, strategy)) goto done;
    if (self->ready) {
        deflate_free(&self->state);
        self->ready = 0;
    }
    free(self->final_ends);
    self->final_ends = NULL;
    self->final_count = 0;
    if (!deflate_init(&self->state, level, -wbits, mem_level, strategy)) {
        PyErr_NoMemory();
        goto done;
    }
    if (zdict.buf != NULL) set_dictionary(&self->state, zdict.buf, (size_t)zdict.len);
    self->state.track_blocks = track_blocks;
    self->ready = 1;
    result = 0;
done:
    if (zdict.buf != NULL) PyBuffer_Release(&zdict);
    return result;
}

static void deflater_dealloc(DeflaterObject *self) {
    if (self->ready) deflate_free(&self->state);
    free(self->final_ends);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Runs one deflate step on data with the GIL released; returns the whole bytes produced. */
static PyObject *run(DeflaterObject *self, const uint8_t *data, size_t len, int flush) {
    if (!self->ready) {
        PyErr_SetString(PyExc_ValueError, "Deflater is finished (flushed with Z_FINISH)");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Deflater is in use by another thread");
        return NULL;
    }
    Deflate *s = &self->state;
    self->busy = 1;
    s->next_in = data;
    s->avail_in = len;
    Py_BEGIN_ALLOW_THREADS
    deflate_step(s, flush);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    s->next_in = NULL;
    s->avail_in = 0;
    if (s->out_of_memory) {
        deflate_free(s);
        self->ready = 0;
        return PyErr_NoMemory();
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)s->out, (Py_ssize_t)s->out_len);
    s->bytes_returned += s->out_len;
    s->out_len = 0;
    if (flush == FINISH) {
        self->final_ends = s->block_ends;
        self->final_count = s->block_count;
        s->block_ends = NULL;
        deflate_free(s);
        self->ready = 0;
    }
    return out;
}

static PyObject *deflater_compress(DeflaterObject *self, PyObject *arg) {
    Py_buffer data;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *out = run(self, data.buf, (size_t)data.len, NO_FLUSH);
    PyBuffer_Release(&data);
    return out;
}

static PyObject *deflater_flush(DeflaterObject *self, PyObject *args) {
    int mode = FINISH;
    if (!PyArg_ParseTuple(args, "|i", &mode)) return NULL;
    if (mode == NO_FLUSH) {
        if (!self->ready) return run(self, NULL, 0, NO_FLUSH);
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    if (mode != SYNC_FLUSH && mode != FULL_FLUSH && mode != FINISH) {
        PyErr_Format(PyExc_ValueError,
                     "flush mode %d is not supported (Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH or "
                     "Z_FINISH)",
                     mode);
        return NULL;
    }
    return run(self, NULL, 0, mode);
}

static PyObject *deflater_block_ends(DeflaterObject *self, PyObject *unused) {
    Deflate *s = &self->state;
    const int64_t *ends = self->ready ? s->block_ends : self->final_ends;
    size_t count = self->ready ? s->block_count : self->final_count;
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL) return NULL;
    for (size_t i = 0; i < count; i++) {
        PyObject *pair = Py_BuildValue("(LL)", (long long)ends[2 * i], (long long)ends[2 * i + 1]);
        if (pair == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, pair);
    }
    if (self->ready) {
        s->block_count = 0;
    } else {
        free(self->final_ends);
        self->final_ends = NULL;
        self->final_count = 0;
    }
    return list;
}

static PyMethodDef deflater_methods[] = {
    {"block_ends", (PyCFunction)deflater_block_ends, METH_NOARGS,
     "block_ends() -> [(content offset, bit offset)]: ends of the non-final blocks written "
     "since the last call (track_blocks=True only)"},
    {"compress", (PyCFunction)deflater_compress, METH_O,
     "compress(data) -> bytes: feed data; returns the compressed bytes completed so far"},
    {"flush", (PyCFunction)deflater_flush, METH_VARARGS,
     "flush(mode=Z_FINISH) -> bytes: Z_SYNC_FLUSH, Z_FULL_FLUSH or Z_FINISH (ends the stream)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DeflaterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lkvault.vault.format._deflate.Deflater",
    .tp_basicsize = sizeof(DeflaterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Deflater(level, wbits, mem_level, strategy, zdict=None): raw deflate, "
              "bit-identical to stock zlib",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)deflater_init,
    .tp_dealloc = (destructor)deflater_dealloc,
    .tp_methods = deflater_methods,
};

/* segment(level, wbits, mem_level, strategy, zdict, data, stop, at_end)
 *     -> (bytes, nbits) | None
 * Deflates `data` after the preset dictionary `zdict` and returns the output bits up to the
 * end of the block that ends at content offset `stop` (nbits of them; the last byte padded
 * with zeros), or None when no block ends there. stop = -1: the whole stream (at_end must be
 * true), nbits excluding the final padding. at_end: data reaches the end of the content (it
 * is then flushed with Z_FINISH, else only compressed). */
static PyObject *deflate_segment(PyObject *module, PyObject *args) {
    int level, wbits, mem_level, strategy, at_end;
    long stop;
    Py_buffer zdict, data;
    if (!PyArg_ParseTuple(args, "iiiiy*y*lp", &level, &wbits, &mem_level, &strategy, &zdict,
                          &data, &stop, &at_end))
        return NULL;
    PyObject *result = NULL;
    Deflate *s = NULL;
    if (!check_parameters(level, wbits, mem_level, strategy)) goto done;
    if (stop < -1 || (stop == -1 && !at_end) || stop > data.len) {
        PyErr_SetString(PyExc_ValueError, "segment: stop must be -1 (with at_end) or in data");
        goto done;
    }
    s = PyMem_RawMalloc(sizeof *s);
    if (s == NULL || !deflate_init(s, level, -wbits, mem_level, strategy)) {
        PyMem_RawFree(s);
        s = NULL;
        PyErr_NoMemory();
        goto done;
    }
    if (zdict.len) set_dictionary(s, zdict.buf, (size_t)zdict.len);
    s->stop_at = stop;
    s->next_in = data.buf;
    s->avail_in = (size_t)data.len;
    Py_BEGIN_ALLOW_THREADS
    deflate_step(s, at_end ? FINISH : NO_FLUSH);
    Py_END_ALLOW_THREADS
    if (s->out_of_memory) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t nbits = stop == -1 ? s->end_bits : s->stop_bits;
    if (nbits < 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (!reserve(s, 8)) {
        PyErr_NoMemory();
        goto done;
    }
    align_to_byte(s); /* bits past nbits are cut below, or are the final padding */
    size_t nbytes = (size_t)((nbits + 7) / 8);
    if (nbits % 8) s->out[nbytes - 1] &= (uint8_t)((1u << (nbits % 8)) - 1);
    result = Py_BuildValue("(y#L)", (const char *)s->out, (Py_ssize_t)nbytes, (long long)nbits);
done:
    if (s != NULL) {
        deflate_free(s);
        PyMem_RawFree(s);
    }
    PyBuffer_Release(&zdict);
    PyBuffer_Release(&data);
    return result;
}

/* append_bits(carry, carry_bits, data, nbits) -> (bytes, carry, carry_bits)
 * The whole bytes of the bit string `carry` (carry_bits < 8 bits) followed by the first
 * nbits of data (deflate order: least significant bit first), and the bits left over. */
static PyObject *deflate_append_bits(PyObject *module, PyObject *args) {
    unsigned carry;
    int carry_bits;
    long long nbits;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "Iiy*L", &carry, &carry_bits, &data, &nbits)) return NULL;
    if (carry_bits < 0 || carry_bits > 7 || nbits < 0 || (nbits + 7) / 8 > data.len) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "append_bits: bad carry or bit count");
        return NULL;
    }
    Py_ssize_t out_len = (Py_ssize_t)((carry_bits + nbits) / 8);
    PyObject *out = PyBytes_FromStringAndSize(NULL, out_len);
    if (out == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    const uint8_t *in = data.buf;
    uint32_t acc = carry & ((1u << carry_bits) - 1);
    int accbits = carry_bits;
    Py_ssize_t k = 0;
    long long whole = nbits / 8;
    for (long long j = 0; j < whole; j++) {
        acc |= (uint32_t)in[j] << accbits;
        o[k++] = (uint8_t)acc;
        acc >>= 8;
    }
    int rest = (int)(nbits % 8);
    if (rest) {
        acc |= (uint32_t)(in[whole] & ((1u << rest) - 1)) << accbits;
        accbits += rest;
        if (accbits >= 8) {
            o[k++] = (uint8_t)acc;
            acc >>= 8;
            accbits -= 8;
        }
    }
    PyBuffer_Release(&data);
    return Py_BuildValue("(NIi)", out, (unsigned)acc, accbits);
}

/* bits_equal(a, a_bit, b, nbits) -> bool: a's bits [a_bit, a_bit + nbits) equal b's first
 * nbits (a must hold them all). */
static PyObject *deflate_bits_equal(PyObject *module, PyObject *args) {
    Py_buffer a, b;
    long long a_bit, nbits;
    if (!PyArg_ParseTuple(args, "y*Ly*L", &a, &a_bit, &b, &nbits)) return NULL;
    int equal = 0;
    if (a_bit < 0 || nbits < 0 || (a_bit + nbits + 7) / 8 > a.len || (nbits + 7) / 8 > b.len) {
        PyErr_SetString(PyExc_ValueError, "bits_equal: range outside the data");
        PyBuffer_Release(&a);
        PyBuffer_Release(&b);
        return NULL;
    }
    const uint8_t *pa = (const uint8_t *)a.buf + a_bit / 8, *pb = b.buf;
    int shift = (int)(a_bit % 8);
    long long whole = nbits / 8;
    int rest = (int)(nbits % 8);
    equal = 1;
    for (long long j = 0; j < whole && equal; j++) {
        unsigned v = pa[j] >> shift;
        if (shift) v |= (unsigned)pa[j + 1] << (8 - shift);
        equal = (uint8_t)v == pb[j];
    }
    if (equal && rest) {
        unsigned v = pa[whole] >> shift;
        if (shift + rest > 8) v |= (unsigned)pa[whole + 1] << (8 - shift);
        equal = ((v ^ pb[whole]) & ((1u << rest) - 1)) == 0;
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return PyBool_FromLong(equal);
}

/* ---- block scanner: where the blocks of a raw deflate stream end ----------------------- */

#define FAST_BITS 10

typedef struct {
    uint16_t count[MAX_BITS + 1]; /* codes of each length */
    uint16_t symbol[320];         /* symbols ordered by code (canonical order) */
    uint16_t fast[1 << FAST_BITS]; /* next FAST_BITS bits -> symbol << 4 | length; 0: slow */
} Huffman;

typedef struct {
    const uint8_t *data;
    size_t len, pos; /* pos: next byte to load into bits */
    uint64_t bits;
    int nbits;
    int error;
} BitReader;

static inline void refill(BitReader *r) {
    while (r->nbits <= 56) {
        if (r->pos < r->len) {
            r->bits |= (uint64_t)r->data[r->pos++] << r->nbits;
        } else if (r->pos < r->len + 8) {
            r->pos++; /* zeros past the end: reading them is an error, found in bit_offset() */
        } else {
            break;
        }
        r->nbits += 8;
    }
}

static inline unsigned take(BitReader *r, int n) {
    if (r->nbits < n) refill(r);
    if (r->nbits < n) {
        r->error = 1;
        return 0;
    }
    unsigned v = (unsigned)(r->bits & ((1ull << n) - 1));
    r->bits >>= n;
    r->nbits -= n;
    return v;
}

/* Bits consumed so far; past the data's end means the stream was cut short. */
static inline int64_t bit_offset(const BitReader *r) {
    return (int64_t)r->pos * 8 - r->nbits;
}

/* Builds a decoder from code lengths; 0 if the code is over-subscribed (an incomplete code is
 * accepted, and a bit pattern outside it is an error when met). */
static int huffman_build(Huffman *h, const uint8_t *lens, int n) {
    uint16_t offs[MAX_BITS + 2];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[lens[i]]++;
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return 0;
    }
    offs[1] = 0;
    for (int len = 1; len < MAX_BITS; len++) offs[len + 1] = offs[len] + h->count[len];
    for (int i = 0; i < n; i++)
        if (lens[i]) h->symbol[offs[lens[i]]++] = (uint16_t)i;
    memset(h->fast, 0, sizeof h->fast);
    unsigned code = 0, index = 0;
    for (int len = 1; len <= FAST_BITS; len++) {
        for (unsigned k = 0; k < h->count[len]; k++, code++, index++) {
            unsigned rev = reverse_bits(code, len);
            for (unsigned fill = rev; fill < (1u << FAST_BITS); fill += 1u << len)
                h->fast[fill] = (uint16_t)(h->symbol[index] << 4 | len);
        }
        code <<= 1;
    }
    return 1;
}

static int huffman_decode(BitReader *r, const Huffman *h) {
    if (r->nbits < MAX_BITS) refill(r);
    unsigned entry = h->fast[r->bits & ((1u << FAST_BITS) - 1)];
    if (entry != 0 && (int)(entry & 15) <= r->nbits) {
        r->bits >>= entry & 15;
        r->nbits -= (int)(entry & 15);
        return (int)(entry >> 4);
    }
    /* canonical decoding, one bit at a time (codes longer than FAST_BITS) */
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        code |= (int)take(r, 1);
        if (r->error) return -1;
        int count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    r->error = 1;
    return -1;
}

static int read_dynamic_codes(BitReader *r, Huffman *lit, Huffman *dist) {
    uint8_t lens[L_CODES + 2 + D_CODES + 2];
    unsigned nlen = take(r, 5) + 257, ndist = take(r, 5) + 1, ncode = take(r, 4) + 4;
    if (r->error || nlen > 286 || ndist > 30) return 0;
    uint8_t cl[BL_CODES] = {0};
    for (unsigned i = 0; i < ncode; i++) cl[BL_ORDER[i]] = (uint8_t)take(r, 3);
    Huffman lencode;
    if (r->error || !huffman_build(&lencode, cl, BL_CODES)) return 0;
    unsigned i = 0;
    while (i < nlen + ndist) {
        int sym = huffman_decode(r, &lencode);
        if (sym < 0) return 0;
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        unsigned repeat, value = 0;
        if (sym == 16) {
            if (i == 0) return 0;
            value = lens[i - 1];
            repeat = 3 + take(r, 2);
        } else if (sym == 17) {
            repeat = 3 + take(r, 3);
        } else {
            repeat = 11 + take(r, 7);
        }
        if (r->error || i + repeat > nlen + ndist) return 0;
        while (repeat--) lens[i++] = (uint8_t)value;
    }
    if (lens[END_BLOCK] == 0) return 0;
    return huffman_build(lit, lens, (int)nlen) && huffman_build(dist, lens + nlen, (int)ndist);
}

/* Decodes one compressed block's symbols, counting content; 0 on malformed data. */
static int skim_block(BitReader *r, const Huffman *lit, const Huffman *dist, int64_t *content) {
    for (;;) {
        int sym = huffman_decode(r, lit);
        if (sym < 0) return 0;
        if (sym < 256) {
            (*content)++;
        } else if (sym == END_BLOCK) {
            return 1;
        } else {
            sym -= 257;
            if (sym >= LENGTH_CODES) return 0;
            unsigned length = (sym == 28 ? 255u : length_base[sym]) + 3 + take(r, EXTRA_LBITS[sym]);
            int dsym = huffman_decode(r, dist);
            if (dsym < 0 || dsym >= D_CODES) return 0;
            unsigned distance = dist_base[dsym] + 1 + take(r, EXTRA_DBITS[dsym]);
            if (r->error || (int64_t)distance > *content) return 0;
            *content += length;
        }
    }
}

/* scan_blocks(data, bit, content, final) -> ([(content offset, bit offset)], done) | None
 * The end of every block but the last of a raw deflate stream, as the compressor that wrote
 * it would report them (vault/format/restarts.py), read from `data`, one piece of the stream:
 * parsing starts at bit `bit` of data, at a block boundary where `content` bytes of content
 * came before. Offsets returned count from data[0] (bits) and from the stream's start
 * (content). done: the final block was read. With final false, a block that data cuts short
 * ends the scan (done false: scan on from the last end, with more data); with final true it
 * makes the stream malformed. None: malformed (a distance may not reach before the stream's
 * start: no preset dictionary). */
static PyObject *deflate_scan_blocks(PyObject *module, PyObject *args) {
    Py_buffer data;
    long long start_bit, start_content;
    int final;
    if (!PyArg_ParseTuple(args, "y*LLp", &data, &start_bit, &start_content, &final)) return NULL;
    if (start_bit < 0 || start_content < 0 || start_bit > (long long)data.len * 8) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "scan_blocks: start outside the data");
        return NULL;
    }
    BitReader r = {data.buf, (size_t)data.len, 0, 0, 0, 0};
    int64_t content = start_content, *ends = NULL;
    size_t count = 0, cap = 0;
    int ok = 1, last = 0, nomem = 0, cut_short = 0;
    Huffman *codes = PyMem_RawMalloc(2 * sizeof(Huffman));
    if (codes == NULL) {
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    Huffman fixed_lit, fixed_dist;
    {
        uint8_t lens[L_CODES + 2];
        for (int n = 0; n < L_CODES + 2; n++) lens[n] = (uint8_t)fixed_llen[n];
        huffman_build(&fixed_lit, lens, L_CODES + 2);
        for (int n = 0; n < D_CODES; n++) lens[n] = 5;
        huffman_build(&fixed_dist, lens, D_CODES);
    }
    r.pos = (size_t)(start_bit / 8);
    take(&r, (int)(start_bit % 8));
    while (ok && !last) {
        last = (int)take(&r, 1);
        unsigned type = take(&r, 2);
        if (r.error) {
            ok = 0;
        } else if (type == 0) {
            int drop = r.nbits % 8; /* to the byte boundary */
            take(&r, drop);
            unsigned len = take(&r, 16), nlen = take(&r, 16);
            int64_t at = bit_offset(&r) / 8; /* byte aligned here */
            if (r.error || (len ^ 0xffff) != nlen || at + (int64_t)len > (int64_t)r.len) {
                ok = 0;
            } else { /* skip the stored bytes: read on from just after them */
                r.pos = (size_t)at + len;
                r.bits = 0;
                r.nbits = 0;
                content += len;
            }
        } else if (type == 1) {
            ok = skim_block(&r, &fixed_lit, &fixed_dist, &content);
        } else if (type == 2) {
            ok = read_dynamic_codes(&r, &codes[0], &codes[1]) &&
                 skim_block(&r, &codes[0], &codes[1], &content);
        } else {
            ok = 0;
        }
        if (ok && (r.error || bit_offset(&r) > (int64_t)r.len * 8)) ok = 0;
        if (!ok) {
            /* in a piece that is not the last, take it that data cut the block short: the
             * caller scans on from the last end with more data, until the piece is final */
            cut_short = !final;
            break;
        }
        if (!last) {
            if (count == cap) {
                cap = cap ? 2 * cap : 256;
                int64_t *grown = realloc(ends, cap * 2 * sizeof(int64_t));
                if (grown == NULL) {
                    nomem = 1;
                    ok = 0;
                    break;
                }
                ends = grown;
            }
            ends[2 * count] = content;
            ends[2 * count + 1] = bit_offset(&r);
            count++;
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(codes);
    PyBuffer_Release(&data);
    PyObject *result = NULL, *list = NULL;
    if (nomem) {
        PyErr_NoMemory();
    } else if (!ok && !cut_short) {
        result = Py_NewRef(Py_None);
    } else if ((list = PyList_New((Py_ssize_t)count)) != NULL) {
        for (size_t i = 0; i < count; i++) {
            PyObject *pair = Py_BuildValue("(LL)", (long long)ends[2 * i], (long long)ends[2 * i + 1]);
            if (pair == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, pair);
        }
        if (list != NULL) result = Py_BuildValue("(NO)", list, ok ? Py_True : Py_False);
    }
    free(ends);
    return result;
}

static PyMethodDef module_methods[] = {
    {"segment", deflate_segment, METH_VARARGS,
     "segment(level, wbits, mem_level, strategy, zdict, data, stop, at_end) -> "
     "(bytes, nbits) | None"},
    {"append_bits", deflate_append_bits, METH_VARARGS,
     "append_bits(carry, carry_bits, data, nbits) -> (bytes, carry, carry_bits)"},
    {"bits_equal", deflate_bits_equal, METH_VARARGS,
     "bits_equal(a, a_bit, b, nbits) -> bool"},
    {"scan_blocks", deflate_scan_blocks, METH_VARARGS,
     "scan_blocks(data, bit, content, final) -> ([(content offset, bit offset)], done) | None: "
     "where the non-final blocks of a piece of a raw deflate stream end"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef deflate_module = {
    PyModuleDef_HEAD_INIT, "lkvault.vault.format._deflate",
    "Raw deflate compressor bit-identical to stock zlib (see vault/format/deflater.py).", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__deflate(void) {
    init_tables();
    if (PyType_Ready(&DeflaterType) < 0) return NULL;
    PyObject *module = PyModule_Create(&deflate_module);
    if (module == NULL) return NULL;
    Py_INCREF(&DeflaterType);
    if (PyModule_AddObject(module, "Deflater", (PyObject *)&DeflaterType) < 0) {
        Py_DECREF(&DeflaterType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
