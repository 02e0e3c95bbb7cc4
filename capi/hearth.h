/*
 * hearth.h - the C ABI of libhearth (Hearth: local LLM inference on a Go engine).
 *
 * Build: go build -buildmode=c-shared -o build/libhearth.so ./capi
 *
 * ABI version 1. Check hearth_abi_version() == HEARTH_ABI_VERSION at startup;
 * the number changes whenever a signature or a struct in this file changes.
 *
 * Handles
 *   A model is an opaque hearth_model (a 64-bit number, never 0 for a live
 *   model). Handles index a registry inside the library guarded by a mutex; no
 *   Go pointer ever crosses this boundary. A freed handle is never reused in the
 *   life of the process, so a stale handle yields HEARTH_E_INVALID_HANDLE rather
 *   than touching another model.
 *
 * Errors
 *   Every function that can fail returns a status (HEARTH_OK == 0 on success, else
 *   one of the HEARTH_E_* codes). On failure the library also records a message
 *   and the code in THREAD-LOCAL storage of the calling OS thread:
 *   hearth_last_error_message() / hearth_last_error_code() read them back on the
 *   same thread. The message pointer stays valid until the next hearth_* call on
 *   that thread. A successful call clears them. hearth_status_name() turns a code
 *   into its stable string name ("HEARTH_BAD_MODEL", ...).
 *   Go panics inside the library are recovered and reported as HEARTH_E_INTERNAL.
 *
 * Memory
 *   Strings and arrays returned through out-parameters are allocated with
 *   malloc by the library; release each with hearth_free(). Input pointers are
 *   only read during the call.
 *
 * Threads
 *   Any number of models may be loaded and used from any threads at once.
 *   On one model, generations are serialized: a second hearth_generate on the
 *   same model waits until the first returns. hearth_tokenize, hearth_detokenize
 *   and hearth_model_info may run concurrently with a generation.
 *   hearth_cancel may be called from any thread at any time.
 *   hearth_model_free cancels a running generation, waits for it to return,
 *   then releases the model (so do not call it from inside on_token).
 */
#ifndef HEARTH_H
#define HEARTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_ABI_VERSION 1

/* Status codes. Their names (hearth_status_name) match the Node package's
 * Error.code values. */
enum {
  HEARTH_OK = 0,
  HEARTH_E_BAD_MODEL = 1,        /* not a GGUF, corrupt or unsupported model */
  HEARTH_E_NOT_FOUND = 2,        /* the model file does not exist */
  HEARTH_E_CONTEXT_OVERFLOW = 3, /* prompt (+ generation) exceeds the context */
  HEARTH_E_INVALID_OPTION = 4,   /* a bad argument or option; the message names it */
  HEARTH_E_GPU_UNAVAILABLE = 5,  /* backend "gpu" requested, no usable adapter */
  HEARTH_E_BUSY = 6,             /* the model is in use */
  HEARTH_E_CLOSED = 7,           /* the model was freed */
  HEARTH_E_INTERNAL = 8,         /* a bug, including a recovered panic */
  HEARTH_E_IO = 9,               /* reading the file failed */
  HEARTH_E_INVALID_HANDLE = 10,  /* not a live model (or job) handle */
  HEARTH_E_DIGEST_MISMATCH = 11, /* a download's SHA-256 is not the expected one; nothing was kept */
  HEARTH_E_DOWNLOAD = 12,        /* HTTP error or dropped connection; a partial file is kept for resume */
  HEARTH_E_ABORTED = 13          /* a cache job was cancelled */
};

typedef uint64_t hearth_model;

/* on_token is called once per generated token, on the thread that called
 * hearth_generate. piece/len are the UTF-8-safe text delta of the token (may be
 * empty: len 0); the bytes are valid only during the call and are not
 * NUL-terminated. Return 0 to go on, non-zero to stop (stopReason "abort"). */
typedef int (*hearth_token_callback)(void *user, int32_t id, const char *piece, size_t len);

