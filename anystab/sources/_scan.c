/* Compiled hot loops of the MRT pre-filter and the UPDATE slimming; the reference is the Python code.
 *
 * scan_piece(buf, tables) does, for one piece of decompressed bytes, what prefilter._piece_records does
 * (see prefilter.py's module docstring for the steps):
 *
 * 1. Walk the 12-byte MRT headers and note where each whole record starts; a length above
 *    MAX_RECORD_LEN stops the walk. Bytes past the end of the last whole record read as zero (the
 *    Python code pads the walked bytes the same way).
 * 2. Count records, RIB records, BGP4MP records and unreadable types (first offset and count per type).
 * 3. Keep PEER_INDEX_TABLE records and BGP4MP state changes; judge TABLE_DUMP / TABLE_DUMP_V2 RIB records
 *    by their one prefix at its fixed place (a record too short for it is kept).
 * 4. In every other record, a position is a candidate when its (length byte, first address byte) pair is
 *    set in the 65,536-entry table, and a hit when the length byte and the next 7 bytes, masked to the
 *    length, are a wanted cover key or start with a target's first L bits (more-specifics). Bytes past
 *    the record's end read as zero, here and for the fixed-place prefixes of step 3: what a record's
 *    hits are never depends on the record after it, nor so on where a piece ends.
 * 5. In BGP4MP message records, a hit counts only inside the withdrawn routes, the NLRI after the
 *    attributes or the NLRI part of an MP_REACH / MP_UNREACH attribute (at most MAX_ATTRIBUTES walked);
 *    a record whose framing does not add up keeps every hit, a well-framed non-UPDATE none. So the
 *    framing is read first and only those lists are scanned (the same hits, fewer bytes).
 * 6. A record with a hit left is kept, with its hits as offsets from its first byte,
 * 7. unless it is a BGP4MP message record that slimming would drop at once (could_slim_keep, the twin of
 *    slim.could_keep: a well-framed non-UPDATE, or a regular UPDATE in which no list entry starts at a
 *    hit; prefilter.py step 7).
 *
 * The walk and the scan run without the GIL; Python objects are built afterwards.
 *
 * slim_plan(record, hits) does the framing part of slim.Slimmer.slim (slim.py, steps 1, 2 and 4): it
 * returns None for a well-framed message that is not an UPDATE, the record itself when its framing is
 * irregular, else (msg offset, probes, walk_irregular, lists) where probes are the (version, start,
 * stop) NLRI readings at hits inside a list (step 3) and lists hold (version, entry count, entries at a
 * hit as (entry start, length byte offset, stop)). The exact per-prefix test stays in Python. A regular
 * UPDATE in which no list entry starts at a hit gives None at once: steps 3-5 would drop it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN 12
#define LENGTH_OFFSET 8
#define MAX_RECORD_LEN (1LL << 24)
#define WINDOW_BYTES 8
#define PAYLOAD_MASK ((1ULL << 56) - 1)
#define PAIRS 65536
#define MASKS 256
#define TABLE_DUMP 12
#define TABLE_DUMP_V2 13
#define BGP4MP 16
#define BGP4MP_ET 17
#define PEER_INDEX_TABLE 1
#define TD2_PREFIX_OFFSET (HEADER_LEN + 4)
#define TD1_ADDR_OFFSET (HEADER_LEN + 4)
#define ET_BYTES 4
#define BGP_HEADER_LEN 19
#define BGP_LENGTH_OFFSET 16
#define BGP_TYPE_OFFSET 18
#define BGP_UPDATE 2
#define ATTR_MP_REACH 14
#define ATTR_MP_UNREACH 15
#define FLAG_EXTENDED 0x10
#define MAX_ATTRIBUTES 64
#define PATH_ID_BYTES 4
#define IPV6_DOUBLE_NEXT_HOP 32
#define CAPSULE_NAME "anystab.sources._scan.tables"

/* ---- small growable arrays ------------------------------------------------------------------------ */

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} Vec;

static int vec_push(Vec *a, int64_t x) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? 2 * a->cap : 256;
        int64_t *v = realloc(a->v, (size_t)cap * sizeof(int64_t));
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* ---- the scanner's tables ------------------------------------------------------------------------- */

/* A set of 64-bit keys: open addressing in a table at most half full. No stored key is all ones (cover
 * keys have a length byte of at most 128, "more" values a zero top byte), so all ones marks a free slot.
 * A bit per value of a key's bits 40-55 (an address's first 16 bits, in a cover key and in a "more"
 * value alike) answers most misses without a probe: with thousands of targets the tables outgrow the
 * caches, and a candidate is looked up in one per target length. */
typedef struct {
    uint64_t *slots;
    uint64_t mask;
    int shift;
    uint64_t *first16; /* FIRST16_WORDS words */
} KeySet;

#define FIRST16_WORDS (65536 / 64)

#define FREE_SLOT UINT64_MAX
#define HASH_MULTIPLIER 0x9E3779B97F4A7C15ULL

static void keyset_release(KeySet *k) {
    free(k->slots);
    free(k->first16);
}

