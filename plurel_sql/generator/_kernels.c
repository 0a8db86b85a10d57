/*
 * Compiled kernels of the SCM's inner loop: random MLPs, activations, streaming
 * aggregation and Beta node noise, over float32 buffers. This file is the Python
 * glue; the kernels are in _kernels_simd.h.
 *
 * Why C: a table's causal graph can have thousands of edges and every edge runs a
 * 2-4 layer MLP on every row. In numpy each layer is 3-8 passes over a (rows x 32)
 * array (matmul, clamp, the activation's elementwise steps, the edge clamp, the
 * aggregation). Here rows go through an edge's whole MLP in small tiles that stay
 * in L1 cache, with the clamps, activation and aggregation fused.
 *
 * Two builds of the kernels exist on x86-64 (AVX2 with FMA3, and baseline SSE2); they
 * give bit-identical results, and the AVX2 one is used when the CPU has both.
 * ``use_kernels(name)`` switches (tests compare the two). AArch64 has one build,
 * "neon"; other architectures one, "baseline". Every build gives the same bits.
 */
#include "_kernels.h"

#include <string.h>

/* Codes are indices into ACTIVATION_NAMES, which must equal config.ACTIVATIONS
 * (a test checks it). */
static const char *ACTIVATION_NAMES[NUM_ACTIVATIONS] = {
    "relu",        "elu",        "selu",         "silu",          "softsign",     "tanh",
    "sigmoid",     "hardswish",  "mish",         "leaky_relu",    "gelu",         "softplus",
    "hardsigmoid", "hardtanh",   "celu",         "tanhshrink",    "rrelu",        "logsigmoid",
    "softshrink",  "hardshrink", "identity",     "abs",           "sin",          "cos",
    "sign",        "clamp",      "signed_log1p", "bent_identity", "random_sines",
};

/* Codes of fill_bank's initializers (config.INITIALIZERS, checked by a test) */
static const char *INITIALIZER_NAMES[] = {
    "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "trunc_normal", "sparse",
};

/* the compiler that built the extension (clang defines __GNUC__ too) */
#define STRING_(x) #x
#define STRING(x) STRING_(x)
#if defined(__clang__)
#define COMPILER "clang " STRING(__clang_major__) "." STRING(__clang_minor__) "." STRING(__clang_patchlevel__)
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif

static const KernelTable *K = &kernels_base;

static const KernelTable *available(void)
{
#ifdef HAVE_AVX2_FMA_BUILD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kernels_avx2_fma;
#endif
    return &kernels_base;
}

/* ----------------------------------------------------- Python buffer glue */

/* Every entry point parses its arguments, acquires its buffers (contiguous, of the
 * expected type), validates sizes, runs a kernel (the long ones without the GIL, on
 * the build chosen when the call started) and releases the buffers through ``done``. */

#define MAX_BUFS 6

typedef struct {
    Py_buffer view[MAX_BUFS];
    int count;
} Bufs;

/* Acquire ``obj`` as buffer number bufs->count: kind 'f' float32, 'i' int32, 'q' int64. */
static void *take(Bufs *bufs, PyObject *obj, const char *name, char kind, int writable)
{
    Py_buffer *view = &bufs->view[bufs->count];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return NULL;
    bufs->count++;
    const char *fmt = view->format ? view->format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    int ok = (kind == 'f' && fmt[0] == 'f' && view->itemsize == 4) ||
             (kind == 'i' && view->itemsize == 4 && (fmt[0] == 'i' || fmt[0] == 'l')) ||
             (kind == 'q' && view->itemsize == 8 && (fmt[0] == 'q' || fmt[0] == 'l'));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array", name,
                     kind == 'f' ? "float32" : (kind == 'i' ? "int32" : "int64"));
        return NULL;
    }
    return view->buf ? view->buf : (void *)view; /* never NULL on success */
}

/* number of items in buffer i */
static Py_ssize_t items(const Bufs *bufs, int i) { return bufs->view[i].len / bufs->view[i].itemsize; }

