/* Throws a JavaScript error for a failed system call: the errno's name as the code, so callers can
 * branch on it (EPERM, ENOSYS, ECONNREFUSED), and "what: strerror" as the message. */
#ifndef KSAPP_THROW_ERRNO_H
#define KSAPP_THROW_ERRNO_H
#include <node_api.h>
#include <stdio.h>
#include <string.h>

static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  const char *name = strerrorname_np(err);
  napi_throw_error(env, name != NULL ? name : "EUNKNOWN", message);
  return NULL;
}
#endif