static int keyset_init(KeySet *k, const uint64_t *keys, Py_ssize_t n) {
    uint64_t size = 16;
    int bits = 4;
    while (size < 2 * (uint64_t)n) {
        size *= 2;
        bits++;
    }
    k->slots = malloc(size * sizeof(uint64_t));
    k->first16 = calloc(FIRST16_WORDS, sizeof(uint64_t));
    if (!k->slots || !k->first16) {
        keyset_release(k);
        k->slots = k->first16 = NULL;
        return -1;
    }
    memset(k->slots, 0xff, size * sizeof(uint64_t));
    k->mask = size - 1;
    k->shift = 64 - bits;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t at = (keys[i] * HASH_MULTIPLIER) >> k->shift;
        while (k->slots[at] != FREE_SLOT && k->slots[at] != keys[i]) at = (at + 1) & k->mask;
        k->slots[at] = keys[i];
        unsigned first = (unsigned)(keys[i] >> 40) & 0xFFFF;
        k->first16[first >> 6] |= 1ULL << (first & 63);
    }
    return 0;
}

static inline int keyset_has(const KeySet *k, uint64_t x) {
    unsigned first = (unsigned)(x >> 40) & 0xFFFF;
    if (!(k->first16[first >> 6] >> (first & 63) & 1)) return 0;
    uint64_t at = (x * HASH_MULTIPLIER) >> k->shift;
    for (;;) {
        uint64_t slot = k->slots[at];
        if (slot == x) return 1;
        if (slot == FREE_SLOT) return 0;
        at = (at + 1) & k->mask;
    }
}

/* More-specifics of the targets of one length: a candidate whose length byte is in [length, top] and
 * whose first `length` bits are a target's. */
typedef struct {
    unsigned length, top;
    uint64_t mask;
    KeySet values;
} Group;

typedef struct {
    uint8_t pairs[PAIRS]; /* index (length byte << 8) | first address byte */
    uint64_t pair_bits[PAIRS / 64]; /* the same as bits: small enough for the L1 cache */
    uint64_t len_mask[MASKS];
    uint8_t more_len[MASKS]; /* whether some group's [length, top] holds this length byte */
    KeySet covers;
    Group *groups;
    Py_ssize_t ngroups;
} Tables;

static void tables_release(Tables *t) {
    if (!t) return;
    keyset_release(&t->covers);
    for (Py_ssize_t i = 0; i < t->ngroups; i++) keyset_release(&t->groups[i].values);
    free(t->groups);
    free(t);
}

static void tables_free(PyObject *capsule) { tables_release(PyCapsule_GetPointer(capsule, CAPSULE_NAME)); }

/* The groups from their flat form: length, top, mask, count, then count values, per group. */
static int make_groups(Tables *t, const uint64_t *more, Py_ssize_t n) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i + 4 <= n; i += 4 + (Py_ssize_t)more[i + 3]) count++;
    t->groups = calloc((size_t)count + 1, sizeof(Group));
    if (!t->groups) return -1;
    for (Py_ssize_t i = 0; i + 4 <= n; i += 4 + (Py_ssize_t)more[i + 3]) {
        Group *g = &t->groups[t->ngroups];
        g->length = (unsigned)more[i];
        g->top = (unsigned)more[i + 1];
        g->mask = more[i + 2];
        Py_ssize_t values = (Py_ssize_t)more[i + 3];
        if (i + 4 + values > n || keyset_init(&g->values, more + i + 4, values) < 0) return -1;
        t->ngroups++;
        for (unsigned len = g->length; len <= g->top && len < MASKS; len++) t->more_len[len] = 1;
    }
    return 0;
}

static PyObject *make_tables(PyObject *self, PyObject *args) {
    Py_buffer pairs, masks, covers, more;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &pairs, &masks, &covers, &more)) return NULL;
    PyObject *out = NULL;
    Tables *t = NULL;
    if (pairs.len != PAIRS || masks.len != MASKS * (Py_ssize_t)sizeof(uint64_t)) {
        PyErr_SetString(PyExc_ValueError, "pairs must be 65536 bytes and len_mask 256 uint64");
        goto done;
    }
    t = calloc(1, sizeof(Tables));
    if (!t || keyset_init(&t->covers, covers.buf, covers.len / (Py_ssize_t)sizeof(uint64_t)) < 0 ||
        make_groups(t, more.buf, more.len / (Py_ssize_t)sizeof(uint64_t)) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(t->pairs, pairs.buf, PAIRS);
    for (int i = 0; i < PAIRS; i++)
        if (t->pairs[i]) t->pair_bits[i >> 6] |= 1ULL << (i & 63);
    memcpy(t->len_mask, masks.buf, sizeof(t->len_mask));
    out = PyCapsule_New(t, CAPSULE_NAME, tables_free);
done:
    if (!out) tables_release(t);
    PyBuffer_Release(&pairs);
    PyBuffer_Release(&masks);
    PyBuffer_Release(&covers);
    PyBuffer_Release(&more);
    return out;
}