static PyObject *done(Bufs *bufs, int ok)
{
    for (int i = 0; i < bufs->count; i++) PyBuffer_Release(&bufs->view[i]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static int fail(PyObject *type, const char *message)
{
    PyErr_SetString(type, message);
    return 0;
}

/* params[offset] starts random_sines' parameters: a finite count >= 0, then 3 x count
 * values, all inside the ``n`` floats of params */
static int sines_params_fit(const float *params, Py_ssize_t n, Py_ssize_t offset)
{
    if (offset < 0 || offset >= n) return 0;
    float count = params[offset];
    return count == count && count >= 0.0f && count <= (float)((n - offset - 1) / 3) &&
           count == (float)(int32_t)count;
}

/* An MLP from its buffers weights, meta, params (numbers w, w + 1, w + 2), for
 * ``x_items`` input floats: sets *m and *rows; 0 (with an exception) if malformed. */
static int mlp_view(const Bufs *bufs, int w, float clamp, Py_ssize_t x_items, MLPView *m,
                    Py_ssize_t *rows)
{
    const int32_t *meta = bufs->view[w + 1].buf;
    Py_ssize_t n = items(bufs, w + 1), weights = items(bufs, w);
    if (n < 1 || meta[0] < 1 || n != 4 * (Py_ssize_t)meta[0])
        return fail(PyExc_ValueError, "malformed MLP meta array");
    m->layers = meta[0];
    m->dims = meta + 1;
    m->acts = m->dims + m->layers + 1;
    m->offsets = m->acts + m->layers - 1;
    m->matrices = m->offsets + m->layers - 1;
    m->weights = bufs->view[w].buf;
    m->params = bufs->view[w + 2].buf;
    m->clamp = clamp;
    m->max_dim = 0;
    for (int l = 0; l <= m->layers; l++) {
        if (m->dims[l] < 1) return fail(PyExc_ValueError, "MLP dimensions must be positive");
        if (m->dims[l] > m->max_dim) m->max_dim = m->dims[l];
        if (l < m->layers &&
            (m->matrices[l] < 0 ||
             (Py_ssize_t)m->matrices[l] + (Py_ssize_t)m->dims[l] * m->dims[l + 1] > weights))
            return fail(PyExc_ValueError, "MLP matrix outside its weights array");
    }
    for (int l = 0; l < m->layers - 1; l++) {
        if (m->acts[l] < 0 || m->acts[l] >= NUM_ACTIVATIONS || m->offsets[l] < 1 ||
            m->offsets[l] >= items(bufs, w + 2))
            return fail(PyExc_ValueError, "MLP activation code or offset out of range");
        if (m->acts[l] == RANDOM_SINES &&
            !sines_params_fit(m->params, items(bufs, w + 2), m->offsets[l]))
            return fail(PyExc_ValueError, "random_sines needs [count, 3 x count values]");
    }
    *rows = x_items / m->dims[0];
    if (*rows * m->dims[0] != x_items)
        return fail(PyExc_ValueError, "input size does not match the MLP");
    return 1;
}

/* whether two buffers share memory */
static int overlap(const Py_buffer *x, const Py_buffer *y)
{
    const char *a = x->buf, *b = y->buf;
    return x->len > 0 && y->len > 0 && a < b + y->len && b < a + x->len;
}

/* the aggregation code is known and the aggregate (buffers a, a + 1) holds ``size`` floats */
static int check_aggregate(const Bufs *bufs, int a, Py_ssize_t size, int mode)
{
    if (mode < AGG_SUM || mode > AGG_LOGSUMEXP)
        return fail(PyExc_ValueError, "unknown aggregation code");
    if (items(bufs, a) != size || items(bufs, a + 1) != size)
        return fail(PyExc_ValueError, "accumulator size does not match the terms");
    if (mode == AGG_LOGSUMEXP && overlap(&bufs->view[a], &bufs->view[a + 1]))
        return fail(PyExc_ValueError, "logsumexp needs separate acc and aux arrays");
    return 1;
}

/* acquire the aggregate (acc, aux: writable float32, next buffer numbers) for terms
 * of ``size`` floats and check it */
static int take_aggregate(Bufs *bufs, PyObject *acc, PyObject *aux, Py_ssize_t size, int mode)
{
    int a = bufs->count;
    return take(bufs, acc, "acc", 'f', 1) && take(bufs, aux, "aux", 'f', 1) &&
           check_aggregate(bufs, a, size, mode);
}

static PyObject *py_activate(PyObject *self, PyObject *args)
{
    int code;
    PyObject *o[2];
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "iOO", &code, &o[0], &o[1])) return NULL;
    float *x = take(&b, o[0], "x", 'f', 1);
    const float *params = x ? take(&b, o[1], "params", 'f', 0) : NULL;
    if (!params) return done(&b, 0);
    if (code < 0 || code >= NUM_ACTIVATIONS)
        return done(&b, fail(PyExc_ValueError, "unknown activation code"));
    if (code == RANDOM_SINES && !sines_params_fit(params, items(&b, 1), 0))
        return done(&b, fail(PyExc_ValueError, "random_sines needs [count, 3 x count values]"));
    Py_ssize_t n = items(&b, 0);
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->activate(code, x, n, params);
    Py_END_ALLOW_THREADS
    return done(&b, 1);
}

