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
 * Two builds of the kernels exist on x86-64 (AVX2 and baseline SSE2); they give
 * bit-identical results, and the AVX2 one is used when the CPU has it.
 * ``use_kernels(name)`` switches (tests compare the two).
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

static const KernelTable *K = &kernels_base;

static const KernelTable *available(void)
{
#ifdef HAVE_AVX2_BUILD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return &kernels_avx2;
#endif
    return &kernels_base;
}

/* ----------------------------------------------------- Python buffer glue */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static int get_buf(PyObject *obj, Buf *b, const char *name, char kind, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) return -1;
    b->held = 1;
    const char *fmt = b->view.format ? b->view.format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    int ok = (kind == 'f' && fmt[0] == 'f' && b->view.itemsize == 4) ||
             (kind == 'i' && b->view.itemsize == 4 && (fmt[0] == 'i' || fmt[0] == 'l')) ||
             (kind == 'q' && b->view.itemsize == 8 && (fmt[0] == 'q' || fmt[0] == 'l'));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array", name,
                     kind == 'f' ? "float32" : (kind == 'i' ? "int32" : "int64"));
        return -1;
    }
    return 0;
}

static void release(Buf *bufs, int count)
{
    for (int i = 0; i < count; i++)
        if (bufs[i].held) PyBuffer_Release(&bufs[i].view);
}

static Py_ssize_t count_of(const Buf *b) { return b->view.len / b->view.itemsize; }

/* bufs[0..2] = weights, meta, params */
static int mlp_view(Buf *bufs, float clamp, MLPView *m)
{
    const int32_t *meta = bufs[1].view.buf;
    Py_ssize_t n = count_of(&bufs[1]);
    if (n < 1 || meta[0] < 1 || n != 4 * (Py_ssize_t)meta[0]) {
        PyErr_SetString(PyExc_ValueError, "malformed MLP meta array");
        return -1;
    }
    m->layers = meta[0];
    m->dims = meta + 1;
    m->acts = m->dims + m->layers + 1;
    m->offsets = m->acts + m->layers - 1;
    m->matrices = m->offsets + m->layers - 1;
    m->weights = bufs[0].view.buf;
    m->params = bufs[2].view.buf;
    m->clamp = clamp;
    m->max_dim = 0;
    for (int l = 0; l <= m->layers; l++) {
        if (m->dims[l] < 1) {
            PyErr_SetString(PyExc_ValueError, "MLP dimensions must be positive");
            return -1;
        }
        if (m->dims[l] > m->max_dim) m->max_dim = m->dims[l];
        if (l < m->layers && (m->matrices[l] < 0 || (Py_ssize_t)m->matrices[l] +
                                                         (Py_ssize_t)m->dims[l] * m->dims[l + 1] >
                                                     count_of(&bufs[0]))) {
            PyErr_SetString(PyExc_ValueError, "MLP matrix outside its weights array");
            return -1;
        }
    }
    for (int l = 0; l < m->layers - 1; l++)
        if (m->acts[l] < 0 || m->acts[l] >= NUM_ACTIVATIONS || m->offsets[l] < 0 ||
            m->offsets[l] >= count_of(&bufs[2])) {
            PyErr_SetString(PyExc_ValueError, "MLP activation code or offset out of range");
            return -1;
        }
    return 0;
}

/* acc/aux buffers must hold rows x width floats */
static int check_acc(Buf *acc, Buf *aux, Py_ssize_t size, int mode)
{
    if (mode < AGG_SUM || mode > AGG_LOGSUMEXP) {
        PyErr_SetString(PyExc_ValueError, "unknown aggregation code");
        return -1;
    }
    if (count_of(acc) != size || count_of(aux) != size) {
        PyErr_SetString(PyExc_ValueError, "accumulator size does not match the terms");
        return -1;
    }
    return 0;
}

