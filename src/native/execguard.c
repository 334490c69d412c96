/*
 * open(stagingProcs, parentRel, callback) -> handle; mark(handle, path) -> [id, dev, ino];
 * unmark(handle, id, removeMark); close(handle).
 *
 * Confines a configured program before its first instruction. A fanotify
 * group of class FAN_CLASS_CONTENT with an inode mark for FAN_OPEN_EXEC_PERM
 * on the program's file makes every execve of it wait for our answer. A
 * thread of this addon answers without JavaScript in the way (the event loop
 * may be busy): it reads the process's cgroup, and unless the process already
 * lives below ksapp's parent group it writes the pid into the staging group
 * (below the parent, so the parent's catch-all rule confines it at once),
 * then allows the exec. A move that fails for another reason than the process
 * being gone denies the exec: a configured program never starts unconfined.
 * Each outcome then goes to JavaScript: callback(kind, pid, errno, cgroup,
 * dev, ino) — kind 0 staged, 1 already confined, 2 denied, 3 the thread
 * failed (errno); cgroup is where the process was; dev and ino name the
 * marked file that was executed (a script's, not its interpreter's).
 *
 * Inode marks hold whatever mount namespace the exec happens in, and only the
 * marked files pay the cost. A mark is held through a descriptor of
 * the marked inode, so it can be removed after the path has moved on (a
 * package upgrade writes a new inode); `id` is that descriptor (read-only:
 * fanotify_mark does not take an O_PATH one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "throw-errno.h"

enum { EV_STAGED = 0, EV_CONFINED = 1, EV_DENIED = 2, EV_FAILED = 3 };
#define CGROUP_MAX 4096

typedef struct {
  int fan_fd;
  int stop_fd;
  int procs_fd;
  int closed;
  char parent_prefix[CGROUP_MAX];
  pthread_t thread;
  napi_threadsafe_function tsfn;
} guard_t;

typedef struct {
  int32_t kind;
  int32_t pid;
  int32_t err;
  double dev;
  double ino;
  char cgroup[CGROUP_MAX];
} event_t;

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  event_t *ev = data;
  if (env != NULL && callback != NULL) {
    napi_value argv[6], undefined;
    napi_get_undefined(env, &undefined);
    napi_create_int32(env, ev->kind, &argv[0]);
    napi_create_int32(env, ev->pid, &argv[1]);
    napi_create_int32(env, ev->err, &argv[2]);
    napi_create_string_utf8(env, ev->cgroup, NAPI_AUTO_LENGTH, &argv[3]);
    napi_create_double(env, ev->dev, &argv[4]);
    napi_create_double(env, ev->ino, &argv[5]);
    napi_call_function(env, undefined, callback, 6, argv, NULL);
  }
  free(ev);
}

static void post_file(guard_t *g, int32_t kind, int32_t pid, int32_t err, const char *cgroup, const struct stat *file) {
  event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = kind;
  ev->pid = pid;
  ev->err = err;
  if (file != NULL) {
    ev->dev = (double)file->st_dev;
    ev->ino = (double)file->st_ino;
  }
  if (cgroup != NULL) snprintf(ev->cgroup, sizeof ev->cgroup, "%s", cgroup);
  if (napi_call_threadsafe_function(g->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) free(ev);
}

static void post(guard_t *g, int32_t kind, int32_t pid, int32_t err, const char *cgroup) {
  post_file(g, kind, pid, err, cgroup, NULL);
}

/* The v2 cgroup of pid ("/user.slice/..."), from the "0::" line of /proc/PID/cgroup; -1 when gone. */
static int read_cgroup(int pid, char *out, size_t size) {
  char file[64], buf[CGROUP_MAX + 64];
  snprintf(file, sizeof file, "/proc/%d/cgroup", pid);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  for (char *line = buf; line != NULL && *line != '\0';) {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    if (strncmp(line, "0::", 3) == 0) {
      snprintf(out, size, "%s", line + 3);
      return 0;
    }
    line = next;
  }
  return -1;
}

/* Decides and acts for one exec; returns the answer the kernel gets. */
static uint32_t classify(guard_t *g, int pid, const struct stat *file) {
  char cgroup[CGROUP_MAX] = "";
  if (read_cgroup(pid, cgroup, sizeof cgroup) != 0) {
    post_file(g, EV_STAGED, pid, ESRCH, "", file);
    return FAN_ALLOW; /* gone: nothing will run */
  }
  size_t plen = strlen(g->parent_prefix);
  if (strncmp(cgroup, g->parent_prefix, plen) == 0 && cgroup[plen] == '/') {
    post_file(g, EV_CONFINED, pid, 0, cgroup, file);
    return FAN_ALLOW;
  }
  char line[32];
  int len = snprintf(line, sizeof line, "%d\n", pid);
  if (write(g->procs_fd, line, (size_t)len) == len) {
    post_file(g, EV_STAGED, pid, 0, cgroup, file);
    return FAN_ALLOW;
  }
  int err = errno;
  if (err == ESRCH) {
    post_file(g, EV_STAGED, pid, ESRCH, cgroup, file);
    return FAN_ALLOW;
  }
  post_file(g, EV_DENIED, pid, err, cgroup, file);
  return FAN_DENY;
}