/* mlp_forward(x, out, weights, meta, params, clamp): out = MLP(x) */
static PyObject *py_mlp_forward(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    float clamp;
    Bufs b = {.count = 0};
    MLPView m;
    Py_ssize_t rows;
    if (!PyArg_ParseTuple(args, "OOOOOf", &o[0], &o[1], &o[2], &o[3], &o[4], &clamp))
        return NULL;
    if (!take(&b, o[0], "x", 'f', 0) || !take(&b, o[1], "out", 'f', 1) ||
        !take(&b, o[2], "weights", 'f', 0) || !take(&b, o[3], "meta", 'i', 0) ||
        !take(&b, o[4], "params", 'f', 0) || !mlp_view(&b, 2, clamp, items(&b, 0), &m, &rows))
        return done(&b, 0);
    if (rows * m.dims[m.layers] != items(&b, 1))
        return done(&b, fail(PyExc_ValueError, "out size does not match the MLP"));
    float *scratch = PyMem_Malloc(sizeof(float) * 2 * TILE * (size_t)m.max_dim);
    if (!scratch) return PyErr_NoMemory(), done(&b, 0);
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->mlp_forward(&m, b.view[0].buf, rows, b.view[1].buf, scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    return done(&b, 1);
}

/* encode_fold(x, weights, meta, params, clamp, bound, mode, first, acc, aux):
 * fold clip(MLP(x), +-bound) into the aggregate (acc, aux). */
static PyObject *py_encode_fold(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    float clamp, bound;
    int mode, first;
    Bufs b = {.count = 0};
    MLPView m;
    Py_ssize_t rows;
    if (!PyArg_ParseTuple(args, "OOOOffiiOO", &o[0], &o[1], &o[2], &o[3], &clamp, &bound, &mode,
                          &first, &o[4], &o[5]))
        return NULL;
    if (!take(&b, o[0], "x", 'f', 0) || !take(&b, o[1], "weights", 'f', 0) ||
        !take(&b, o[2], "meta", 'i', 0) || !take(&b, o[3], "params", 'f', 0) ||
        !mlp_view(&b, 1, clamp, items(&b, 0), &m, &rows) ||
        !take_aggregate(&b, o[4], o[5], rows * m.dims[m.layers], mode))
        return done(&b, 0);
    float *scratch = PyMem_Malloc(sizeof(float) * 2 * TILE * (size_t)m.max_dim);
    if (!scratch) return PyErr_NoMemory(), done(&b, 0);
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->encode_fold(&m, b.view[0].buf, rows, bound, mode, first, b.view[4].buf, b.view[5].buf,
                   scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    return done(&b, 1);
}

/* gather_fold(table, index, bound, mode, first, acc, aux): fold clip(table[index])
 * (rows of a 2-d (k x width) table) into the aggregate. */
static PyObject *py_gather_fold(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    float bound;
    int mode, first;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OOfiiOO", &o[0], &o[1], &bound, &mode, &first, &o[2], &o[3]))
        return NULL;
    if (!take(&b, o[0], "table", 'f', 0) || !take(&b, o[1], "index", 'q', 0)) return done(&b, 0);
    Py_ssize_t rows = items(&b, 1);
    if (b.view[0].ndim != 2) return done(&b, fail(PyExc_ValueError, "table must be 2-d"));
    Py_ssize_t k = b.view[0].shape[0], width = b.view[0].shape[1];
    if (!take_aggregate(&b, o[2], o[3], rows * width, mode)) return done(&b, 0);
    const int64_t *index = b.view[1].buf;
    for (Py_ssize_t r = 0; r < rows; r++)
        if (index[r] < 0 || index[r] >= k)
            return done(&b, fail(PyExc_IndexError, "lookup index out of range"));
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->gather(mode, first, bound, b.view[0].buf, width, index, rows, b.view[2].buf, b.view[3].buf);
    Py_END_ALLOW_THREADS
    return done(&b, 1);
}

/* term_fold(term, bound, mode, first, acc, aux): fold clip(term) into the aggregate. */
static PyObject *py_term_fold(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    float bound;
    int mode, first;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OfiiOO", &o[0], &bound, &mode, &first, &o[1], &o[2]))
        return NULL;
    if (!take(&b, o[0], "term", 'f', 0) || !take_aggregate(&b, o[1], o[2], items(&b, 0), mode))
        return done(&b, 0);
    if (overlap(&b.view[0], &b.view[1]) || overlap(&b.view[0], &b.view[2]))
        return done(&b, fail(PyExc_ValueError, "term must not share memory with acc or aux"));
    K->fold(mode, first, bound, b.view[0].buf, b.view[1].buf, b.view[2].buf, items(&b, 0));
    return done(&b, 1);
}

/* fold_result(mode, acc, aux): turn the running aggregate into its value, in acc
 * (logsumexp: max + log(sum); product: NaN -> 0, +-inf -> +-3e38). */
static PyObject *py_fold_result(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    int mode;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "iOO", &mode, &o[0], &o[1])) return NULL;
    if (!take(&b, o[0], "acc", 'f', 1) || !take(&b, o[1], "aux", 'f', 0) ||
        !check_aggregate(&b, 0, items(&b, 0), mode))
        return done(&b, 0);
    K->finish(mode, b.view[0].buf, b.view[1].buf, items(&b, 0));
    return done(&b, 1);
}

