/*
 * lkvault.vault.format._cells: optional accelerator for vault/export/cellscan.py.
 *
 * Walks the records of a CSV body exactly as Python's csv.reader does with the dialect
 * vault/export/tables.py reads a comma-separated table with (quotechar '"', doublequote,
 * no escapechar, strict=False), fed the lines a TextIOWrapper(newline="") gives (a line
 * ends after "\n", "\r\n" or a lone "\r", and csv ends each line with its EOL step), and
 * keeps only what a summary needs, never a Python object per cell:
 *   - the number of filled records: those with a character that str.strip keeps;
 *   - the four kept cells (by column index, as written) of each run of consecutive filled
 *     records whose kept cells are equal, with the run's length. Without `owner`, a record
 *     whose first kept cell (the conversation id) holds a kept character keeps only it.
 * The bytes must be UTF-8 as Python's strict decoder takes it: any other byte, a field
 * longer than the csv field limit, or a NUL where csv rejects one, makes the scanner give up
 * (`unhandled`): the pure-Python reading of tables.py is normative and reads it instead.
 *
 * Python API (private to vault.export.cellscan):
 *   CellScanner(columns, owner, field_limit, nul_ok)   columns: 4 indexes, -1 for none
 *   .feed(data) -> list of (repeat, cell0, cell1, cell2, cell3) bytes runs ended so far;
 *                  the GIL is released while scanning
 *   .finish() -> the same, for the end of the content
 *   .records, .unhandled (None or why it gave up)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEPT 4

enum { START_RECORD, START_FIELD, IN_FIELD, IN_QUOTED_FIELD, QUOTE_IN_QUOTED_FIELD, EAT_CRNL };

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} Buf;

typedef struct {
    PyObject_HEAD
    Py_ssize_t columns[KEPT];
    int owner;
    int nul_ok;
    unsigned long long field_limit;
    int initialised;
    int busy;     /* a feed() is scanning without the GIL */
    int finished;
    const char *unhandled;
    int state;
    int pending_cr;   /* a "\r" ended the last byte: its line ends unless "\n" follows */
    int last_newline; /* the last byte fed was "\n" (or nothing was fed) */
    /* UTF-8 validation: continuation bytes still expected, their range, the code point */
    int u8_need;
    uint8_t u8_lo, u8_hi;
    uint32_t u8_cp;
    /* the field being read */
    Py_ssize_t field_index;
    int field_slot; /* which kept cell it is, -1 for none */
    unsigned long long field_chars;
    int field_kept_char; /* a character str.strip keeps */
    /* the record being read */
    int record_filled;
    int first_kept_char;
    Buf cells[KEPT];
    /* the run of equal filled records before it */
    Buf run[KEPT];
    unsigned long long run_length;
    /* runs ended, serialised: length, then each cell's size and bytes */
    Buf out;
    unsigned long long records;
} CellScanner;

static const uint8_t ascii_space[128] = {
    ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, [' '] = 1,
};

/* str.isspace beyond ASCII (Unicode White_Space, as Python's _PyUnicode_IsWhitespace). */
static int wide_space(uint32_t cp) {
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* A UTF-8 lead byte as Python's strict decoder takes it: the continuation bytes it needs,
 * its bits, and the range of the next byte (that excludes overlong forms, surrogates and
 * code points past U+10FFFF); 0 for a byte no character starts with. */
static int utf8_lead(uint8_t b, int *need, uint32_t *cp, uint8_t *lo, uint8_t *hi) {
    *lo = 0x80, *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        *need = 1, *cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        *need = 2, *cp = b & 0x0F;
        *lo = b == 0xE0 ? 0xA0 : 0x80;
        *hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
        *need = 3, *cp = b & 0x07;
        *lo = b == 0xF0 ? 0x90 : 0x80;
        *hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    return 1;
}

static int buf_add(Buf *buf, const uint8_t *data, size_t len) {
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + len) cap *= 2;
        uint8_t *grown = realloc(buf->data, cap);
        if (grown == NULL) return -1;
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return 0;
}

static int slot_of(const CellScanner *s, Py_ssize_t index) {
    for (int k = 0; k < KEPT; k++)
        if (s->columns[k] == index) return k;
    return -1;
}

