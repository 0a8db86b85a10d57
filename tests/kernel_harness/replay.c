/*
 * Replays a recording of kernel calls (tests/kernel_harness/recording.py) on one
 * build of the kernels and compares every output with the recorded one, bit for bit.
 *
 *     replay RECORDING [BUILD]     BUILD: "avx2-fma" or the baseline build's name
 *
 * It links the kernels without Python (PLUREL_KERNELS_STANDALONE), so it can be
 * cross-compiled and run under an emulator: tests/test_kernels.py builds it for x86-64
 * with GCC and clang and for AArch64, and runs it under qemu-user there. Output: one
 * line per kernel, "<name> <calls> calls <mismatches> mismatches" (calls with an output
 * that differs), the first few mismatches in detail, the number of NaN outputs whose
 * bits differ (see compare), and "build <name>: ok" or "build <name>: MISMATCH"; the
 * exit status is 0 only when every output matched (2 for unusable input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_kernels.h" /* compiled with -I plurel_sql/generator */

typedef struct {
    char kind; /* 'f' float32, 'i' int32, 'q' int64 */
    uint64_t count;
    const void *data;
} Array;

enum { ACTIVATE, MLP_FORWARD, ENCODE_FOLD, GATHER_FOLD, TERM_FOLD, FOLD_RESULT, BETA_NOISE,
       FILL_BANK, ARGMAX_SIMILARITY, NUM_KERNELS };
static const char *KERNEL_NAMES[NUM_KERNELS] = {
    "activate",  "mlp_forward", "encode_fold", "gather_fold",      "term_fold",
    "fold_result", "beta_noise", "fill_bank",  "argmax_similarity",
};
/* arguments per kernel: read-only inputs, then (before, after) per writable buffer */
static const int NUM_ARGS[NUM_KERNELS] = {2 + 2, 5 + 2, 8 + 4, 6 + 4, 4 + 4, 1 + 4, 4 + 2, 6 + 2, 3 + 2};

static void die(const char *message)
{
    fprintf(stderr, "replay: %s\n", message);
    exit(2);
}

static size_t item_size(char kind) { return kind == 'q' ? 8 : 4; }

/* a writable copy of a recorded array, 32-byte aligned, at least one item long */
static void *copy_of(const Array *a)
{
    size_t bytes = a->count * item_size(a->kind);
    void *p = aligned_alloc(32, (bytes / 32 + 1) * 32);
    if (!p) die("out of memory");
    memcpy(p, a->data, bytes);
    return p;
}

static float f32(const Array *a) { return ((const float *)a->data)[0]; }
static int32_t i32(const Array *a) { return ((const int32_t *)a->data)[0]; }
static uint64_t u64(const Array *a)
{
    uint64_t v;
    memcpy(&v, a->data, sizeof v);
    return v;
}

/* The MLP of recorded (weights, meta, params) arrays, as _kernels.c's mlp_view
 * builds it (the recording comes from calls that passed its checks). */
static MLPView mlp_of(const Array *weights, const Array *meta, const Array *params, float clamp)
{
    const int32_t *m = meta->data;
    MLPView v;
    v.layers = m[0];
    v.dims = m + 1;
    v.acts = v.dims + v.layers + 1;
    v.offsets = v.acts + v.layers - 1;
    v.matrices = v.offsets + v.layers - 1;
    v.weights = weights->data;
    v.params = params->data;
    v.clamp = clamp;
    v.max_dim = 0;
    for (int l = 0; l <= v.layers; l++)
        if (v.dims[l] > v.max_dim) v.max_dim = v.dims[l];
    return v;
}

static long mismatches[NUM_KERNELS], calls[NUM_KERNELS], nan_bits_differ, reported;

static int is_nan_bits(uint32_t b) { return (b & 0x7fffffffu) > 0x7f800000u; }

/* Compare buffer ``got`` with the recorded ``want``, bit for bit, except that any NaN
 * matches any NaN: IEEE 754 leaves a NaN's sign and payload to the hardware (x86
 * makes negative default NaNs, AArch64 positive ones) and to the order in which the
 * compiler put the operands; SQL engines, and the package's checksums, hold every
 * NaN the same (counted, not failed). Reports the first difference of a call. */