/* beta_noise(out, icdf, inv_a, inv_b, seed): out = Beta(a, b) node noise drawn through
 * the inverse-CDF table icdf (power-law end intervals), from a generator seeded by seed */
static PyObject *py_beta_noise(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    unsigned long long seed;
    float inv_a, inv_b;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OOffK", &o[0], &o[1], &inv_a, &inv_b, &seed)) return NULL;
    if (!take(&b, o[0], "out", 'f', 1) || !take(&b, o[1], "icdf", 'f', 0)) return done(&b, 0);
    if (items(&b, 1) < 2 || items(&b, 1) > (1 << 24))
        return done(&b, fail(PyExc_ValueError, "icdf needs 2 to 2^24 quantiles"));
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->beta_noise(b.view[0].buf, items(&b, 0), b.view[1].buf, (int)items(&b, 1) - 1, inv_a, inv_b,
                  (uint64_t)seed);
    Py_END_ALLOW_THREADS
    return done(&b, 1);
}

/* fill_bank(bank, offsets, shapes, inits, densities, factors, seed): draw every matrix
 * (see fill_matrix in _kernels_simd.h) into the bank, in order, from one generator */
static PyObject *py_fill_bank(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    unsigned long long seed;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OOOOOOK", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &seed))
        return NULL;
    if (!take(&b, o[0], "bank", 'f', 1) || !take(&b, o[1], "offsets", 'q', 0) ||
        !take(&b, o[2], "shapes", 'i', 0) || !take(&b, o[3], "inits", 'i', 0) ||
        !take(&b, o[4], "densities", 'f', 0) || !take(&b, o[5], "factors", 'f', 0))
        return done(&b, 0);
    Py_ssize_t count = items(&b, 1);
    if (items(&b, 2) != 2 * count || items(&b, 3) != count || items(&b, 4) != count ||
        items(&b, 5) != count)
        return done(&b, fail(PyExc_ValueError, "one offset, shape, init, density, factor per matrix"));
    const int64_t *offsets = b.view[1].buf;
    const int32_t *shapes = b.view[2].buf, *inits = b.view[3].buf;
    int32_t max_rows = 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        int32_t rows = shapes[2 * i], cols = shapes[2 * i + 1];
        if (rows < 1 || cols < 1 || inits[i] < 0 || inits[i] > 5 || offsets[i] < 0 ||
            offsets[i] > items(&b, 0) - (int64_t)rows * cols)
            return done(&b, fail(PyExc_ValueError, "matrix shape, initializer or offset out of range"));
        max_rows = rows > max_rows ? rows : max_rows;
    }
    int32_t *scratch = PyMem_Malloc(sizeof(int32_t) * max_rows);
    if (!scratch) return PyErr_NoMemory(), done(&b, 0);
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->fill_bank(b.view[0].buf, offsets, shapes, inits, b.view[4].buf, b.view[5].buf, count,
                 (uint64_t)seed, scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    return done(&b, 1);
}