/* Scanner.match_windows for one (length byte, big-endian 8-byte window) candidate. */
static int match_window(const Tables *t, unsigned len, uint64_t window) {
    if (keyset_has(&t->covers, window & t->len_mask[len])) return 1;
    if (!t->more_len[len]) return 0;
    uint64_t payload = window & PAYLOAD_MASK;
    for (Py_ssize_t i = 0; i < t->ngroups; i++) {
        const Group *g = &t->groups[i];
        if (len >= g->length && len <= g->top && keyset_has(&g->values, payload & g->mask)) return 1;
    }
    return 0;
}

/* ---- one piece ------------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *buf;
    Py_ssize_t end; /* end of the last whole record: bytes from here on read as zero */
} Bytes;

static inline unsigned byte_at(const Bytes *b, int64_t i) { return i < b->end ? b->buf[i] : 0; }

static inline unsigned u16_at(const Bytes *b, int64_t i) { return byte_at(b, i) << 8 | byte_at(b, i + 1); }

static inline uint64_t window_at(const Bytes *b, int64_t i) {
    uint64_t w = 0;
    if (i + WINDOW_BYTES <= b->end) {
        const uint8_t *p = b->buf + i;
        for (int k = 0; k < WINDOW_BYTES; k++) w = w << 8 | p[k];
        return w;
    }
    for (int k = 0; k < WINDOW_BYTES; k++) w = w << 8 | byte_at(b, i + k);
    return w;
}

typedef struct {
    int64_t type, first, count;
} Skipped;

typedef struct {
    int64_t end, bad_offset, records, rib, updates, first_start, last_start;
    Vec starts, kept, hits; /* kept: (start, stop, first hit, hit end) per kept record */
    Skipped *skipped;
    Py_ssize_t nskipped;
} Piece;

static void piece_free(Piece *pc) {
    free(pc->starts.v);
    free(pc->kept.v);
    free(pc->hits.v);
    free(pc->skipped);
}

static int note_skipped(Piece *pc, int64_t type, int64_t start) {
    for (Py_ssize_t i = 0; i < pc->nskipped; i++) {
        if (pc->skipped[i].type == type) {
            pc->skipped[i].count++;
            return 0;
        }
    }
    Skipped *s = realloc(pc->skipped, (size_t)(pc->nskipped + 1) * sizeof(Skipped));
    if (!s) return -1;
    pc->skipped = s;
    s[pc->nskipped++] = (Skipped){type, start, 1};
    return 0;
}

static int is_message_subtype(unsigned sub) {
    return sub == 1 || sub == 4 || sub == 6 || sub == 7 || sub == 8 || sub == 9 || sub == 10 || sub == 11;
}

static int is_as4_subtype(unsigned sub) { return sub == 4 || sub == 7 || sub == 9 || sub == 11; }

static int is_td2_prefix_subtype(unsigned sub) { return (sub >= 2 && sub <= 5) || (sub >= 8 && sub <= 11); }

/* The NLRI regions of a BGP4MP message record (step 5); bad = framing does not add up. */
typedef struct {
    int bad, update;
    int64_t wstart, wend, aend, end;
    int64_t lo[MAX_ATTRIBUTES], hi[MAX_ATTRIBUTES];
    int nranges;
} Regions;

static void message_regions(const Bytes *b, int64_t s, int64_t e, unsigned type, unsigned sub, Regions *r) {
    int64_t pos = s + HEADER_LEN + (type == BGP4MP_ET ? ET_BYTES : 0) + (is_as4_subtype(sub) ? 8 : 4);
    unsigned afi = u16_at(b, pos + 2);
    int64_t msg = pos + 4 + 2 * (afi == 2 ? 16 : 4);
    r->end = e;
    r->wstart = msg + BGP_HEADER_LEN + 2;
    r->wend = r->wstart + u16_at(b, r->wstart - 2);
    int64_t astart = r->wend + 2;
    r->aend = astart + u16_at(b, r->wend);
    r->bad = (afi != 1 && afi != 2) || msg + u16_at(b, msg + BGP_LENGTH_OFFSET) != e || r->aend > e;
    r->update = byte_at(b, msg + BGP_TYPE_OFFSET) == BGP_UPDATE;
    r->nranges = 0;
    if (r->bad) return;
    int64_t p = astart;
    for (int k = 0; k < MAX_ATTRIBUTES && p < r->aend; k++) {
        unsigned flags = byte_at(b, p), code = byte_at(b, p + 1);
        int wide = (flags & FLAG_EXTENDED) != 0;
        int64_t size = wide ? u16_at(b, p + 2) : byte_at(b, p + 2);
        int64_t body = p + 3 + wide, stop = body + size;
        if (code == ATTR_MP_REACH || code == ATTR_MP_UNREACH) {
            r->lo[r->nranges] = code == ATTR_MP_REACH ? body + 5 + byte_at(b, body + 3) : body + 3;
            r->hi[r->nranges++] = stop;
        }
        if (stop > r->aend) r->bad = 1;
        p = stop;
        if (r->bad) break;
    }
    if (p != r->aend) r->bad = 1;
}

