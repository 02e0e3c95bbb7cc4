// ggml_kquant_ref runs ggml's own K-quant code (from node-llama-cpp's
// prebuilt libggml-base.so and libggml-cpu-haswell.so) on input given on
// stdin, so the Go tests can compare against llama.cpp's real kernels.
//
// stdin:  int32 n, int32 rows, float32 w[rows*n], float32 x[n]
// stdout: Q8_K bytes of x (quantize_row_q8_K, as ggml-cpu calls it), then for
//         Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: rows*row_size bytes of w quantized by
//         quantize_row_q*_K_ref, then rows float32 ggml_vec_dot_q*_K_q8_K.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*quant_fn)(const float *, void *, int64_t);
typedef void (*dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);

void ggml_cpu_init(void);
void quantize_row_q8_K(const float *, void *, int64_t);
void quantize_row_q2_K_ref(const float *, void *, int64_t);
void quantize_row_q3_K_ref(const float *, void *, int64_t);
void quantize_row_q4_K_ref(const float *, void *, int64_t);
void quantize_row_q5_K_ref(const float *, void *, int64_t);
void quantize_row_q6_K_ref(const float *, void *, int64_t);
void ggml_vec_dot_q2_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q3_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q6_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);

static void read_all(void *p, size_t n) {
    if (fread(p, 1, n, stdin) != n) { fprintf(stderr, "short input\n"); exit(1); }
}

int main(void) {
    ggml_cpu_init();
    int32_t n, rows;
    read_all(&n, 4);
    read_all(&rows, 4);
    float *w = malloc(sizeof(float) * (size_t)n * rows);
    float *x = malloc(sizeof(float) * (size_t)n);
    read_all(w, sizeof(float) * (size_t)n * rows);
    read_all(x, sizeof(float) * (size_t)n);

    const int nb = n / 256;
    uint8_t *q8 = calloc((size_t)nb, 292);
    quantize_row_q8_K(x, q8, n);
    fwrite(q8, 292, (size_t)nb, stdout);

    const quant_fn qf[5] = {quantize_row_q2_K_ref, quantize_row_q3_K_ref, quantize_row_q4_K_ref,
                            quantize_row_q5_K_ref, quantize_row_q6_K_ref};
    const dot_fn df[5] = {ggml_vec_dot_q2_K_q8_K, ggml_vec_dot_q3_K_q8_K, ggml_vec_dot_q4_K_q8_K,
                          ggml_vec_dot_q5_K_q8_K, ggml_vec_dot_q6_K_q8_K};
    const size_t bsz[5] = {84, 110, 144, 176, 210};
    for (int t = 0; t < 5; t++) {
        size_t row_size = bsz[t] * nb;
        uint8_t *q = calloc((size_t)rows, row_size);
        float *dots = malloc(sizeof(float) * rows);
        for (int r = 0; r < rows; r++) {
            qf[t](w + (size_t)r * n, q + r * row_size, n);
            df[t](n, &dots[r], 0, q + r * row_size, 0, q8, 0, 1);
        }
        fwrite(q, row_size, (size_t)rows, stdout);
        fwrite(dots, sizeof(float), (size_t)rows, stdout);
        free(q);
        free(dots);
    }
    return 0;
}