static void compare(int kernel, long record, const char *what, const void *got, const Array *want)
{
    size_t size = item_size(want->kind);
    if (memcmp(got, want->data, want->count * size) == 0) return;
    int reported_here = 0;
    for (uint64_t i = 0; i < want->count; i++) {
        const char *g = (const char *)got + i * size, *w = (const char *)want->data + i * size;
        if (memcmp(g, w, size) == 0) continue;
        if (want->kind == 'f') {
            float gf, wf;
            uint32_t gb, wb;
            memcpy(&gf, g, 4), memcpy(&wf, w, 4), memcpy(&gb, g, 4), memcpy(&wb, w, 4);
            if (is_nan_bits(gb) && is_nan_bits(wb)) {
                nan_bits_differ++;
                continue;
            }
            if (!reported_here++) mismatches[kernel]++;
            if (reported_here == 1 && reported++ < 10)
                printf("record %ld %s %s[%llu]: got %.9g (0x%08x), recorded %.9g (0x%08x)\n",
                       record, KERNEL_NAMES[kernel], what, (unsigned long long)i, gf, gb, wf,
                       wb);
        } else {
            int64_t gi = 0, wi = 0;
            memcpy(&gi, g, size), memcpy(&wi, w, size);
            mismatches[kernel]++;
            if (reported++ < 10)
                printf("record %ld %s %s[%llu]: got %lld, recorded %lld\n", record,
                       KERNEL_NAMES[kernel], what, (unsigned long long)i, (long long)gi,
                       (long long)wi);
            return;
        }
    }
}

/* The scratch space of an MLP call: 2 x TILE x max_dim floats. */
static float *mlp_scratch(const MLPView *m)
{
    float *p = aligned_alloc(32, sizeof(float) * 2 * TILE * (size_t)m->max_dim);
    if (!p) die("out of memory");
    return p;
}

/* Run record ``r`` (kernel ``k``, arguments ``a``) on build ``K``. */
static void run(const KernelTable *K, long r, int k, const Array *a)
{
    calls[k]++;
    switch (k) {
    case ACTIVATE: { /* code, params; x */
        float *x = copy_of(&a[2]);
        K->activate(i32(&a[0]), x, (Py_ssize_t)a[2].count, a[1].data);
        compare(k, r, "x", x, &a[3]);
        free(x);
        break;
    }
    case MLP_FORWARD: { /* x, weights, meta, params, clamp; out */
        MLPView m = mlp_of(&a[1], &a[2], &a[3], f32(&a[4]));
        float *out = copy_of(&a[5]), *scratch = mlp_scratch(&m);
        K->mlp_forward(&m, a[0].data, (Py_ssize_t)(a[0].count / m.dims[0]), out, scratch);
        compare(k, r, "out", out, &a[6]);
        free(out), free(scratch);
        break;
    }
    case ENCODE_FOLD:   /* x, weights, meta, params, clamp, bound, mode, first; acc, aux */
    case GATHER_FOLD:   /* table, width, index, bound, mode, first; acc, aux */
    case TERM_FOLD:     /* term, bound, mode, first; acc, aux */
    case FOLD_RESULT: { /* mode; acc, aux */
        int n = NUM_ARGS[k] - 4;
        float *acc = copy_of(&a[n]), *aux = copy_of(&a[n + 2]);
        int mode = i32(&a[n - (k == FOLD_RESULT ? 1 : 2)]), first = i32(&a[n - 1]);
        Py_ssize_t size = (Py_ssize_t)a[n].count;
        if (k == ENCODE_FOLD) {
            MLPView m = mlp_of(&a[1], &a[2], &a[3], f32(&a[4]));
            float *scratch = mlp_scratch(&m);
            K->encode_fold(&m, a[0].data, (Py_ssize_t)(a[0].count / m.dims[0]), f32(&a[5]), mode,
                           first, acc, aux, scratch);
            free(scratch);
        } else if (k == GATHER_FOLD) {
            K->gather(mode, first, f32(&a[3]), a[0].data, i32(&a[1]), a[2].data,
                      (Py_ssize_t)a[2].count, acc, aux);
        } else if (k == TERM_FOLD) {
            K->fold(mode, first, f32(&a[1]), a[0].data, acc, aux, size);
        } else {
            K->finish(mode, acc, aux, size);
        }
        compare(k, r, "acc", acc, &a[n + 1]);
        compare(k, r, "aux", aux, &a[n + 3]); /* empty when aux was acc itself */
        free(acc), free(aux);
        break;
    }
    case BETA_NOISE: { /* icdf, inv_a, inv_b, seed; out */
        float *out = copy_of(&a[4]);
        K->beta_noise(out, (Py_ssize_t)a[4].count, a[0].data, (int)a[0].count - 1, f32(&a[1]),
                      f32(&a[2]), u64(&a[3]));
        compare(k, r, "out", out, &a[5]);
        free(out);
        break;
    }
    case FILL_BANK: { /* offsets, shapes, inits, densities, factors, seed; bank */
        float *bank = copy_of(&a[6]);
        int32_t max_rows = 1;
        const int32_t *shapes = a[1].data;
        for (uint64_t i = 0; i < a[0].count; i++)
            max_rows = shapes[2 * i] > max_rows ? shapes[2 * i] : max_rows;
        int32_t *scratch = malloc(sizeof(int32_t) * (size_t)max_rows);
        if (!scratch) die("out of memory");
        K->fill_bank(bank, a[0].data, a[1].data, a[2].data, a[3].data, a[4].data,
                     (Py_ssize_t)a[0].count, u64(&a[5]), scratch);
        compare(k, r, "bank", bank, &a[7]);
        free(bank), free(scratch);
        break;
    }
    case ARGMAX_SIMILARITY: { /* emb, d, table; out */
        int d = i32(&a[1]);
        int64_t *out = copy_of(&a[3]);
        K->argmax_similarity(a[0].data, (Py_ssize_t)(a[0].count / d), d, a[2].data,
                             (int)(a[2].count / d), out);
        compare(k, r, "out", out, &a[4]);
        free(out);
        break;
    }
    }
}