/* argmax_similarity(emb, table, out): out[r] = the first c maximizing <emb[r], table[c]>
 * (emb rows x d, table k x d, both 2-d; out int64) */
static PyObject *py_argmax_similarity(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    if (!take(&b, o[0], "emb", 'f', 0) || !take(&b, o[1], "table", 'f', 0) ||
        !take(&b, o[2], "out", 'q', 1))
        return done(&b, 0);
    if (b.view[0].ndim != 2 || b.view[1].ndim != 2 || b.view[0].shape[1] != b.view[1].shape[1] ||
        b.view[1].shape[0] < 1 || items(&b, 2) != b.view[0].shape[0])
        return done(&b, fail(PyExc_ValueError, "need emb (rows x d), table (k x d), out (rows)"));
    Py_ssize_t rows = b.view[0].shape[0];
    int d = (int)b.view[0].shape[1], k = (int)b.view[1].shape[0];
    const KernelTable *kernels = K;
    Py_BEGIN_ALLOW_THREADS
    kernels->argmax_similarity(b.view[0].buf, rows, d, b.view[1].buf, k, b.view[2].buf);
    Py_END_ALLOW_THREADS
    return done(&b, 1);
}

/* distinct(values, unique, index, limit) -> count, or -1 if more than ``limit``
 * values differ: the distinct float32 values of ``values`` by bit pattern (so 0.0 and
 * -0.0 differ) in order of first appearance into ``unique``, and each value's position
 * among them into ``index``. One pass through an open-addressing hash table; it stops
 * as soon as the limit is passed. Integer work only: no build can change it. */
static PyObject *py_distinct(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    Py_ssize_t limit;
    Bufs b = {.count = 0};
    if (!PyArg_ParseTuple(args, "OOOn", &o[0], &o[1], &o[2], &limit)) return NULL;
    if (!take(&b, o[0], "values", 'f', 0) || !take(&b, o[1], "unique", 'f', 1) ||
        !take(&b, o[2], "index", 'q', 1))
        return done(&b, 0);
    Py_ssize_t n = items(&b, 0);
    if (items(&b, 1) < n || items(&b, 2) < n)
        return done(&b, fail(PyExc_ValueError, "unique and index need room for every value"));
    if (n > INT32_MAX) return done(&b, fail(PyExc_ValueError, "at most 2**31 - 1 values"));
    if (limit < 0 || limit > n) limit = n;
    size_t size = 16;
    while (size < 2 * (size_t)limit + 2) size <<= 1;
    int32_t *slots = PyMem_Malloc(size * sizeof(int32_t));
    if (!slots) {
        done(&b, 0);
        return PyErr_NoMemory();
    }
    memset(slots, 0xff, size * sizeof(int32_t)); /* -1: empty */
    const uint32_t *bits = b.view[0].buf;
    uint32_t *unique = b.view[1].buf;
    int64_t *index = b.view[2].buf;
    Py_ssize_t count = 0;
    int shift = 32 - __builtin_ctzll(size);
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t key = bits[i];
        size_t h = (uint32_t)(key * 2654435769u) >> shift;
        while (slots[h] >= 0 && unique[slots[h]] != key) h = (h + 1) & (size - 1);
        if (slots[h] < 0) {
            if (count == limit) {
                count = -1;
                break;
            }
            slots[h] = (int32_t)count;
            unique[count++] = key;
        }
        index[i] = slots[h];
    }
    PyMem_Free(slots);
    if (!done(&b, 1)) return NULL;
    Py_DECREF(Py_None);
    return PyLong_FromSsize_t(count);
}

/* use_kernels(name): "avx2-fma" (if the CPU has it) or the baseline build ("baseline",
 * "neon" on AArch64); returns the previous */
