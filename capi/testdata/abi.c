/* abi.c exercises libhearth through the public header only (capi/hearth.h):
 * it is compiled and run by TestCABI. Usage: abi MODEL.gguf */
#include <stdio.h>
#include <string.h>

#include "hearth.h"

#define CHECK(cond, ...)                 \
  do {                                   \
    if (!(cond)) {                       \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);      \
      fprintf(stderr, "\n");             \
      return 1;                          \
    }                                    \
  } while (0)

struct acc {
  char text[4096];
  size_t len;
  int calls;
  int stop_after;
};

static int on_token(void *user, int32_t id, const char *piece, size_t len) {
  struct acc *a = user;
  (void)id;
  if (a->len + len < sizeof a->text) {
    memcpy(a->text + a->len, piece, len);
    a->len += len;
  }
  a->calls++;
  return a->stop_after > 0 && a->calls >= a->stop_after;
}

int main(int argc, char **argv) {
  CHECK(argc == 2, "usage: abi MODEL");
  CHECK(hearth_abi_version() == HEARTH_ABI_VERSION, "abi version %d", hearth_abi_version());
  CHECK(strlen(hearth_version()) > 0, "empty version");
  CHECK(strcmp(hearth_status_name(HEARTH_E_NOT_FOUND), "HEARTH_NOT_FOUND") == 0, "status name");

  hearth_model m = 0;
  int st = hearth_model_load("/nonexistent/model.gguf", NULL, &m);
  CHECK(st == HEARTH_E_NOT_FOUND, "missing file: status %d", st);
  CHECK(hearth_last_error_code() == HEARTH_E_NOT_FOUND, "last code %d", hearth_last_error_code());
  CHECK(strstr(hearth_last_error_message(), "nonexistent") != NULL, "message: %s", hearth_last_error_message());

  st = hearth_model_load(argv[1], "{\"threads\":1,\"bogus\":1}", &m);
  CHECK(st == HEARTH_E_INVALID_OPTION, "bogus option: status %d", st);
  CHECK(strstr(hearth_last_error_message(), "bogus") != NULL, "message: %s", hearth_last_error_message());

  st = hearth_model_load(argv[1], "{\"threads\":1}", &m);
  CHECK(st == HEARTH_OK && m != 0, "load: %s", hearth_last_error_message());
  CHECK(hearth_last_error_code() == 0 && hearth_last_error_message()[0] == 0, "error not cleared");

  char *info = NULL;
  CHECK(hearth_model_info(m, &info) == HEARTH_OK, "info: %s", hearth_last_error_message());
  CHECK(strstr(info, "\"arch\":\"llama\"") != NULL, "info: %s", info);
  hearth_free(info);

  const char *text = "Once upon a time";
  int32_t *ids = NULL;
  size_t n = 0;
  CHECK(hearth_tokenize(m, text, strlen(text), 1, 0, &ids, &n) == HEARTH_OK && n > 1, "tokenize");
  char *back = NULL;
  size_t blen = 0;
  CHECK(hearth_detokenize(m, ids + 1, n - 1, &back, &blen) == HEARTH_OK, "detokenize");
  CHECK(blen >= strlen(text) && strcmp(back + blen - strlen(text), text) == 0, "detokenize: '%s'", back);
  hearth_free(back);

  struct acc a = {0};
  char *res = NULL;
  st = hearth_generate(m, text, strlen(text), NULL, 0, "{\"maxTokens\":16,\"temperature\":0}", on_token, &a, &res);
  CHECK(st == HEARTH_OK, "generate: %s", hearth_last_error_message());
  CHECK(a.calls == 16, "calls %d", a.calls);
  a.text[a.len] = 0;
  /* The result's text is the concatenated pieces (JSON-escaped; these are plain). */
  char want[4200];
  snprintf(want, sizeof want, "\"text\":\"%s\"", a.text);
  CHECK(strstr(res, want) != NULL, "result %s lacks %s", res, want);
  CHECK(strstr(res, "\"stopReason\":\"maxTokens\"") != NULL, "result %s", res);
  hearth_free(res);

  /* The same prompt as ids, stopped by the callback after 3 tokens. */
  struct acc b = {0};
  b.stop_after = 3;
  st = hearth_generate(m, NULL, 0, ids, n, "{\"maxTokens\":16,\"temperature\":0}", on_token, &b, &res);
  CHECK(st == HEARTH_OK, "generate ids: %s", hearth_last_error_message());
  CHECK(strstr(res, "\"stopReason\":\"abort\"") != NULL, "result %s", res);
  CHECK(b.calls == 3 && strncmp(a.text, b.text, b.len) == 0, "calls %d", b.calls);
  hearth_free(res);
  hearth_free(ids);

  st = hearth_generate(m, text, strlen(text), NULL, 0, "{\"temperature\":-1}", NULL, NULL, &res);
  CHECK(st == HEARTH_E_INVALID_OPTION && strstr(hearth_last_error_message(), "temperature"), "bad temperature: %d", st);

  CHECK(hearth_model_free(m) == HEARTH_OK, "free");
  CHECK(hearth_model_free(m) == HEARTH_E_CLOSED, "double free");
  CHECK(hearth_cancel(12345678) == HEARTH_E_INVALID_HANDLE, "cancel bad handle");
  printf("ok\n");
  return 0;
}