/* Step 4 over positions [from, to): push the hits. */
static int scan_range(const Bytes *b, const Tables *t, int64_t from, int64_t to, Vec *hits) {
    int64_t last = to < b->end ? to : b->end - 1; /* positions before `last` have a real next byte */
    for (int64_t p = from; p < last; p++) {
        const uint8_t *q = b->buf + p;
        unsigned pair = (unsigned)q[0] << 8 | q[1];
        if ((t->pair_bits[pair >> 6] >> (pair & 63) & 1) && match_window(t, q[0], window_at(b, p)))
            if (vec_push(hits, p) < 0) return -1;
    }
    for (int64_t p = last > from ? last : from; p < to; p++) {
        unsigned len = byte_at(b, p);
        if (t->pairs[len << 8 | byte_at(b, p + 1)] && match_window(t, len, window_at(b, p)))
            if (vec_push(hits, p) < 0) return -1;
    }
    return 0;
}

/* Steps 4-6 for one scanned record: push its hits; return how many (-1: out of memory). In a well-framed
 * BGP4MP message only the NLRI lists are scanned: a hit elsewhere would not count (step 5). */
static Py_ssize_t scan_record(const Bytes *b, const Tables *t, int64_t s, int64_t e, unsigned type, unsigned sub,
                              Vec *hits) {
    Py_ssize_t first = hits->n;
    const Bytes rec = {b->buf, e}; /* the record's bytes alone: past its end, zeros (step 4) */
    Regions r; /* not zero-filled: 1 KB of ranges per record; only the first nranges are read */
    r.bad = 1;
    if ((type == BGP4MP || type == BGP4MP_ET) && is_message_subtype(sub)) message_regions(b, s, e, type, sub, &r);
    if (r.bad) return scan_range(&rec, t, s, e, hits) < 0 ? -1 : hits->n - first;
    if (!r.update) return 0;
    if (scan_range(&rec, t, r.wstart, r.wend, hits) < 0) return -1;
    for (int k = 0; k < r.nranges; k++)
        if (r.lo[k] < r.hi[k] && scan_range(&rec, t, r.lo[k], r.hi[k], hits) < 0) return -1;
    if (scan_range(&rec, t, r.aend, e, hits) < 0) return -1;
    return hits->n - first;
}

/* Step 3: a RIB record's one prefix, read where it is written. */
static int fixed_prefix_kept(const Bytes *piece, const Tables *t, int64_t s, int64_t e, unsigned type,
                             unsigned sub) {
    const Bytes rec = {piece->buf, e}, *b = &rec; /* the record's bytes alone (step 4) */
    if (type == TABLE_DUMP_V2) {
        int64_t at = s + TD2_PREFIX_OFFSET;
        return at >= e || match_window(t, byte_at(b, at), window_at(b, at));
    }
    if (sub != 1 && sub != 2) return 0;
    int addr_len = sub == 1 ? 4 : 16;
    int64_t addr = s + TD1_ADDR_OFFSET;
    if (addr + addr_len >= e) return 1;
    unsigned len = byte_at(b, addr + addr_len);
    uint64_t window = 0;
    for (int k = 0; k < WINDOW_BYTES - 1; k++) window = window << 8 | (k < addr_len ? byte_at(b, addr + k) : 0);
    return match_window(t, len, window | (uint64_t)len << 56);
}