static PyObject *py_use_kernels(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    const KernelTable *previous = K;
    if (strcmp(name, kernels_base.name) == 0) {
        K = &kernels_base;
    } else if (strcmp(name, available()->name) == 0) {
        K = available();
    } else {
        PyErr_Format(PyExc_ValueError, "kernels %s are not available on this machine", name);
        return NULL;
    }
    return PyUnicode_FromString(previous->name);
}

static PyMethodDef methods[] = {
    {"distinct", py_distinct, METH_VARARGS,
     "distinct(values, unique, index, limit) -> count of distinct values, or -1 past limit"},
    {"argmax_similarity", py_argmax_similarity, METH_VARARGS,
     "argmax_similarity(emb, table, out): out = index of the most similar table row"},
    {"fill_bank", py_fill_bank, METH_VARARGS,
     "fill_bank(bank, offsets, shapes, inits, densities, factors, seed): draw matrices"},
    {"use_kernels", py_use_kernels, METH_VARARGS,
     "use_kernels(name): switch to the 'avx2-fma' or the baseline build; returns the previous"},
    {"activate", py_activate, METH_VARARGS, "activate(code, x, params): x = act(x) in place"},
    {"mlp_forward", py_mlp_forward, METH_VARARGS,
     "mlp_forward(x, out, weights, meta, params, clamp): out = MLP(x)"},
    {"encode_fold", py_encode_fold, METH_VARARGS,
     "encode_fold(x, weights, meta, params, clamp, bound, mode, first, acc, aux): "
     "fold clip(MLP(x), +-bound) into the aggregate"},
    {"gather_fold", py_gather_fold, METH_VARARGS,
     "gather_fold(table, index, bound, mode, first, acc, aux): fold clip(table[index])"},
    {"term_fold", py_term_fold, METH_VARARGS,
     "term_fold(term, bound, mode, first, acc, aux): fold clip(term) into the aggregate"},
    {"fold_result", py_fold_result, METH_VARARGS,
     "fold_result(mode, acc, aux): the aggregate's value, written into acc"},
    {"beta_noise", py_beta_noise, METH_VARARGS,
     "beta_noise(out, icdf, inv_a, inv_b, seed): Beta node noise through an inverse-CDF table"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "Compiled SCM kernels (see _kernels.c).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    PyObject *names = PyTuple_New(NUM_ACTIVATIONS);
    if (!names) goto fail;
    for (int i = 0; i < NUM_ACTIVATIONS; i++) {
        PyObject *s = PyUnicode_FromString(ACTIVATION_NAMES[i]);
        if (!s) {
            Py_DECREF(names);
            goto fail;
        }
        PyTuple_SET_ITEM(names, i, s);
    }
    if (PyModule_AddObject(m, "ACTIVATIONS", names) < 0) {
        Py_DECREF(names);
        goto fail;
    }
    PyObject *aggregations = Py_BuildValue("(ssss)", "sum", "max", "product", "logsumexp");
    if (!aggregations || PyModule_AddObject(m, "AGGREGATIONS", aggregations) < 0) {
        Py_XDECREF(aggregations);
        goto fail;
    }
    PyObject *inits = Py_BuildValue("(ssssss)", INITIALIZER_NAMES[0], INITIALIZER_NAMES[1],
                                    INITIALIZER_NAMES[2], INITIALIZER_NAMES[3],
                                    INITIALIZER_NAMES[4], INITIALIZER_NAMES[5]);
    if (!inits || PyModule_AddObject(m, "INITIALIZERS", inits) < 0) {
        Py_XDECREF(inits);
        goto fail;
    }
    K = available();
    if (PyModule_AddStringConstant(m, "DEFAULT", K->name) < 0) goto fail;
    if (PyModule_AddStringConstant(m, "BASELINE", kernels_base.name) < 0) goto fail;
    if (PyModule_AddStringConstant(m, "COMPILER", COMPILER) < 0) goto fail;
#ifdef HAVE_AVX2_FMA_BUILD
    if (PyModule_AddIntConstant(m, "AVX2_FMA_COMPILED", 1) < 0) goto fail;
#else
    if (PyModule_AddIntConstant(m, "AVX2_FMA_COMPILED", 0) < 0) goto fail;
#endif
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