static const KernelTable *build_named(const char *name)
{
    if (strcmp(name, kernels_base.name) == 0) return &kernels_base;
#ifdef HAVE_AVX2_FMA_BUILD
    if (strcmp(name, kernels_avx2_fma.name) == 0) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
            die("this CPU lacks AVX2 or FMA3");
        return &kernels_avx2_fma;
    }
#endif
    fprintf(stderr, "replay: no build %s here (the baseline build is %s)\n", name,
            kernels_base.name);
    exit(2);
}

/* little-endian fields of the recording, read one after another */
typedef struct {
    const unsigned char *p, *end;
} Reader;

static const unsigned char *take(Reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) die("truncated recording");
    const unsigned char *at = r->p;
    r->p += n;
    return at;
}

static uint64_t take_uint(Reader *r, int bytes)
{
    const unsigned char *b = take(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) die("usage: replay RECORDING [BUILD]");
    const uint16_t probe = 1; /* the recording's items are used in place, little-endian */
    if (*(const unsigned char *)&probe != 1) die("big-endian machines are not supported");
    const KernelTable *K = argc == 3 ? build_named(argv[2]) : &kernels_base;
    FILE *f = fopen(argv[1], "rb");
    if (!f) die("cannot open the recording");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *file = aligned_alloc(32, (size_t)size / 32 * 32 + 32);
    if (!file || fread(file, 1, (size_t)size, f) != (size_t)size) die("cannot read the recording");
    fclose(f);
    Reader in = {file, file + size};
    if (memcmp(take(&in, 4), "PLKR", 4) != 0 || take_uint(&in, 4) != 1)
        die("not a version 1 kernel recording");
    uint64_t num_arrays = take_uint(&in, 4), num_records = take_uint(&in, 4);
    Array *arrays = calloc(num_arrays, sizeof(Array));
    if (!arrays) die("out of memory");
    for (uint64_t i = 0; i < num_arrays; i++) {
        arrays[i].kind = (char)take(&in, 8)[0];
        if (!strchr("fiq", arrays[i].kind) || arrays[i].kind == 0) die("unknown array kind");
        arrays[i].count = take_uint(&in, 8);
        size_t bytes = arrays[i].count * item_size(arrays[i].kind);
        arrays[i].data = take(&in, bytes); /* 8-byte aligned: every field before is */
        take(&in, (8 - bytes % 8) % 8);
    }
    Array args[16];
    for (uint64_t r = 0; r < num_records; r++) {
        uint64_t kernel = take_uint(&in, 4), count = take_uint(&in, 4);
        if (kernel >= NUM_KERNELS || count != (uint64_t)NUM_ARGS[kernel])
            die("malformed record");
        for (uint64_t j = 0; j < count; j++) {
            uint64_t index = take_uint(&in, 4);
            if (index >= num_arrays) die("array index out of range");
            args[j] = arrays[index];
        }
        run(K, (long)r, (int)kernel, args);
    }
    long total = 0;
    for (int k = 0; k < NUM_KERNELS; k++) {
        printf("%s %ld calls %ld mismatches\n", KERNEL_NAMES[k], calls[k], mismatches[k]);
        total += mismatches[k];
    }
    printf("NaN outputs with other NaN bits: %ld\n", nan_bits_differ);
    printf("build %s: %s\n", K->name, total ? "MISMATCH" : "ok");
    return total ? 1 : 0;
}
