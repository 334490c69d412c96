/*
 * peerCred(fd) -> { pid, uid, gid }: the credentials the kernel recorded for
 * the other end of a connected Unix socket (SO_PEERCRED). Node has no API for
 * it, and the daemon must know who is asking from the kernel, not from the
 * request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "peerCred(fd): fd must be a number");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    napi_throw_error(env, "EPEERCRED", strerror(errno));
    return NULL;
  }
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_int32(env, cred.pid, &value);
  napi_set_named_property(env, result, "pid", value);
  napi_create_uint32(env, cred.uid, &value);
  napi_set_named_property(env, result, "uid", value);
  napi_create_uint32(env, cred.gid, &value);
  napi_set_named_property(env, result, "gid", value);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &fn);
  napi_set_named_property(env, exports, "peerCred", fn);
  return exports;
}
