/*
 * markSocket(pid, fd, mark[, onlyIf]) -> { domain, type, mark, netns, changed }
 *
 * The kernel ties a socket to the cgroup of the process that created it, so a
 * socket an app opened before it was adopted is invisible to the firewall's
 * cgroup match, and a UDP or raw socket cannot be destroyed from outside. What
 * can be changed from outside is its firewall mark: pidfd_getfd (Linux 5.6)
 * gives the daemon its own descriptor of the very same socket, SO_MARK on it
 * marks every packet the app sends through it from then on, and the firewall
 * treats marked packets exactly like the app's own (tunnel or nowhere).
 *
 * Only internet sockets (AF_INET, AF_INET6) are marked: a packet socket skips
 * IP routing and netfilter, so a mark would not confine it. The mark is read
 * back after it is set; `mark` in the result is what the kernel holds (0 when
 * the socket was not an internet socket and was left alone); `netns` is the
 * inode of the network namespace the socket routes in, because a mark only
 * helps where ksapp's rules are (0 if the kernel would not say). Failures throw
 * with the errno's name as the code (EPERM: no ptrace right over the process;
 * EBADF: the fd is gone; ESRCH: the process is gone). With `onlyIf` the mark
 * is changed only while the socket holds exactly that mark (release clears
 * ksapp's own mark and never one the app set itself).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "throw-errno.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int get_int(int fd, int option, int *value) {
  socklen_t len = sizeof *value;
  return getsockopt(fd, SOL_SOCKET, option, value, &len);
}

static napi_value mark_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t pid, target_fd;
  uint32_t mark, only_if = 0;
  napi_valuetype fourth = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &pid) != napi_ok || napi_get_value_int32(env, argv[1], &target_fd) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &mark) != napi_ok || pid <= 0 || target_fd < 0) {
    napi_throw_type_error(env, NULL, "markSocket(pid, fd, mark[, onlyIf]): pid > 0, fd >= 0 and mark must be numbers");
    return NULL;
  }
  if (argc >= 4 && napi_typeof(env, argv[3], &fourth) == napi_ok && fourth != napi_undefined &&
      napi_get_value_uint32(env, argv[3], &only_if) != napi_ok) {
    napi_throw_type_error(env, NULL, "markSocket: onlyIf must be a number");
    return NULL;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return throw_errno(env, "pidfd_open", errno);
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  int err = errno;
  close(pidfd);
  if (fd < 0) return throw_errno(env, "pidfd_getfd", err);
  int domain = -1, type = -1, held = 0;
  bool changed = false;
  if (get_int(fd, SO_DOMAIN, &domain) != 0 || get_int(fd, SO_TYPE, &type) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "getsockopt SO_DOMAIN/SO_TYPE", err);
  }
  double netns = 0;
  int nsfd = ioctl(fd, SIOCGSKNS);
  if (nsfd >= 0) {
    struct stat st;
    if (fstat(nsfd, &st) == 0) netns = (double)st.st_ino;
    close(nsfd);
  }
  if ((domain == AF_INET || domain == AF_INET6) && get_int(fd, SO_MARK, &held) == 0 &&
      (fourth == napi_undefined || (uint32_t)held == only_if)) {
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0 || get_int(fd, SO_MARK, &held) != 0) {
      err = errno;
      close(fd);
      return throw_errno(env, "setsockopt SO_MARK", err);
    }
    changed = true;
  }
  close(fd);
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_int32(env, domain, &value);
  napi_set_named_property(env, result, "domain", value);
  napi_create_int32(env, type, &value);
  napi_set_named_property(env, result, "type", value);
  napi_create_uint32(env, (uint32_t)held, &value);
  napi_set_named_property(env, result, "mark", value);
  napi_create_double(env, netns, &value);
  napi_set_named_property(env, result, "netns", value);
  napi_get_boolean(env, changed, &value);
  napi_set_named_property(env, result, "changed", value);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "markSocket", NAPI_AUTO_LENGTH, mark_socket, NULL, &fn);
  napi_set_named_property(env, exports, "markSocket", fn);
  return exports;
}
