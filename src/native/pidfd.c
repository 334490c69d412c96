/*
 * open(pid) -> fd, alive(fd) -> boolean, close(fd)
 *
 * A pid is only a number: once its process has been reaped the kernel may hand
 * it to another process, so "read the uid of pid N, then write N into a cgroup"
 * can move a process nobody checked. A pidfd (Linux 5.3) refers to one process
 * for as long as the descriptor is open, and the process keeps its pid until it
 * is reaped. So when alive(fd) says yes after a read of /proc/N, that read was
 * of the pidfd's process; when it says yes after a write of N, the write moved
 * that process.
 *
 * alive() sends signal 0 through the pidfd (pidfd_send_signal, Linux 5.1): true
 * while the process is not yet reaped (a zombie counts, it still holds its pid),
 * false once it is (ESRCH). open() takes thread-group leaders only (EINVAL for a
 * thread id). Failures throw with the errno's name as the code (ESRCH: no such
 * process; ENOSYS: the kernel is too old). The descriptor is close-on-exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <node_api.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "throw-errno.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Reads the one integer argument every function takes; throws a TypeError and returns false otherwise. */
static bool int_arg(napi_env env, napi_callback_info info, const char *usage, int32_t min, int32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], out) != napi_ok || *out < min) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value pidfd_open_js(napi_env env, napi_callback_info info) {
  int32_t pid;
  if (!int_arg(env, info, "open(pid): pid must be a number > 0", 1, &pid)) return NULL;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return throw_errno(env, "pidfd_open", errno);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value pidfd_alive_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_arg(env, info, "alive(fd): fd must be a number >= 0", 0, &fd)) return NULL;
  bool alive = true;
  if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0) {
    if (errno != ESRCH) return throw_errno(env, "pidfd_send_signal", errno);
    alive = false;
  }
  napi_value result;
  napi_get_boolean(env, alive, &result);
  return result;
}

static napi_value pidfd_close_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_arg(env, info, "close(fd): fd must be a number >= 0", 0, &fd)) return NULL;
  if (close(fd) != 0) return throw_errno(env, "close", errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  const struct { const char *name; napi_callback fn; } fns[] = {
    { "open", pidfd_open_js }, { "alive", pidfd_alive_js }, { "close", pidfd_close_js },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