/* HEARTH_ABI_VERSION of the library. */
int hearth_abi_version(void);
/* The library's version, a static string such as "0.1.0". */
const char *hearth_version(void);
/* The stable name of a status code ("HEARTH_OK", "HEARTH_BAD_MODEL", ...);
 * a static string. */
const char *hearth_status_name(int status);

/* The code and message of the last failed call on this thread (0 and "" after
 * a success). */
int hearth_last_error_code(void);
const char *hearth_last_error_message(void);

/* Releases memory returned by this library. NULL is ignored. */
void hearth_free(void *p);

/* Loads a GGUF model. options_json may be NULL or a JSON object:
 *   {"backend":"cpu"|"gpu"|"auto", "threads":N, "contextSize":N, "kvType":"f16"|"f32"}
 * (0 or absent: the defaults). Unknown keys are HEARTH_E_INVALID_OPTION. */
int hearth_model_load(const char *path, const char *options_json, hearth_model *out);

/* Cancels any generation on the model, waits for it, and frees the model. */
int hearth_model_free(hearth_model model);

/* Writes the model's description as a JSON object to *json_out (hearth_free it):
 * {"arch","name","fileType","backend","nVocab","nCtxTrain","contextSize","nLayer",
 *  "nEmbd","nHead","nHeadKV","nFF","nParams","bos","eos","addBOS","fileSize"}. */
int hearth_model_info(hearth_model model, char **json_out);

/* Tokenizes len bytes of UTF-8 text. add_special adds BOS (when the model does);
 * parse_special turns special-token text such as "</s>" into its id. *ids_out
 * (hearth_free it) receives *n_out ids; NULL when *n_out is 0. */
int hearth_tokenize(hearth_model model, const char *text, size_t len, int add_special,
                    int parse_special, int32_t **ids_out, size_t *n_out);

/* Joins the pieces of n ids into *text_out (NUL-terminated, hearth_free it),
 * *len_out bytes long. */
int hearth_detokenize(hearth_model model, const int32_t *ids, size_t n, char **text_out,
                      size_t *len_out);

/* Generates a continuation. The prompt is either text (prompt != NULL,
 * prompt_len bytes; tokenized with BOS) or token ids (prompt == NULL; ids, n_ids,
 * used as given). options_json may be NULL or a JSON object:
 *   {"maxTokens":N, "temperature":T, "topK":K, "topP":P, "minP":P,
 *    "repeatPenalty":R, "repeatLastN":N, "frequencyPenalty":F, "presencePenalty":F,
 *    "seed":S, "stop":["..."], "parseSpecial":false}
 * temperature 0 is greedy. on_token may be NULL. On success *result_json_out
 * (hearth_free it) receives
 *   {"text":"...", "tokens":[ids], "stopReason":"eos"|"maxTokens"|"stop"|"abort"|"contextFull",
 *    "promptTokens":N, "timings":{"promptMs":x,"generateMs":y,"promptTokensPerSecond":a,
 *    "tokensPerSecond":b}}
 * where text is exactly the concatenation of the pieces of the generated tokens
 * (cut before a stop string when one ends generation). A cancel or a non-zero
 * on_token return is not an error: stopReason is "abort". */
int hearth_generate(hearth_model model, const char *prompt, size_t prompt_len,
                    const int32_t *ids, size_t n_ids, const char *options_json,
                    hearth_token_callback on_token, void *user, char **result_json_out);

/* Cancels the generation running on the model now, if any (it returns with
 * stopReason "abort"). Safe from any thread, including inside on_token. */
int hearth_cancel(hearth_model model);

