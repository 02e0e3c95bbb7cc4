// llama_dump runs llama.cpp (node-llama-cpp's prebuilt libllama) on a token
// path, one llama_decode per token like scripts/llamacpp-ref.mjs "probs" with
// "oneByOne", and writes every node of every graph it computes (and the
// sources of the attention products, the KV cache views) as float32 to
// OUT/posN.bin. It is a diagnostic tool for
// finding the first operation where the CPU backend and llama.cpp differ.
//
// Build (headers from node-llama-cpp's llama.cpp bundle, cloned to LLSRC):
//
//   gcc -O1 -o llama_dump llama_dump.c -I$LLSRC/include -I$LLSRC/ggml/include \
//       -L$BINS -l:libllama.v0.4.0.so -l:libggml-base.so -l:libggml.v0.4.0.so -Wl,-rpath,$BINS
//
// Run: LLAMA_BINS=$BINS llama_dump MODEL OUTDIR kvf32(0|1) batch(0|1) tok1 tok2 ...
// With batch=1 the whole path is one llama_decode (all logits requested).
//
// Record layout (little endian): u32 name length, name, i64 ne[4], then
// ne0*ne1*ne2*ne3 float32 values in ggml element order. Source records are
// named "NODE@srcI:SRCNAME".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

struct dump {
    FILE *f;
};

static float elem(const struct ggml_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const char *p = (const char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    switch (t->type) {
    case GGML_TYPE_F32:
        return *(const float *)p;
    case GGML_TYPE_F16:
        return ggml_fp16_to_fp32(*(const ggml_fp16_t *)p);
    case GGML_TYPE_I32:
        return (float)*(const int32_t *)p;
    default:
        return 0.0f / 0.0f;
    }
}

static void write_tensor(FILE *f, const char *name, const struct ggml_tensor *t) {
    if (t->data == NULL) return;
    if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16 && t->type != GGML_TYPE_I32) return;
    uint32_t n = (uint32_t)strlen(name);
    fwrite(&n, 4, 1, f);
    fwrite(name, 1, n, f);
    fwrite(t->ne, 8, 4, f);
    for (int64_t i3 = 0; i3 < t->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < t->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < t->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < t->ne[0]; i0++) {
                    float v = elem(t, i0, i1, i2, i3);
                    fwrite(&v, 4, 1, f);
                }
}

static bool cb(struct ggml_tensor *t, bool ask, void *ud) {
    if (ask) return true;
    struct dump *d = ud;
    if (d->f == NULL) return true;
    write_tensor(d->f, t->name, t);
    // Sources only of the attention products (the KV cache views): every
    // other input is the output of an earlier node.
    if (strncmp(t->name, "kq-", 3) != 0 && strncmp(t->name, "kqv-", 4) != 0) return true;
    for (int i = 0; i < GGML_MAX_SRC; i++) {
        const struct ggml_tensor *s = t->src[i];
        if (s == NULL) continue;
        char name[256];
        snprintf(name, sizeof name, "%s@src%d:%s", t->name, i, s->name);
        write_tensor(d->f, name, s);
    }
    return true;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: llama_dump MODEL OUTDIR kvf32 batch tokens...\n");
        return 2;
    }
    const char *model_path = argv[1], *out = argv[2];
    int kvf32 = atoi(argv[3]), batch = atoi(argv[4]);
    int ntok = argc - 5;
    llama_token *toks = malloc(sizeof(llama_token) * ntok);
    for (int i = 0; i < ntok; i++) toks[i] = atoi(argv[5 + i]);

    // The CPU backend variants sit next to libllama; LLAMA_BINS names that folder.
    const char *bins = getenv("LLAMA_BINS");
    if (bins) ggml_backend_load_all_from_path(bins);
    else ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(model_path, mp);
    if (!model) return 1;

    struct dump d = {0};
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = ntok + 8 > 256 ? ntok + 8 : 256;
    // One thread: the callback after every node makes each node its own
    // graph, and waking a second thread for each is slow on a busy machine.
    // No kernel's per-element arithmetic depends on the thread count.
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.cb_eval = cb;
    cp.cb_eval_user_data = &d;
    if (kvf32) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
    }
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return 1;

    char path[4096];
    if (batch) {
        struct llama_batch b = llama_batch_init(ntok, 0, 1);
        for (int i = 0; i < ntok; i++) {
            b.token[i] = toks[i];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = ntok;
        snprintf(path, sizeof path, "%s/batch.bin", out);
        d.f = fopen(path, "wb");
        if (llama_decode(ctx, b)) return 1;
        fclose(d.f);
        d.f = NULL;
        llama_batch_free(b);
    } else {
        for (int i = 0; i < ntok; i++) {
            snprintf(path, sizeof path, "%s/pos%d.bin", out, i);
            d.f = fopen(path, "wb");
            if (llama_decode(ctx, llama_batch_get_one(&toks[i], 1))) return 1;
            fclose(d.f);
            d.f = NULL;
        }
    }
    llama_free(ctx);
    llama_model_free(model);
    free(toks);
    return 0;
}