static PyObject *py_activate(PyObject *self, PyObject *args)
{
    int code;
    PyObject *x_obj, *p_obj;
    Buf b[2] = {0};
    if (!PyArg_ParseTuple(args, "iOO", &code, &x_obj, &p_obj)) return NULL;
    if (code < 0 || code >= NUM_ACTIVATIONS) {
        PyErr_SetString(PyExc_ValueError, "unknown activation code");
        return NULL;
    }
    if (get_buf(x_obj, &b[0], "x", 'f', 1) < 0 || get_buf(p_obj, &b[1], "params", 'f', 0) < 0)
        goto fail;
    if (code == RANDOM_SINES &&
        (count_of(&b[1]) < 1 || count_of(&b[1]) < 1 + 3 * (Py_ssize_t)((float *)b[1].view.buf)[0])) {
        PyErr_SetString(PyExc_ValueError, "random_sines needs [count, 3 x count values]");
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    K->activate(code, b[0].view.buf, count_of(&b[0]), b[1].view.buf);
    Py_END_ALLOW_THREADS
    release(b, 2);
    Py_RETURN_NONE;
fail:
    release(b, 2);
    return NULL;
}

/* mlp_forward(x, out, weights, meta, params, clamp): out = MLP(x) */
static PyObject *py_mlp_forward(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    float clamp;
    Buf b[5] = {0};
    MLPView m;
    if (!PyArg_ParseTuple(args, "OOOOOf", &o[0], &o[1], &o[2], &o[3], &o[4], &clamp))
        return NULL;
    if (get_buf(o[0], &b[0], "x", 'f', 0) < 0 || get_buf(o[1], &b[1], "out", 'f', 1) < 0 ||
        get_buf(o[2], &b[2], "weights", 'f', 0) < 0 || get_buf(o[3], &b[3], "meta", 'i', 0) < 0 ||
        get_buf(o[4], &b[4], "params", 'f', 0) < 0 || mlp_view(b + 2, clamp, &m) < 0)
        goto fail;
    int din = m.dims[0], dout = m.dims[m.layers];
    Py_ssize_t rows = count_of(&b[0]) / din;
    if (rows * din != count_of(&b[0]) || rows * dout != count_of(&b[1])) {
        PyErr_SetString(PyExc_ValueError, "x / out sizes do not match the MLP");
        goto fail;
    }
    float *scratch = PyMem_Malloc(sizeof(float) * 2 * TILE * m.max_dim);
    if (!scratch) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    K->mlp_forward(&m, b[0].view.buf, rows, b[1].view.buf, scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    release(b, 5);
    Py_RETURN_NONE;
fail:
    release(b, 5);
    return NULL;
}

/* encode_fold(x, weights, meta, params, clamp, bound, mode, first, acc, aux):
 * fold clip(MLP(x), +-bound) into the aggregate (acc, aux). */
static PyObject *py_encode_fold(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    float clamp, bound;
    int mode, first;
    Buf b[6] = {0};
    MLPView m;
    if (!PyArg_ParseTuple(args, "OOOOffiiOO", &o[0], &o[1], &o[2], &o[3], &clamp, &bound, &mode,
                          &first, &o[4], &o[5]))
        return NULL;
    if (get_buf(o[0], &b[0], "x", 'f', 0) < 0 || get_buf(o[1], &b[1], "weights", 'f', 0) < 0 ||
        get_buf(o[2], &b[2], "meta", 'i', 0) < 0 || get_buf(o[3], &b[3], "params", 'f', 0) < 0 ||
        get_buf(o[4], &b[4], "acc", 'f', 1) < 0 || get_buf(o[5], &b[5], "aux", 'f', 1) < 0 ||
        mlp_view(b + 1, clamp, &m) < 0)
        goto fail;
    int din = m.dims[0], dout = m.dims[m.layers];
    Py_ssize_t rows = count_of(&b[0]) / din;
    if (rows * din != count_of(&b[0])) {
        PyErr_SetString(PyExc_ValueError, "x size does not match the MLP");
        goto fail;
    }
    if (check_acc(&b[4], &b[5], rows * dout, mode) < 0) goto fail;
    float *scratch = PyMem_Malloc(sizeof(float) * 2 * TILE * m.max_dim);
    if (!scratch) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    K->encode_fold(&m, b[0].view.buf, rows, bound, mode, first, b[4].view.buf, b[5].view.buf,
                   scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    release(b, 6);
    Py_RETURN_NONE;
fail:
    release(b, 6);
    return NULL;
}

/* gather_fold(table, index, bound, mode, first, acc, aux): fold clip(table[index])
 * (a lookup of rows of a (k x width) table) into the aggregate. */
static PyObject *py_gather_fold(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    float bound;
    int mode, first;
    Buf b[4] = {0};
    if (!PyArg_ParseTuple(args, "OOfiiOO", &o[0], &o[1], &bound, &mode, &first, &o[2], &o[3]))
        return NULL;
    if (get_buf(o[0], &b[0], "table", 'f', 0) < 0 || get_buf(o[1], &b[1], "index", 'q', 0) < 0 ||
        get_buf(o[2], &b[2], "acc", 'f', 1) < 0 || get_buf(o[3], &b[3], "aux", 'f', 1) < 0)
        goto fail;
    Py_ssize_t rows = count_of(&b[1]);
    if (rows == 0 || b[0].view.ndim != 2) {
        if (rows == 0) {
            release(b, 4);
            Py_RETURN_NONE;
        }
        PyErr_SetString(PyExc_ValueError, "table must be 2-d");
        goto fail;
    }
    Py_ssize_t k = b[0].view.shape[0], width = b[0].view.shape[1];
    if (check_acc(&b[2], &b[3], rows * width, mode) < 0) goto fail;
    const int64_t *index = b[1].view.buf;
    for (Py_ssize_t r = 0; r < rows; r++)
        if (index[r] < 0 || index[r] >= k) {
            PyErr_SetString(PyExc_IndexError, "lookup index out of range");
            goto fail;
        }
    const float *table = b[0].view.buf;
    float *acc = b[2].view.buf, *aux = b[3].view.buf;
    Py_BEGIN_ALLOW_THREADS
    K->gather(mode, first, bound, table, width, index, rows, acc, aux);
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
fail:
    release(b, 4);
    return NULL;
}

/* term_fold(term, bound, mode, first, acc, aux): fold clip(term) into the aggregate. */
static PyObject *py_term_fold(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    float bound;
    int mode, first;
    Buf b[3] = {0};
    if (!PyArg_ParseTuple(args, "OfiiOO", &o[0], &bound, &mode, &first, &o[1], &o[2]))
        return NULL;
    if (get_buf(o[0], &b[0], "term", 'f', 0) < 0 || get_buf(o[1], &b[1], "acc", 'f', 1) < 0 ||
        get_buf(o[2], &b[2], "aux", 'f', 1) < 0 || check_acc(&b[1], &b[2], count_of(&b[0]), mode) < 0)
        goto fail;
    K->fold(mode, first, bound, b[0].view.buf, b[1].view.buf, b[2].view.buf, count_of(&b[0]));
    release(b, 3);
    Py_RETURN_NONE;
fail:
    release(b, 3);
    return NULL;
}

/* fold_result(mode, acc, aux): turn the running aggregate into its value, in acc
 * (logsumexp: max + log(sum); product: NaN -> 0, +-inf -> +-3e38). */
static PyObject *py_fold_result(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    int mode;
    Buf b[2] = {0};
    if (!PyArg_ParseTuple(args, "iOO", &mode, &o[0], &o[1])) return NULL;
    if (get_buf(o[0], &b[0], "acc", 'f', 1) < 0 || get_buf(o[1], &b[1], "aux", 'f', 0) < 0 ||
        check_acc(&b[0], &b[1], count_of(&b[0]), mode) < 0)
        goto fail;
    K->finish(mode, b[0].view.buf, b[1].view.buf, count_of(&b[0]));
    release(b, 2);
    Py_RETURN_NONE;
fail:
    release(b, 2);
    return NULL;
}

/* beta_noise(out, icdf, inv_a, inv_b, seed): out = Beta(a, b) node noise drawn through
 * the inverse-CDF table icdf (power-law end intervals), from a generator seeded by seed */
static PyObject *py_beta_noise(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    unsigned long long seed;
    float inv_a, inv_b;
    Buf b[2] = {0};
    if (!PyArg_ParseTuple(args, "OOffK", &o[0], &o[1], &inv_a, &inv_b, &seed)) return NULL;
    if (get_buf(o[0], &b[0], "out", 'f', 1) < 0 || get_buf(o[1], &b[1], "icdf", 'f', 0) < 0)
        goto fail;
    if (count_of(&b[1]) < 2) {
        PyErr_SetString(PyExc_ValueError, "icdf needs at least 2 quantiles");
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    K->beta_noise(b[0].view.buf, count_of(&b[0]), b[1].view.buf, (int)count_of(&b[1]) - 1, inv_a,
                  inv_b, (uint64_t)seed);
    Py_END_ALLOW_THREADS
    release(b, 2);
    Py_RETURN_NONE;
fail:
    release(b, 2);
    return NULL;
}

/* fill_bank(bank, offsets, shapes, inits, densities, factors, seed): draw every matrix
 * (see fill_matrix in _kernels_simd.h) into the bank, in order, from one generator */
static PyObject *py_fill_bank(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    unsigned long long seed;
    Buf b[6] = {0};
    if (!PyArg_ParseTuple(args, "OOOOOOK", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &seed))
        return NULL;
    if (get_buf(o[0], &b[0], "bank", 'f', 1) < 0 || get_buf(o[1], &b[1], "offsets", 'q', 0) < 0 ||
        get_buf(o[2], &b[2], "shapes", 'i', 0) < 0 || get_buf(o[3], &b[3], "inits", 'i', 0) < 0 ||
        get_buf(o[4], &b[4], "densities", 'f', 0) < 0 ||
        get_buf(o[5], &b[5], "factors", 'f', 0) < 0)
        goto fail;
    Py_ssize_t count = count_of(&b[1]);
    if (count_of(&b[2]) != 2 * count || count_of(&b[3]) != count || count_of(&b[4]) != count ||
        count_of(&b[5]) != count) {
        PyErr_SetString(PyExc_ValueError, "one offset, shape, init, density, factor per matrix");
        goto fail;
    }
    const int64_t *offsets = b[1].view.buf;
    const int32_t *shapes = b[2].view.buf, *inits = b[3].view.buf;
    int32_t max_rows = 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        int32_t rows = shapes[2 * i], cols = shapes[2 * i + 1];
        if (rows < 1 || cols < 1 || inits[i] < 0 || inits[i] > 5 || offsets[i] < 0 ||
            offsets[i] + (int64_t)rows * cols > count_of(&b[0])) {
            PyErr_SetString(PyExc_ValueError, "matrix shape, initializer or offset out of range");
            goto fail;
        }
        max_rows = rows > max_rows ? rows : max_rows;
    }
    int32_t *scratch = PyMem_Malloc(sizeof(int32_t) * max_rows);
    if (!scratch) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    K->fill_bank(b[0].view.buf, offsets, shapes, inits, b[4].view.buf, b[5].view.buf, count,
                 (uint64_t)seed, scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    release(b, 6);
    Py_RETURN_NONE;
fail:
    release(b, 6);
    return NULL;
}

/* use_kernels(name): "avx2" (if the CPU has it) or "baseline"; returns the previous */
static PyObject *py_use_kernels(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    const KernelTable *previous = K;
    if (strcmp(name, "baseline") == 0) {
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
    {"fill_bank", py_fill_bank, METH_VARARGS,
     "fill_bank(bank, offsets, shapes, inits, densities, factors, seed): draw matrices"},
    {"use_kernels", py_use_kernels, METH_VARARGS,
     "use_kernels(name): switch to the 'avx2' or 'baseline' build; returns the previous"},
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
    PyObject *inits = Py_BuildValue("(ssssss)", INITIALIZER_NAMES[0], INITIALIZER_NAMES[1],
                                    INITIALIZER_NAMES[2], INITIALIZER_NAMES[3],
                                    INITIALIZER_NAMES[4], INITIALIZER_NAMES[5]);
    if (!inits || PyModule_AddObject(m, "INITIALIZERS", inits) < 0) {
        Py_XDECREF(inits);
        goto fail;
    }
    if (PyModule_AddIntConstant(m, "TILE", TILE) < 0) goto fail;
    K = available();
    if (PyModule_AddStringConstant(m, "DEFAULT", K->name) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