static void *reader(void *arg) {
  guard_t *g = arg;
  static __thread char buf[8192] __attribute__((aligned(8)));
  struct pollfd fds[2] = {{.fd = g->fan_fd, .events = POLLIN}, {.fd = g->stop_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      post(g, EV_FAILED, 0, errno, NULL);
      break;
    }
    if (fds[1].revents != 0) break;
    ssize_t n = read(g->fan_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      post(g, EV_FAILED, 0, errno, NULL);
      break;
    }
    struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
    for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
      if (m->vers != FANOTIFY_METADATA_VERSION) {
        post(g, EV_FAILED, 0, EPROTO, NULL);
        goto out;
      }
      if (m->fd < 0) continue;
      if (m->mask & FAN_OPEN_EXEC_PERM) {
        struct stat file;
        int known = fstat(m->fd, &file) == 0;
        struct fanotify_response r = {.fd = m->fd, .response = classify(g, m->pid, known ? &file : NULL)};
        if (write(g->fan_fd, &r, sizeof r) != sizeof r) post(g, EV_FAILED, m->pid, errno, NULL);
      }
      close(m->fd);
    }
  }
out:
  napi_release_threadsafe_function(g->tsfn, napi_tsfn_release);
  return NULL;
}

static void stop(guard_t *g) {
  if (g->closed) return;
  g->closed = 1;
  uint64_t one = 1;
  if (write(g->stop_fd, &one, sizeof one) < 0) { /* the thread also ends on a failed poll */ }
  pthread_join(g->thread, NULL);
  /* Closing the group answers every waiting exec with "allow": the next daemon confines those at start. */
  close(g->fan_fd);
  close(g->stop_fd);
  close(g->procs_fd);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stop(data);
  free(data);
}

static int get_string(napi_env env, napi_value v, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok || len + 1 >= size) return -1;
  return 0;
}

static guard_t *unwrap(napi_env env, napi_value v) {
  guard_t *g = NULL;
  if (napi_get_value_external(env, v, (void **)&g) != napi_ok || g == NULL || g->closed) {
    napi_throw_error(env, "EBADF", "the exec guard is closed");
    return NULL;
  }
  return g;
}

static napi_value open_guard(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_valuetype type;
  char procs[CGROUP_MAX], prefix[CGROUP_MAX];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      get_string(env, argv[0], procs, sizeof procs) != 0 || get_string(env, argv[1], prefix, sizeof prefix) != 0 ||
      napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(stagingProcs, parentRel, callback)");
    return NULL;
  }
  int fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
  if (fan_fd < 0) return throw_errno(env, "fanotify_init", errno);
  int procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (procs_fd < 0) {
    int err = errno;
    close(fan_fd);
    return throw_errno(env, "open the staging group's cgroup.procs", err);
  }
  int stop_fd = eventfd(0, EFD_CLOEXEC);
  guard_t *g = stop_fd < 0 ? NULL : calloc(1, sizeof *g);
  if (g == NULL) {
    int err = stop_fd < 0 ? errno : ENOMEM;
    if (stop_fd >= 0) close(stop_fd);
    close(fan_fd);
    close(procs_fd);
    return throw_errno(env, "exec guard", err);
  }
  g->fan_fd = fan_fd;
  g->stop_fd = stop_fd;
  g->procs_fd = procs_fd;
  snprintf(g->parent_prefix, sizeof g->parent_prefix, "%s", prefix);
  napi_value name;
  napi_create_string_utf8(env, "ksapp-execguard", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &g->tsfn) != napi_ok) {
    close(fan_fd);
    close(stop_fd);
    close(procs_fd);
    free(g);
    napi_throw_error(env, "ETSFN", "could not create the event callback");
    return NULL;
  }
  napi_unref_threadsafe_function(env, g->tsfn);
  if (pthread_create(&g->thread, NULL, reader, g) != 0) {
    napi_release_threadsafe_function(g->tsfn, napi_tsfn_abort);
    close(fan_fd);
    close(stop_fd);
    close(procs_fd);
    free(g);
    napi_throw_error(env, "ETHREAD", "could not start the guard thread");
    return NULL;
  }
  napi_value handle;
  napi_create_external(env, g, finalize, NULL, &handle);
  return handle;
}

static napi_value mark(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[CGROUP_MAX];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || get_string(env, argv[1], path, sizeof path) != 0) {
    napi_throw_type_error(env, NULL, "mark(handle, path)");
    return NULL;
  }
  guard_t *g = unwrap(env, argv[0]);
  if (g == NULL) return NULL;
  /* Follows a symlink: the program that runs is the target. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return throw_errno(env, "open the program", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "stat the program", err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return throw_errno(env, "the program is not a regular file", S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  if (fanotify_mark(g->fan_fd, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, fd, NULL) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "fanotify_mark", err);
  }
  napi_value out, v;
  napi_create_array_with_length(env, 3, &out);
  napi_create_int32(env, fd, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, (double)st.st_dev, &v);
  napi_set_element(env, out, 1, v);
  napi_create_double(env, (double)st.st_ino, &v);
  napi_set_element(env, out, 2, v);
  return out;
}

static napi_value unmark(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  bool remove_mark = true;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_int32(env, argv[1], &fd) != napi_ok ||
      napi_get_value_bool(env, argv[2], &remove_mark) != napi_ok) {
    napi_throw_type_error(env, NULL, "unmark(handle, id, removeMark)");
    return NULL;
  }
  guard_t *g = unwrap(env, argv[0]);
  if (g == NULL) return NULL;
  /* One mark per inode: another path naming the same program keeps it (removeMark false). The mark
   * may already be gone with its inode; the descriptor is ours either way. */
  if (remove_mark) fanotify_mark(g->fan_fd, FAN_MARK_REMOVE, FAN_OPEN_EXEC_PERM, fd, NULL);
  close(fd);
  return NULL;
}

static napi_value close_guard(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  guard_t *g = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 &&
      napi_get_value_external(env, argv[0], (void **)&g) == napi_ok && g != NULL) {
    stop(g);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_guard, NULL, NULL, NULL, napi_default, NULL},
      {"mark", NULL, mark, NULL, NULL, NULL, napi_default, NULL},
      {"unmark", NULL, unmark, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_guard, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