static void start_record(CellScanner *s) {
    s->field_index = 0;
    s->field_slot = slot_of(s, 0);
    s->field_chars = 0;
    s->field_kept_char = 0;
    s->record_filled = 0;
    s->first_kept_char = 0;
    for (int k = 0; k < KEPT; k++) s->cells[k].len = 0;
}

static void save_field(CellScanner *s) {
    if (s->field_slot == 0) s->first_kept_char = s->field_kept_char;
    s->field_index++;
    s->field_slot = slot_of(s, s->field_index);
    s->field_chars = 0;
    s->field_kept_char = 0;
}

static int emit_run(CellScanner *s) {
    uint64_t head[1 + KEPT];
    head[0] = s->run_length;
    for (int k = 0; k < KEPT; k++) head[1 + k] = s->run[k].len;
    if (buf_add(&s->out, (const uint8_t *)head, sizeof head) < 0) return -1;
    for (int k = 0; k < KEPT; k++)
        if (s->run[k].len && buf_add(&s->out, s->run[k].data, s->run[k].len) < 0) return -1;
    return 0;
}

/* The record just read ends (csv returns its fields). */
static int end_record(CellScanner *s) {
    if (s->record_filled) {
        s->records++;
        if (!s->owner && s->first_kept_char)
            for (int k = 1; k < KEPT; k++) s->cells[k].len = 0;
        int same = s->run_length > 0;
        for (int k = 0; same && k < KEPT; k++)
            same = s->cells[k].len == s->run[k].len &&
                   (s->cells[k].len == 0 ||
                    memcmp(s->cells[k].data, s->run[k].data, s->cells[k].len) == 0);
        if (same) {
            s->run_length++;
        } else {
            if (s->run_length && emit_run(s) < 0) return -1;
            for (int k = 0; k < KEPT; k++) {
                Buf held = s->run[k];
                s->run[k] = s->cells[k];
                s->cells[k] = held;
            }
            s->run_length = 1;
        }
    }
    s->state = START_RECORD;
    start_record(s);
    return 0;
}

/* csv's parse_add_char for a character whose first byte is `b` (all of it when ASCII). */
static int add_char(CellScanner *s, uint8_t b, int kept) {
    if (s->field_chars >= s->field_limit) {
        s->unhandled = "a field longer than the csv field limit";
        return 1;
    }
    s->field_chars++;
    if (kept) {
        s->field_kept_char = 1;
        s->record_filled = 1;
    }
    if (s->field_slot >= 0 && buf_add(&s->cells[s->field_slot], &b, 1) < 0) return -1;
    return 0;
}

/* csv's parse_process_char for an ASCII character `c`, or the first byte of a wider one
 * (a "normal" character to every state); `kept`: a character str.strip keeps. */
static int process_char(CellScanner *s, uint8_t c, int kept) {
    int newline = c == '\n' || c == '\r';
    switch (s->state) {
    case START_RECORD:
        if (newline) {
            s->state = EAT_CRNL;
            return 0;
        }
        s->state = START_FIELD;
        /* fall through */
    case START_FIELD:
        if (newline) {
            save_field(s);
            s->state = EAT_CRNL;
        } else if (c == '"') {
            s->state = IN_QUOTED_FIELD;
        } else if (c == ',') {
            save_field(s);
        } else {
            s->state = IN_FIELD;
            return add_char(s, c, kept);
        }
        return 0;
    case IN_FIELD:
        if (newline) {
            save_field(s);
            s->state = EAT_CRNL;
        } else if (c == ',') {
            save_field(s);
            s->state = START_FIELD;
        } else {
            return add_char(s, c, kept);
        }
        return 0;
    case IN_QUOTED_FIELD:
        if (c == '"') {
            s->state = QUOTE_IN_QUOTED_FIELD;
            return 0;
        }
        return add_char(s, c, kept);
    case QUOTE_IN_QUOTED_FIELD:
        if (c == '"') {
            s->state = IN_QUOTED_FIELD;
            return add_char(s, c, kept);
        }
        if (c == ',') {
            save_field(s);
            s->state = START_FIELD;
        } else if (newline) {
            save_field(s);
            s->state = EAT_CRNL;
        } else {
            s->state = IN_FIELD;
            return add_char(s, c, kept);
        }
        return 0;
    default: /* EAT_CRNL: only a line's end follows a line's end, by how lines are cut */
        if (!newline) {
            s->unhandled = "a character after a line's end";
            return 1;
        }
        return 0;
    }
}

