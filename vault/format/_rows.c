/*
 * lkvault.vault.format._rows: optional accelerator for vault/ingest/rows.py (RecordScanner).
 *
 * Finds the records and groups of a CSV's content as it streams past, exactly as the
 * pure-Python RecordScanner of rows.py does, which is normative (docs/FORMAT.md, "Row
 * order"): a newline outside double quotes ends a record; a record's key is its first
 * KEY_LIMIT bytes up to the first ',' or '\n'; a group is a run of records with equal keys;
 * its time is the smallest (as written) of the first `YYYY-MM-DD HH:MM:SS` found in each
 * of its records' first KEY_LIMIT bytes, and its tag that time in seconds since 1970 (as
 * calendar.timegm gives it, 0 where that raises), clamped to 32 bits.
 *
 * Python API (private to vault.ingest.rows):
 *   Scanner(key_limit, max_entries)
 *   .feed(data)          data: any C-contiguous buffer; the GIL is released while scanning
 *   .finish() -> (bytes, bytes)   tags (native uint32) and lengths (native uint64)
 *   .records, .overflowed
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TIME_LEN 19 /* YYYY-MM-DD HH:MM:SS */

typedef struct {
    PyObject_HEAD
    Py_ssize_t key_limit;
    Py_ssize_t max_entries;
    unsigned long long offset;       /* content bytes fed so far */
    unsigned long long record_start;
    int in_quotes;                   /* an odd number of '"' seen in the current record */
    uint8_t *head;                   /* the current record's first key_limit bytes */
    Py_ssize_t head_len;
    uint8_t *group_key;
    Py_ssize_t group_key_len;
    int has_group;
    unsigned long long group_start;
    uint8_t group_time[TIME_LEN];
    int has_group_time;
    unsigned long long records;
    int overflowed;
    uint32_t *tags;
    uint64_t *lengths;
    Py_ssize_t count;
    Py_ssize_t capacity;
    int finished;
    int busy; /* a feed() is scanning without the GIL */
} Scanner;

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Whether a time as written starts at p (bytes p[0..18] are readable). */
static int time_at(const uint8_t *p) {
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    for (int i = 0; i < TIME_LEN; i++) {
        if (shape[i] == 'd') {
            if (!is_digit(p[i])) return 0;
        } else if (p[i] != (uint8_t)shape[i]) {
            return 0;
        }
    }
    return 1;
}

static long long number(const uint8_t *p, int n) {
    long long v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (m in 1..12). */
static long long days_from_civil(long long y, long long m, long long d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* rows._seconds: calendar.timegm of the fields, 0 where it raises, clamped to 32 bits. */
static uint32_t seconds_of(const uint8_t *t) {
    long long year = number(t, 4), month = number(t + 5, 2), day = number(t + 8, 2);
    long long hour = number(t + 11, 2), minute = number(t + 14, 2), second = number(t + 17, 2);
    if (year < 1 || month < 1 || month > 12) return 0; /* datetime.date raises ValueError */
    long long days = days_from_civil(year, month, 1) + day - 1;
    long long s = ((days * 24 + hour) * 60 + minute) * 60 + second;
    if (s < 0) return 0;
    if (s > 0xFFFFFFFFLL) return 0xFFFFFFFFu;
    return (uint32_t)s;
}

static int close_group(Scanner *self, unsigned long long end) {
    if (self->overflowed) return 0;
    if (self->count == self->max_entries) {
        self->overflowed = 1;
        free(self->tags);
        free(self->lengths);
        self->tags = NULL;
        self->lengths = NULL;
        self->count = self->capacity = 0;
        return 0;
    }
    if (self->count == self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 1024;
        uint32_t *tags = realloc(self->tags, (size_t)capacity * sizeof(uint32_t));
        if (tags == NULL) return -1;
        self->tags = tags;
        uint64_t *lengths = realloc(self->lengths, (size_t)capacity * sizeof(uint64_t));
        if (lengths == NULL) return -1;
        self->lengths = lengths;
        self->capacity = capacity;
    }
    self->tags[self->count] = self->has_group_time ? seconds_of(self->group_time) : 0;
    self->lengths[self->count] = end - self->group_start;
    self->count++;
    return 0;
}

static int end_record(Scanner *self, unsigned long long end) {
    Py_ssize_t len = self->head_len;
    if ((unsigned long long)len > end - self->record_start)
        len = (Py_ssize_t)(end - self->record_start);
    const uint8_t *head = self->head;
    Py_ssize_t cut = len;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (head[i] == ',' || head[i] == '\n') {
            cut = i;
            break;
        }
    }
    if (!self->has_group || cut != self->group_key_len ||
        memcmp(head, self->group_key, (size_t)cut) != 0) {
        if (self->has_group && close_group(self, self->record_start) < 0) return -1;
        memcpy(self->group_key, head, (size_t)cut);
        self->group_key_len = cut;
        self->has_group = 1;
        self->group_start = self->record_start;
        self->has_group_time = 0;
    }
    for (Py_ssize_t i = 0; i + TIME_LEN <= len; i++) {
        if (is_digit(head[i]) && time_at(head + i)) {
            if (!self->has_group_time || memcmp(head + i, self->group_time, TIME_LEN) < 0) {
                memcpy(self->group_time, head + i, TIME_LEN);
                self->has_group_time = 1;
            }
            break;
        }
    }
    self->records++;
    self->record_start = end;
    self->in_quotes = 0;
    return 0;
}

static void take_head(Scanner *self, const uint8_t *data, Py_ssize_t available) {
    Py_ssize_t n = self->key_limit - self->head_len;
    if (n > available) n = available;
    if (n > 0) {
        memcpy(self->head + self->head_len, data, (size_t)n);
        self->head_len += n;
    }
}

/* Scans one block; -1 on memory exhaustion. Runs without the GIL. */
static int scan(Scanner *self, const uint8_t *data, Py_ssize_t len) {
    unsigned long long base = self->offset;
    take_head(self, data, len);
    int in_quotes = self->in_quotes;
    for (Py_ssize_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == '"') {
            in_quotes ^= 1;
        } else if (c == '\n' && !in_quotes) {
            if (end_record(self, base + (unsigned long long)i + 1) < 0) return -1;
            self->head_len = 0;
            take_head(self, data + i + 1, len - i - 1);
        }
    }
    self->in_quotes = in_quotes;
    self->offset = base + (unsigned long long)len;
    return 0;
}