static int walk_headers(const Bytes *b, Py_ssize_t n, Piece *pc) {
    int64_t pos = 0;
    while (pos + HEADER_LEN <= n) {
        const uint8_t *h = b->buf + pos + LENGTH_OFFSET;
        int64_t length = (int64_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
        if (length > MAX_RECORD_LEN) {
            pc->bad_offset = pos;
            break;
        }
        if (pos + HEADER_LEN + length > n) break;
        if (vec_push(&pc->starts, pos) < 0) return -1;
        pos += HEADER_LEN + length;
    }
    pc->end = pos;
    return 0;
}

static int could_slim_keep(const uint8_t *rec, Py_ssize_t n, const int64_t *hits, Py_ssize_t nhits, int64_t base);

static int judge_record(const Bytes *b, const Tables *t, int64_t s, int64_t e, Piece *pc) {
    unsigned type = u16_at(b, s + 4), sub = u16_at(b, s + 6);
    int readable = type == TABLE_DUMP || type == TABLE_DUMP_V2 || type == BGP4MP || type == BGP4MP_ET;
    int bgp4mp = type == BGP4MP || type == BGP4MP_ET;
    if (!readable && note_skipped(pc, type, s) < 0) return -1;
    pc->rib += type == TABLE_DUMP || (type == TABLE_DUMP_V2 && sub != PEER_INDEX_TABLE);
    pc->updates += bgp4mp;
    if (!readable) return 0;
    Py_ssize_t first_hit = pc->hits.n, found = 0;
    int keep;
    if (t == NULL || (type == TABLE_DUMP_V2 && sub == PEER_INDEX_TABLE) || (bgp4mp && (sub == 0 || sub == 5)))
        keep = 1;
    else if (type == TABLE_DUMP || (type == TABLE_DUMP_V2 && is_td2_prefix_subtype(sub)))
        keep = fixed_prefix_kept(b, t, s, e, type, sub);
    else {
        found = scan_record(b, t, s, e, type, sub, &pc->hits);
        if (found < 0) return -1;
        keep = found > 0;
        if (keep && bgp4mp && is_message_subtype(sub)) { /* step 7: what slimming would drop at once */
            int could = could_slim_keep(b->buf + s, (Py_ssize_t)(e - s), pc->hits.v + first_hit, found, s);
            if (could < 0) return -1;
            if (!could) {
                keep = 0;
                pc->hits.n = first_hit;
            }
        }
    }
    if (!keep) return 0;
    if (vec_push(&pc->kept, s) < 0 || vec_push(&pc->kept, e) < 0 || vec_push(&pc->kept, first_hit) < 0 ||
        vec_push(&pc->kept, pc->hits.n) < 0)
        return -1;
    return 0;
}

static int scan(const uint8_t *buf, Py_ssize_t n, const Tables *t, Piece *pc) {
    Bytes b = {buf, n};
    if (walk_headers(&b, n, pc) < 0) return -1;
    b.end = pc->end;
    pc->records = pc->starts.n;
    if (pc->starts.n) {
        pc->first_start = pc->starts.v[0];
        pc->last_start = pc->starts.v[pc->starts.n - 1];
    }
    for (Py_ssize_t i = 0; i < pc->starts.n; i++) {
        int64_t s = pc->starts.v[i];
        int64_t e = i + 1 < pc->starts.n ? pc->starts.v[i + 1] : pc->end;
        if (judge_record(&b, t, s, e, pc) < 0) return -1;
    }
    return 0;
}

static PyObject *kept_list(const Piece *pc) {
    Py_ssize_t count = pc->kept.n / 4;
    PyObject *out = PyList_New(count);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        const int64_t *k = pc->kept.v + 4 * i;
        PyObject *hits = PyList_New((Py_ssize_t)(k[3] - k[2]));
        if (!hits) goto fail;
        for (int64_t j = k[2]; j < k[3]; j++) {
            PyObject *h = PyLong_FromLongLong(pc->hits.v[j] - k[0]);
            if (!h) {
                Py_DECREF(hits);
                goto fail;
            }
            PyList_SET_ITEM(hits, (Py_ssize_t)(j - k[2]), h);
        }
        PyObject *item = Py_BuildValue("(LLN)", (long long)k[0], (long long)k[1], hits);
        if (!item) goto fail;
        PyList_SET_ITEM(out, i, item);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *skipped_dict(const Piece *pc) {
    PyObject *out = PyDict_New();
    for (Py_ssize_t i = 0; out && i < pc->nskipped; i++) {
        PyObject *key = PyLong_FromLongLong(pc->skipped[i].type);
        PyObject *val = Py_BuildValue("(LL)", (long long)pc->skipped[i].first, (long long)pc->skipped[i].count);
        if (!key || !val || PyDict_SetItem(out, key, val) < 0) Py_CLEAR(out);
        Py_XDECREF(key);
        Py_XDECREF(val);
    }
    return out;
}

static PyObject *scan_piece(PyObject *self, PyObject *args) {
    Py_buffer view;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "y*O", &view, &capsule)) return NULL;
    const Tables *t = NULL;
    if (capsule != Py_None && !(t = PyCapsule_GetPointer(capsule, CAPSULE_NAME))) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Piece pc = {.bad_offset = -1, .first_start = -1, .last_start = -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = scan(view.buf, view.len, t, &pc);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *out = NULL;
    if (rc < 0) {
        PyErr_NoMemory();
    } else {
        PyObject *kept = kept_list(&pc), *skipped = kept ? skipped_dict(&pc) : NULL;
        if (kept && skipped)
            out = Py_BuildValue("(LLLLLLLNN)", (long long)pc.end, (long long)pc.bad_offset, (long long)pc.records,
                                (long long)pc.rib, (long long)pc.updates, (long long)pc.first_start,
                                (long long)pc.last_start, kept, skipped);
        else {
            Py_XDECREF(kept);
            Py_XDECREF(skipped);
        }
    }
    piece_free(&pc);
    return out;
}

/* ---- slimming plan -------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *rec;
    Py_ssize_t n;
    int irregular;
} Rec;

/* Reads that Python would fail on (IndexError, struct.error) mark the record irregular. */
static unsigned rbyte(Rec *r, int64_t i) {
    if (i < 0 || i >= r->n) {
        r->irregular = 1;
        return 0;
    }
    return r->rec[i];
}

static unsigned ru16(Rec *r, int64_t i) {
    if (i < 0 || i + 2 > r->n) {
        r->irregular = 1;
        return 0;
    }
    return (unsigned)r->rec[i] << 8 | r->rec[i + 1];
}

typedef struct {
    int64_t start, stop;
    int version;
} List;

typedef struct {
    List *v;
    Py_ssize_t n, cap;
} Lists;

static int lists_push(Lists *a, List l) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? 2 * a->cap : 8;
        List *v = realloc(a->v, (size_t)cap * sizeof(List));
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = l;
    return 0;
}