/* csv's EOL step at the end of each line. */
static int end_line(CellScanner *s) {
    switch (s->state) {
    case IN_QUOTED_FIELD:
        return 0;
    case START_FIELD:
    case IN_FIELD:
    case QUOTE_IN_QUOTED_FIELD:
        save_field(s);
        /* fall through */
    default:
        return end_record(s);
    }
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the eight bytes of w is c (exact: the borrow can only mark bytes above a
 * byte equal to c). */
static inline uint64_t has_byte(uint64_t w, uint8_t c) {
    uint64_t v = w ^ (ONES * c);
    return (v - ONES) & ~v & HIGHS;
}

/* The bulk of a table (message texts): the characters from data[i] on that csv adds to the
 * field being read without a change of state, up to a quote in a quoted field, else up to a
 * delimiter or line end (line ends inside quotes are characters, their EOL steps do
 * nothing), and short of any character the generic steps must see (one cut by the block's
 * end, bytes not UTF-8, a NUL csv rejects). Returns where it stopped, or -1/1 as scan. */
static Py_ssize_t add_run(CellScanner *s, const uint8_t *data, Py_ssize_t i, Py_ssize_t len) {
    const int quoted = s->state == IN_QUOTED_FIELD, nul_ok = s->nul_ok;
    const Py_ssize_t start = i;
    unsigned long long chars = 0;
    int kept = 0;
    while (i < len) {
        /* Once a kept character was seen, eight ASCII bytes at a time while none stops it. */
        while (kept && len - i >= 8) {
            uint64_t w;
            memcpy(&w, data + i, 8);
            if ((w & HIGHS) || (!nul_ok && has_byte(w, 0)) ||
                (quoted ? has_byte(w, '"')
                        : (has_byte(w, ',') | has_byte(w, '\r') | has_byte(w, '\n'))))
                break;
            chars += 8;
            i += 8;
        }
        if (i == len) break;
        uint8_t b = data[i];
        if (b < 0x80) {
            if (quoted ? b == '"' : (b == ',' || b == '\r' || b == '\n')) break;
            if (b == 0 && !nul_ok) break;
            kept |= !ascii_space[b];
            chars++;
            i++;
            continue;
        }
        int need;
        uint8_t lo, hi;
        uint32_t cp;
        if (!utf8_lead(b, &need, &cp, &lo, &hi) || len - i <= need) break;
        int valid = 1;
        for (int k = 1; k <= need; k++) {
            uint8_t c = data[i + k];
            if (c < lo || c > hi) {
                valid = 0;
                break;
            }
            cp = (cp << 6) | (c & 0x3F);
            lo = 0x80, hi = 0xBF;
        }
        if (!valid) break;
        kept |= !wide_space(cp);
        chars++;
        i += need + 1;
    }
    if (i == start) return i;
    if (s->field_chars + chars > s->field_limit) {
        s->unhandled = "a field longer than the csv field limit";
        return -2;
    }
    s->field_chars += chars;
    if (kept) {
        s->field_kept_char = 1;
        s->record_filled = 1;
    }
    if (s->field_slot >= 0 && buf_add(&s->cells[s->field_slot], data + start, (size_t)(i - start)) < 0)
        return -1;
    s->last_newline = data[i - 1] == '\n';
    return i;
}

/* Scans one block: 0, 1 when it gave up, -1 on memory exhaustion. Runs without the GIL. */
static int scan(CellScanner *s, const uint8_t *data, Py_ssize_t len) {
    int rc;
    for (Py_ssize_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (s->u8_need) {
            if (b < s->u8_lo || b > s->u8_hi) {
                s->unhandled = "not UTF-8";
                return 1;
            }
            s->u8_cp = (s->u8_cp << 6) | (b & 0x3F);
            s->u8_lo = 0x80;
            s->u8_hi = 0xBF;
            if (s->field_slot >= 0 && buf_add(&s->cells[s->field_slot], &b, 1) < 0) return -1;
            if (--s->u8_need == 0 && !wide_space(s->u8_cp)) {
                s->field_kept_char = 1;
                s->record_filled = 1;
            }
            continue;
        }
        if (s->pending_cr) {
            s->pending_cr = 0;
            if (b == '\n') {
                if ((rc = process_char(s, b, 0)) != 0) return rc;
                if ((rc = end_line(s)) != 0) return rc;
                s->last_newline = 1;
                continue;
            }
            if ((rc = end_line(s)) != 0) return rc;
        }
        s->last_newline = 0;
        if (s->state == IN_QUOTED_FIELD || s->state == IN_FIELD) {
            Py_ssize_t end = add_run(s, data, i, len);
            if (end == -1) return -1;
            if (end == -2) return 1;
            if (end > i) {
                i = end - 1;
                continue;
            }
        }
        if (b >= 0x80) {
            if (!utf8_lead(b, &s->u8_need, &s->u8_cp, &s->u8_lo, &s->u8_hi)) {
                s->unhandled = "not UTF-8";
                return 1;
            }
            /* Counted, and kept or not once its last byte is read. */
            if ((rc = process_char(s, b, 0)) != 0) return rc;
            continue;
        }
        if (b == 0 && !s->nul_ok) {
            s->unhandled = "a NUL, which csv rejects";
            return 1;
        }
        if ((rc = process_char(s, b, !ascii_space[b])) != 0) return rc;
        if (b == '\n') {
            if ((rc = end_line(s)) != 0) return rc;
            s->last_newline = 1;
        } else if (b == '\r') {
            s->pending_cr = 1;
        }
    }
    return 0;
}

/* The end of the content: the last line's EOL step, then what csv does at the end. */
static int scan_end(CellScanner *s) {
    int rc;
    if (s->u8_need) {
        s->unhandled = "not UTF-8 (cut inside a character)";
        return 1;
    }
    if (s->pending_cr || !s->last_newline) {
        s->pending_cr = 0;
        s->last_newline = 1;
        if ((rc = end_line(s)) != 0) return rc;
    }
    if (s->state == IN_QUOTED_FIELD || s->field_chars != 0) {
        save_field(s);
        if (end_record(s) < 0) return -1;
    }
    if (s->run_length && emit_run(s) < 0) return -1;
    s->run_length = 0;
    return 0;
}

static PyObject *take_runs(CellScanner *s) {
    PyObject *runs = PyList_New(0);
    if (runs == NULL) return NULL;
    size_t at = 0;
    while (at < s->out.len) {
        uint64_t head[1 + KEPT];
        memcpy(head, s->out.data + at, sizeof head);
        at += sizeof head;
        PyObject *run = PyTuple_New(1 + KEPT);
        if (run == NULL) goto fail;
        PyObject *length = PyLong_FromUnsignedLongLong(head[0]);
        if (length == NULL) {
            Py_DECREF(run);
            goto fail;
        }
        PyTuple_SET_ITEM(run, 0, length);
        for (int k = 0; k < KEPT; k++) {
            PyObject *cell =
                PyBytes_FromStringAndSize((const char *)s->out.data + at, (Py_ssize_t)head[1 + k]);
            if (cell == NULL) {
                Py_DECREF(run);
                goto fail;
            }
            at += head[1 + k];
            PyTuple_SET_ITEM(run, 1 + k, cell);
        }
        int appended = PyList_Append(runs, run);
        Py_DECREF(run);
        if (appended < 0) goto fail;
    }
    s->out.len = 0;
    return runs;
fail:
    s->out.len = 0;
    Py_DECREF(runs);
    return NULL;
}

static int usable(CellScanner *s) {
    if (!s->initialised) {
        PyErr_SetString(PyExc_RuntimeError, "CellScanner not initialised");
        return 0;
    }
    if (s->busy) {
        PyErr_SetString(PyExc_RuntimeError, "a CellScanner is fed by one thread at a time");
        return 0;
    }
    if (s->finished) {
        PyErr_SetString(PyExc_ValueError, "CellScanner used after finish()");
        return 0;
    }
    return 1;
}

static PyObject *CellScanner_feed(CellScanner *self, PyObject *arg) {
    if (!usable(self)) return NULL;
    if (self->unhandled != NULL) return PyList_New(0);
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    int rc;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    rc = scan(self, (const uint8_t *)view.buf, view.len);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc < 0) return PyErr_NoMemory();
    if (self->unhandled != NULL) {
        self->out.len = 0;
        return PyList_New(0);
    }
    return take_runs(self);
}

