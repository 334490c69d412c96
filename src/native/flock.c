/*
 * lock(fd) -> true when taken, false when another open file description holds it; unlock(fd).
 *
 * An exclusive flock(2) on a file: the kernel drops it when its holder dies,
 * however it dies, so a daemon killed with SIGKILL leaves nothing to take
 * over and no pid to trust. Node has no flock of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <sys/file.h>

#include "throw-errno.h"

static bool fd_arg(napi_env env, napi_callback_info info, const char *usage, int32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], out) != napi_ok || *out < 0) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value lock_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, "lock(fd): fd must be a number >= 0", &fd)) return NULL;
  bool taken = true;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return throw_errno(env, "flock", errno);
    taken = false;
    break;
  }
  napi_value result;
  napi_get_boolean(env, taken, &result);
  return result;
}

static napi_value unlock_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, "unlock(fd): fd must be a number >= 0", &fd)) return NULL;
  if (flock(fd, LOCK_UN) != 0) return throw_errno(env, "flock", errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "lock", NAPI_AUTO_LENGTH, lock_js, NULL, &fn);
  napi_set_named_property(env, exports, "lock", fn);
  napi_create_function(env, "unlock", NAPI_AUTO_LENGTH, unlock_js, NULL, &fn);
  napi_set_named_property(env, exports, "unlock", fn);
  return exports;
}