/* slim.py step 1: where the BGP message starts (-1: irregular). */
static int64_t message_offset(Rec *r) {
    unsigned type = ru16(r, 4), sub = ru16(r, 6);
    if ((type != BGP4MP && type != BGP4MP_ET) || !is_message_subtype(sub)) return -1;
    int64_t pos = HEADER_LEN + (type == BGP4MP_ET ? ET_BYTES : 0) + (is_as4_subtype(sub) ? 8 : 4) + 2;
    unsigned afi = ru16(r, pos);
    if (r->irregular || (afi != 1 && afi != 2)) return -1;
    int64_t msg = pos + 2 + 2 * (afi == 1 ? 4 : 16);
    if (msg + BGP_HEADER_LEN > r->n) return -1;
    if (msg + ru16(r, msg + BGP_LENGTH_OFFSET) != r->n || r->irregular) return -1;
    return msg;
}

/* slim.py step 2, the lists only: withdrawn routes, MP lists in attribute order, NLRI.
 * Returns 0, IRREGULAR, or -1 (out of memory). */
#define IRREGULAR 1
static int layout_lists(Rec *r, int64_t pos, Lists *lists) {
    int64_t wend = pos + 2 + ru16(r, pos);
    int64_t aend = wend + 2 + ru16(r, wend);
    if (r->irregular || aend > r->n) return IRREGULAR;
    if (lists_push(lists, (List){pos + 2, wend, 4}) < 0) return -1;
    int64_t p = wend + 2;
    while (p < aend) {
        unsigned flags = rbyte(r, p), code = rbyte(r, p + 1);
        int wide = (flags & FLAG_EXTENDED) != 0;
        int64_t body = p + (wide ? 4 : 3);
        int64_t stop = body + (wide ? ru16(r, p + 2) : rbyte(r, p + 2));
        if (r->irregular || stop > aend) return IRREGULAR;
        if (code == ATTR_MP_REACH || code == ATTR_MP_UNREACH) {
            unsigned afi = ru16(r, body), safi = rbyte(r, body + 2);
            if (r->irregular || (afi != 1 && afi != 2) || (safi != 1 && safi != 2)) return IRREGULAR;
            unsigned addr = afi == 1 ? 4 : 16;
            int64_t head = body + 3;
            if (code == ATTR_MP_REACH) {
                unsigned hop = rbyte(r, head);
                if (r->irregular || (hop != addr && !(afi == 2 && hop == IPV6_DOUBLE_NEXT_HOP))) return IRREGULAR;
                head += 1 + hop + 1;
            }
            if (head > stop) return IRREGULAR;
            if (lists_push(lists, (List){head, stop, afi == 1 ? 4 : 6}) < 0) return -1;
        }
        p = stop;
    }
    if (p != aend) return IRREGULAR;
    return lists_push(lists, (List){aend, r->n, 4}) < 0 ? -1 : 0;
}

