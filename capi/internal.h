/* internal.h: declarations shared by the Go and C halves of libhearth.
 * The public header is hearth.h; this one only holds what cgo needs. */
#ifndef HEARTH_INTERNAL_H
#define HEARTH_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef uint64_t hearth_model;
typedef int (*hearth_token_callback)(void *user, int32_t id, const char *piece, size_t len);

/* Records (code, msg) as this thread's last error; code 0 clears it. */
void hearth_internal_set_error(int code, const char *msg, size_t len);
/* The stable name of a status code (errors.c). */
const char *hearth_status_name(int status);
/* Calls cb (cgo cannot call a C function pointer directly). */
int hearth_internal_call_token(hearth_token_callback cb, void *user, int32_t id,
                               const char *piece, size_t len);
#endif