/* ---- Model cache ----------------------------------------------------------
 *
 * A content-addressed store of downloaded models (package cache): blobs are
 * named by their SHA-256 under DIR/blobs; an index maps sources to them.
 * Sources are "https://..." / "http://..." URLs and "hf:owner/repo[@rev]/file.gguf"
 * (a Hugging Face resolve URL). Downloads resume with Range requests, are
 * verified before they get their final name, and concurrent resolves of one
 * source (threads or processes) download it once.
 *
 * The functions are stateless: each takes cache_json, NULL or
 *   {"dir":"...", "maxBytes":N}
 * (dir absent: hearth_cache_default_dir(); maxBytes 0 or absent:
 * $HEARTH_CACHE_MAX_BYTES, else no budget) and opens the folder for the call.
 *
 * A model loaded (hearth_model_load) from a blob path holds a shared lease on
 * it until hearth_model_free: remove and prune skip it, in any process.
 *
 * Jobs make long calls cancellable: hearth_job_new returns a handle (never 0,
 * never reused), hearth_job_cancel cancels the call using it (from any thread,
 * before or during the call), hearth_job_free releases it. Job 0 means none. */

typedef uint64_t hearth_job;

/* on_progress is called on the calling thread as bytes arrive (at most about
 * 10 times a second, and once at the end): downloaded counts resumed bytes
 * too; total is -1 when the server did not say. Return 0 to go on, non-zero
 * to cancel (HEARTH_E_ABORTED; the partial file is kept for resume). */
typedef int (*hearth_progress_callback)(void *user, int64_t downloaded, int64_t total,
                                        double bytes_per_second);

/* The folder used when cache_json names none ($HEARTH_CACHE_DIR, else
 * $XDG_CACHE_HOME/hearth, else ~/.cache/hearth); hearth_free it. */
int hearth_cache_default_dir(char **dir_out);

/* Checks cache_json, creates the cache's folders and writes
 * {"dir":"...","maxBytes":N} (the effective settings) to *info_json_out. */
int hearth_cache_open(const char *cache_json, char **info_json_out);

int hearth_job_new(hearth_job *out);
int hearth_job_cancel(hearth_job job);
int hearth_job_free(hearth_job job);

/* Returns a local path for source, downloading it when it is not cached.
 * options_json may be NULL or
 *   {"sha256":"hex", "revalidate":bool, "maxAgeMs":N, "offline":bool}
 * sha256: the expected digest (HEARTH_E_DIGEST_MISMATCH otherwise, nothing
 * kept); revalidate: ask the server whether a cached copy changed (offline:
 * the cached copy is used and "offline" is true in the result); maxAgeMs:
 * revalidate when last checked longer ago; offline: never touch the network
 * (HEARTH_E_NOT_FOUND when not cached). After a download, a cache with a
 * budget is pruned to it (never evicting the new file). *result_json_out:
 *   {"path","sha256","size","downloaded","resumed","offline"} */
int hearth_cache_resolve(const char *cache_json, const char *source, const char *options_json,
                         hearth_progress_callback on_progress, void *user, hearth_job job,
                         char **result_json_out);

/* The cached models, least recently used first, as a JSON array of
 * {"sha256","size","source","sources":[...],"lastAccess":"RFC 3339","path"}. */
int hearth_cache_list(const char *cache_json, char **json_out);

/* Removes the model with this sha256, or the one source resolved to.
 * HEARTH_E_NOT_FOUND when nothing matches, HEARTH_E_IO when it is open. */
int hearth_cache_remove(const char *cache_json, const char *sha256_or_source);

/* Evicts least recently used models, skipping open ones, until the cache
 * fits max_bytes (<= 0: the cache's maxBytes; no budget: nothing happens).
 * *json_out: the removed entries (as hearth_cache_list). */
int hearth_cache_prune(const char *cache_json, int64_t max_bytes, char **json_out);

/* Rehashes every blob; removes corrupt ones and forgets missing ones.
 * *json_out: {"ok":[entries],"corrupt":[entries],"missing":[entries]}. */
int hearth_cache_verify(const char *cache_json, hearth_job job, char **json_out);

#ifdef __cplusplus
}
#endif

#endif /* HEARTH_H */