static int hit_at(const int64_t *hits, Py_ssize_t nhits, int64_t x) {
    Py_ssize_t lo = 0, hi = nhits;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (hits[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nhits && hits[lo] == x;
}

/* slim.py step 3: NLRI readings at hits inside a list. */
static int add_probes(Rec *r, const List *l, const int64_t *hits, Py_ssize_t nhits, PyObject *probes) {
    unsigned bits = l->version == 4 ? 32 : 128;
    for (Py_ssize_t i = 0; i < nhits; i++) {
        int64_t at = hits[i];
        if (at < l->start || at >= l->stop) continue;
        unsigned len = r->rec[at];
        int64_t stop = at + 1 + ((len + 7) >> 3);
        if (len > bits || stop > l->stop) continue;
        PyObject *item = Py_BuildValue("(iLL)", l->version, (long long)at, (long long)stop);
        if (!item || PyList_Append(probes, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
    }
    return 0;
}

typedef struct {
    uint64_t hash;
    int64_t start, stop;
} Entry;

static int entry_order(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    int64_t lx = x->stop - x->start, ly = y->stop - y->start;
    return lx < ly ? -1 : lx > ly;
}

static int same_entry(const uint8_t *rec, const Entry *a, const Entry *b) {
    return a->hash == b->hash && a->stop - a->start == b->stop - b->start &&
           memcmp(rec + a->start, rec + b->start, (size_t)(a->stop - a->start)) == 0;
}

#define PAIRWISE_ENTRIES 16
#define HASHED_ENTRIES 4096

/* Without ADD-PATH, the same entry twice in one list is irregular (mrtparse re-reads it as ADD-PATH). */
static int has_repeats(const uint8_t *rec, Entry *entries, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) { /* the length and first bytes: entries equal there are compared */
        int64_t start = entries[i].start, stop = entries[i].stop, k = stop - start < 8 ? stop : start + 8;
        uint64_t h = (uint64_t)(stop - start);
        for (int64_t j = start; j < k; j++) h = h << 8 | rec[j];
        entries[i].hash = h * 0x9E3779B97F4A7C15ULL;
    }
    if (n <= PAIRWISE_ENTRIES) { /* most lists are short: comparing every pair beats sorting them */
        for (Py_ssize_t i = 1; i < n; i++)
            for (Py_ssize_t j = 0; j < i; j++)
                if (same_entry(rec, entries + j, entries + i)) return 1;
        return 0;
    }
    if (n <= HASHED_ENTRIES) { /* open addressing on the hashes, in a table at most half full */
        int32_t slots[2 * HASHED_ENTRIES];
        size_t size = 64;
        while (size < 2 * (size_t)n) size *= 2;
        memset(slots, 0xff, size * sizeof(int32_t));
        for (Py_ssize_t i = 0; i < n; i++) {
            size_t k = (size_t)(entries[i].hash >> 40) & (size - 1);
            while (slots[k] >= 0) {
                if (same_entry(rec, entries + slots[k], entries + i)) return 1;
                k = (k + 1) & (size - 1);
            }
            slots[k] = (int32_t)i;
        }
        return 0;
    }
    qsort(entries, (size_t)n, sizeof(Entry), entry_order);
    for (Py_ssize_t i = 1; i < n; i++)
        if (same_entry(rec, entries + i - 1, entries + i)) return 1;
    return 0;
}

/* slim.py _entries: walk one list, *entries holding (start, stop) of every entry walked, in order (the
 * caller frees them). Returns 0, IRREGULAR (an entry past the list's end or a prefix longer than the family
 * allows; repeats are judged by the caller, as has_repeats reorders), or -1 when out of memory. */
static int walk_entries(const Rec *r, const List *l, int add_path, Entry **entries, Py_ssize_t *count) {
    unsigned bits = l->version == 4 ? 32 : 128;
    int skip = add_path ? PATH_ID_BYTES : 0;
    Py_ssize_t cap = 0;
    *entries = NULL;
    *count = 0;
    int64_t pos = l->start;
    while (pos < l->stop) {
        int64_t at = pos + skip;
        if (at >= l->stop || r->rec[at] > bits) return IRREGULAR;
        int64_t stop = at + 1 + ((r->rec[at] + 7) >> 3);
        if (stop > l->stop) return IRREGULAR;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            Entry *grown = realloc(*entries, (size_t)cap * sizeof(Entry));
            if (!grown) return -1;
            *entries = grown;
        }
        (*entries)[(*count)++] = (Entry){0, pos, stop};
        pos = stop;
    }
    return 0;
}

/* has_repeats for a walked list, which only counts without ADD-PATH. */
static int repeated(const Rec *r, int add_path, Entry *entries, Py_ssize_t count) {
    return !add_path && count > 1 && has_repeats(r->rec, entries, count);
}

/* slim.py step 4 for one list: (version, entry count, entries at a hit as (entry start, length byte
 * offset, stop)); *irregular set when the list does not walk. Returns NULL with an exception set on
 * failure. */
static PyObject *walk_list(const Rec *r, const List *l, int add_path, const int64_t *hits, Py_ssize_t nhits,
                           int *irregular) {
    int skip = add_path ? PATH_ID_BYTES : 0;
    Entry *entries;
    Py_ssize_t count;
    int rc = walk_entries(r, l, add_path, &entries, &count);
    PyObject *found = rc < 0 ? PyErr_NoMemory() : PyList_New(0);
    for (Py_ssize_t i = 0; found && i < count; i++) {
        int64_t at = entries[i].start + skip;
        if (!hit_at(hits, nhits, at)) continue;
        PyObject *item = Py_BuildValue("(LLL)", (long long)entries[i].start, (long long)at, (long long)entries[i].stop);
        if (!item || PyList_Append(found, item) < 0) Py_CLEAR(found);
        Py_XDECREF(item);
    }
    if (found && (rc == IRREGULAR || repeated(r, add_path, entries, count))) *irregular = 1;
    free(entries);
    return found ? Py_BuildValue("(inN)", l->version, count, found) : NULL;
}

/* could_slim_keep for one list: 1 when an entry starts at a hit or the list does not walk (as walk_list
 * judges it), 0 when neither, -1 when out of memory. No Python objects: the scan runs without the GIL. */
static int list_entry_hit(const Rec *r, const List *l, int add_path, const int64_t *hits, Py_ssize_t nhits,
                          int64_t base) {
    int skip = add_path ? PATH_ID_BYTES : 0;
    Entry *entries;
    Py_ssize_t count;
    int rc = walk_entries(r, l, add_path, &entries, &count), result = rc < 0 ? -1 : rc == IRREGULAR;
    for (Py_ssize_t i = 0; result == 0 && i < count; i++) result = hit_at(hits, nhits, base + entries[i].start + skip);
    if (result == 0 && repeated(r, add_path, entries, count)) result = 1;
    free(entries);
    return result;
}

/* Step 7 of the scan: whether slim_plan(record, its hits) could give anything but None. 0 only for a
 * well-framed BGP4MP message that is not an UPDATE, or a regular UPDATE in which no list entry starts at
 * a hit: slimming would drop both at once (slim.py steps 1-5), so the scan drops them instead of handing
 * them to Python. ``hits`` are positions in the piece, the record starts at ``base``. -1: out of memory. */
static int could_slim_keep(const uint8_t *rec, Py_ssize_t n, const int64_t *hits, Py_ssize_t nhits, int64_t base) {
    Rec r = {rec, n, 0};
    int64_t msg = message_offset(&r);
    if (msg < 0) return 1;
    if (rec[msg + BGP_TYPE_OFFSET] != BGP_UPDATE) return 0;
    Lists lists = {0};
    int rc = layout_lists(&r, msg + BGP_HEADER_LEN, &lists);
    int keep = rc < 0 ? -1 : rc == IRREGULAR;
    unsigned sub = (unsigned)rec[6] << 8 | rec[7];
    int add_path = sub >= 8 && sub <= 11;
    for (Py_ssize_t i = 0; rc == 0 && keep == 0 && i < lists.n; i++)
        keep = list_entry_hit(&r, &lists.v[i], add_path, hits, nhits, base);
    free(lists.v);
    return keep;
}

static int64_t *hits_array(PyObject *obj, Py_ssize_t *n) {
    PyObject *seq = PySequence_Fast(obj, "hits must be a sequence");
    if (!seq) return NULL;
    *n = PySequence_Fast_GET_SIZE(seq);
    int64_t *out = malloc((size_t)(*n + 1) * sizeof(int64_t));
    if (!out) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        out[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (out[i] == -1 && PyErr_Occurred()) {
            free(out);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    return out;
}

/* The plan for a well-framed UPDATE; *out stays NULL for an irregular one. Returns -1 on error. */
static int plan_lists(Rec *r, int64_t msg, const int64_t *hits, Py_ssize_t nhits, PyObject **out) {
    Lists lists = {0};
    int rc = layout_lists(r, msg + BGP_HEADER_LEN, &lists);
    if (rc != 0) {
        free(lists.v);
        if (rc < 0) PyErr_NoMemory();
        return rc < 0 ? -1 : 0;
    }
    unsigned sub = (unsigned)r->rec[6] << 8 | r->rec[7];
    int add_path = sub >= 8 && sub <= 11, walk_irregular = 0;
    Py_ssize_t at_hits = 0;
    PyObject *probes = PyList_New(0), *walked = PyList_New(lists.n);
    for (Py_ssize_t i = 0; probes && walked && i < lists.n; i++) {
        PyObject *one = NULL;
        if (add_probes(r, &lists.v[i], hits, nhits, probes) == 0)
            one = walk_list(r, &lists.v[i], add_path, hits, nhits, &walk_irregular);
        if (one) {
            at_hits += PyList_GET_SIZE(PyTuple_GET_ITEM(one, 2));
            PyList_SET_ITEM(walked, i, one);
        } else {
            Py_CLEAR(walked);
        }
    }
    free(lists.v);
    if (!probes || !walked) {
        Py_XDECREF(probes);
        Py_XDECREF(walked);
        return -1;
    }
    if (!walk_irregular && at_hits == 0) { /* no entry starts at a hit: nothing can match (step 5) */
        Py_DECREF(probes);
        Py_DECREF(walked);
        *out = Py_NewRef(Py_None);
        return 0;
    }
    *out = Py_BuildValue("(LNON)", (long long)msg, probes, walk_irregular ? Py_True : Py_False, walked);
    return *out ? 0 : -1;
}

static PyObject *slim_plan(PyObject *self, PyObject *args) {
    PyObject *record, *hits_obj;
    if (!PyArg_ParseTuple(args, "SO", &record, &hits_obj)) return NULL;
    Py_ssize_t nhits = 0;
    int64_t *hits = hits_array(hits_obj, &nhits);
    if (!hits) return NULL;
    Rec r = {(const uint8_t *)PyBytes_AS_STRING(record), PyBytes_GET_SIZE(record), 0};
    PyObject *out = NULL;
    int64_t msg = message_offset(&r);
    if (msg < 0) {
        out = Py_NewRef(record);
    } else if (r.rec[msg + BGP_TYPE_OFFSET] != BGP_UPDATE) {
        out = Py_NewRef(Py_None);
    } else if (plan_lists(&r, msg, hits, nhits, &out) == 0 && out == NULL) {
        out = Py_NewRef(record);
    }
    free(hits);
    return out;
}

static PyMethodDef methods[] = {
    {"make_tables", make_tables, METH_VARARGS,
     "make_tables(pairs, len_mask, cover_keys, more) -> the scanner's tables for scan_piece."},
    {"scan_piece", scan_piece, METH_VARARGS,
     "scan_piece(buf, tables) -> (end, bad_offset, records, rib_records, update_records, first_start, "
     "last_start, kept [(start, stop, hits)], skipped {type: (first_start, count)})."},
    {"slim_plan", slim_plan, METH_VARARGS,
     "slim_plan(record, hits) -> None (not an UPDATE), record (irregular) or (msg, probes, walk_irregular, "
     "lists)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_scan",
    .m_doc = "Compiled hot loops of the MRT pre-filter and the UPDATE slimming.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