static PyObject *CellScanner_finish(CellScanner *self, PyObject *Py_UNUSED(ignored)) {
    if (!usable(self)) return NULL;
    self->finished = 1;
    if (self->unhandled != NULL) return PyList_New(0);
    if (scan_end(self) < 0) return PyErr_NoMemory();
    if (self->unhandled != NULL) {
        self->out.len = 0;
        return PyList_New(0);
    }
    return take_runs(self);
}

static int CellScanner_init(CellScanner *self, PyObject *args, PyObject *kwds) {
    Py_ssize_t columns[KEPT];
    int owner, nul_ok;
    unsigned long long field_limit;
    static char *names[] = {"columns", "owner", "field_limit", "nul_ok", NULL};
    PyObject *tuple;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!pKp:CellScanner", names, &PyTuple_Type,
                                     &tuple, &owner, &field_limit, &nul_ok))
        return -1;
    if (self->initialised) {
        PyErr_SetString(PyExc_RuntimeError, "CellScanner already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(tuple, "nnnn:columns", &columns[0], &columns[1], &columns[2],
                          &columns[3]))
        return -1;
    for (int k = 0; k < KEPT; k++) {
        if (columns[k] < -1) {
            PyErr_SetString(PyExc_ValueError, "a column index is -1 (none) or more");
            return -1;
        }
        self->columns[k] = columns[k];
    }
    self->owner = owner;
    self->nul_ok = nul_ok;
    self->field_limit = field_limit;
    self->state = START_RECORD;
    self->last_newline = 1;
    start_record(self);
    self->initialised = 1;
    return 0;
}