static PyObject *Scanner_feed(Scanner *self, PyObject *arg) {
    if (self->finished) {
        PyErr_SetString(PyExc_ValueError, "feed() after finish()");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "a Scanner is fed by one thread at a time");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    int failed;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    failed = scan(self, (const uint8_t *)view.buf, view.len);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&view);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *Scanner_finish(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "a Scanner is fed by one thread at a time");
        return NULL;
    }
    if (!self->finished) {
        if (self->offset > self->record_start && end_record(self, self->offset) < 0)
            return PyErr_NoMemory();
        if (self->has_group && close_group(self, self->offset) < 0) return PyErr_NoMemory();
        self->finished = 1;
    }
    PyObject *tags = PyBytes_FromStringAndSize((const char *)self->tags,
                                               self->count * (Py_ssize_t)sizeof(uint32_t));
    if (tags == NULL) return NULL;
    PyObject *lengths = PyBytes_FromStringAndSize((const char *)self->lengths,
                                                  self->count * (Py_ssize_t)sizeof(uint64_t));
    if (lengths == NULL) {
        Py_DECREF(tags);
        return NULL;
    }
    return Py_BuildValue("(NN)", tags, lengths);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    Py_ssize_t key_limit, max_entries;
    if (!PyArg_ParseTuple(args, "nn:Scanner", &key_limit, &max_entries)) return -1;
    if (key_limit < 1 || max_entries < 0) {
        PyErr_SetString(PyExc_ValueError, "key_limit must be positive, max_entries not negative");
        return -1;
    }
    if (self->head != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner already initialised");
        return -1;
    }
    self->key_limit = key_limit;
    self->max_entries = max_entries;
    self->head = malloc((size_t)key_limit);
    self->group_key = malloc((size_t)key_limit);
    if (self->head == NULL || self->group_key == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    free(self->head);
    free(self->group_key);
    free(self->tags);
    free(self->lengths);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Scanner_records(Scanner *self, void *Py_UNUSED(closure)) {
    return PyLong_FromUnsignedLongLong(self->records);
}

static PyObject *Scanner_overflowed(Scanner *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->overflowed);
}

static PyGetSetDef Scanner_getset[] = {
    {"records", (getter)Scanner_records, NULL, "records found so far", NULL},
    {"overflowed", (getter)Scanner_overflowed, NULL, "more groups than max_entries", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_O, "feed(data): scan the next content bytes"},
    {"finish", (PyCFunction)Scanner_finish, METH_NOARGS,
     "finish() -> (tags, lengths) as native uint32 and uint64 bytes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lkvault.vault.format._rows.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The records and groups of a CSV's content (see vault/ingest/rows.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef rows_module = {
    PyModuleDef_HEAD_INIT, "lkvault.vault.format._rows",
    "C record scanner for vault.ingest.rows.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rows(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&rows_module);
    if (module == NULL) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
