/* errors.c: the C half of libhearth: the thread-local last error, version
 * queries and hearth_free. Thread-local storage is C's (__thread): Go has none,
 * but a Go function exported through cgo runs on the calling OS thread, so a
 * C thread-local written during the call belongs to the caller's thread. */
#include <string.h>
#include "internal.h"

#define HEARTH_ERR_MAX 2048

/* Only a code and a pointer are thread-local (the message buffer is malloc'd
 * per thread on first error): the library is usually dlopen'ed, where static
 * TLS space is scarce, so the variables also ask for the dynamic TLS model. */
#define HEARTH_TLS __thread __attribute__((tls_model("global-dynamic")))
static HEARTH_TLS int last_code;
static HEARTH_TLS char *last_msg;

void hearth_internal_set_error(int code, const char *msg, size_t len) {
  last_code = code;
  if (last_msg == NULL) {
    if (code == 0) return;
    last_msg = malloc(HEARTH_ERR_MAX);
    if (last_msg == NULL) return;
  }
  if (len >= HEARTH_ERR_MAX) len = HEARTH_ERR_MAX - 1;
  if (msg != NULL && len > 0) memcpy(last_msg, msg, len);
  else len = 0;
  last_msg[len] = 0;
}

int hearth_internal_call_token(hearth_token_callback cb, void *user, int32_t id,
                               const char *piece, size_t len) {
  return cb(user, id, piece, len);
}

int hearth_abi_version(void) { return 1; }

const char *hearth_version(void) { return "0.1.0"; }

const char *hearth_status_name(int status) {
  static const char *names[] = {
      "HEARTH_OK",           "HEARTH_BAD_MODEL",       "HEARTH_NOT_FOUND",
      "HEARTH_CONTEXT_OVERFLOW", "HEARTH_INVALID_OPTION", "HEARTH_GPU_UNAVAILABLE",
      "HEARTH_BUSY",         "HEARTH_CLOSED",          "HEARTH_INTERNAL",
      "HEARTH_IO",           "HEARTH_INVALID_HANDLE",
      /* the model cache (capi/cache.go) */
      "HEARTH_DIGEST_MISMATCH", "HEARTH_DOWNLOAD", "HEARTH_ABORTED",
  };
  if (status < 0 || status >= (int)(sizeof names / sizeof names[0])) return "HEARTH_INTERNAL";
  return names[status];
}

int hearth_last_error_code(void) { return last_code; }

const char *hearth_last_error_message(void) { return last_msg != NULL ? last_msg : ""; }

void hearth_free(void *p) { free(p); }