static void CellScanner_dealloc(CellScanner *self) {
    for (int k = 0; k < KEPT; k++) {
        free(self->cells[k].data);
        free(self->run[k].data);
    }
    free(self->out.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *CellScanner_records(CellScanner *self, void *Py_UNUSED(closure)) {
    return PyLong_FromUnsignedLongLong(self->records);
}

static PyObject *CellScanner_unhandled(CellScanner *self, void *Py_UNUSED(closure)) {
    if (self->unhandled == NULL) Py_RETURN_NONE;
    return PyUnicode_FromString(self->unhandled);
}

static PyGetSetDef CellScanner_getset[] = {
    {"records", (getter)CellScanner_records, NULL, "filled records ended so far", NULL},
    {"unhandled", (getter)CellScanner_unhandled, NULL, "why the scanner gave up, or None",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef CellScanner_methods[] = {
    {"feed", (PyCFunction)CellScanner_feed, METH_O,
     "feed(data) -> the runs of kept cells ended in the content so far"},
    {"finish", (PyCFunction)CellScanner_finish, METH_NOARGS,
     "finish() -> the runs ended by the end of the content"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CellScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lkvault.vault.format._cells.CellScanner",
    .tp_basicsize = sizeof(CellScanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Filled records and kept cells of a CSV body (see vault/export/cellscan.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)CellScanner_init,
    .tp_dealloc = (destructor)CellScanner_dealloc,
    .tp_methods = CellScanner_methods,
    .tp_getset = CellScanner_getset,
};

static struct PyModuleDef cells_module = {
    PyModuleDef_HEAD_INIT, "lkvault.vault.format._cells",
    "C CSV cell scanner for vault.export.cellscan.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cells(void) {
    if (PyType_Ready(&CellScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&cells_module);
    if (module == NULL) return NULL;
    Py_INCREF(&CellScannerType);
    if (PyModule_AddObject(module, "CellScanner", (PyObject *)&CellScannerType) < 0) {
        Py_DECREF(&CellScannerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
