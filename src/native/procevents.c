/*
 * open(callback) -> handle; close(handle).
 *
 * The kernel's process-events connector (NETLINK_CONNECTOR, CN_IDX_PROC)
 * reports every exec on the machine the moment it happens. Node cannot open a
 * netlink socket, so this addon does: a thread blocks on the socket and hands
 * each exec's pid to JavaScript (callback(0, pid)); a receive-buffer overrun,
 * where events were lost, is callback(1, 0) so the caller can rescan /proc;
 * a failed socket is callback(2, errno). The connector exists only in the
 * initial network namespace and needs CAP_NET_ADMIN: open throws with the
 * errno's name as the error code, and the caller falls back to polling.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "throw-errno.h"

enum { EV_EXEC = 0, EV_OVERRUN = 1, EV_FAILED = 2 };

typedef struct {
  int fd;
  int stop_fd;
  int closed;
  int lost; /* an event did not fit in the queue: an overrun goes before the next one (reader thread only) */
  pthread_t thread;
  napi_threadsafe_function tsfn;
} watcher_t;

typedef struct {
  int32_t kind;
  int32_t value;
} event_t;

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  event_t *ev = data;
  if (env != NULL && callback != NULL) {
    napi_value argv[2], undefined;
    napi_get_undefined(env, &undefined);
    napi_create_int32(env, ev->kind, &argv[0]);
    napi_create_int32(env, ev->value, &argv[1]);
    napi_call_function(env, undefined, callback, 2, argv, NULL);
  }
  free(ev);
}

/* Events JavaScript has not taken yet, at most: a flood of execs must not grow the daemon without bound. */
enum { MAX_QUEUED = 8192 };

static int queue(watcher_t *w, int32_t kind, int32_t value) {
  event_t *ev = malloc(sizeof *ev);
  if (ev == NULL) return 0;
  ev->kind = kind;
  ev->value = value;
  if (napi_call_threadsafe_function(w->tsfn, ev, napi_tsfn_nonblocking) == napi_ok) return 1;
  free(ev);
  return 0;
}

/*
 * Queues an exec event; one that does not fit is lost, and JavaScript hears of
 * the loss (an overrun, as when the kernel's buffer fills) before the next one.
 */
static void post(watcher_t *w, int32_t kind, int32_t value) {
  if (w->lost && !queue(w, EV_OVERRUN, 0)) return;
  w->lost = 0;
  if (!queue(w, kind, value)) w->lost = 1;
}

/* The thread's last word gets through: retried until JavaScript has room, or the watcher is closing. */
static void post_failure(watcher_t *w, int err) {
  while (!queue(w, EV_FAILED, err) && !__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE)) usleep(1000);
}

static void *reader(void *arg) {
  watcher_t *w = arg;
  /* Aligned for the netlink headers the kernel writes into it. */
  static __thread char buf[16384] __attribute__((aligned(8)));
  struct pollfd fds[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      post_failure(w, errno);
      break;
    }
    if (fds[1].revents != 0) break;
    struct sockaddr_nl from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(w->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) {
        post(w, EV_OVERRUN, 0);
        continue;
      }
      post_failure(w, errno);
      break;
    }
    /* Only the kernel (port 0) speaks for the connector. */
    if (from.nl_pid != 0) continue;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event))) continue;
      struct cn_msg *cn = NLMSG_DATA(h);
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      struct proc_event *pe = (struct proc_event *)cn->data;
      if (pe->what == PROC_EVENT_EXEC) post(w, EV_EXEC, pe->event_data.exec.process_tgid);
    }
  }
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  return NULL;
}

static int subscribe(int fd) {
  char msg[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))] __attribute__((aligned(8)));
  memset(msg, 0, sizeof msg);
  struct nlmsghdr *h = (struct nlmsghdr *)msg;
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op));
  h->nlmsg_type = NLMSG_DONE;
  h->nlmsg_pid = 0;
  struct cn_msg *cn = NLMSG_DATA(h);
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof(enum proc_cn_mcast_op);
  enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  memcpy(cn->data, &op, sizeof op);
  return send(fd, msg, h->nlmsg_len, 0) < 0 ? -1 : 0;
}

static void stop(watcher_t *w) {
  if (w->closed) return;
  __atomic_store_n(&w->closed, 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  if (write(w->stop_fd, &one, sizeof one) < 0) { /* the thread also ends on a failed poll */ }
  pthread_join(w->thread, NULL);
  close(w->fd);
  close(w->stop_fd);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stop(data);
  free(data);
}

static napi_value open_watcher(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(callback): callback must be a function");
    return NULL;
  }
  int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return throw_errno(env, "netlink connector socket", errno);
  int size = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || subscribe(fd) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "subscribe to process events", err);
  }
  int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "eventfd", err);
  }
  watcher_t *w = calloc(1, sizeof *w);
  if (w == NULL) {
    close(fd);
    close(stop_fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  w->fd = fd;
  w->stop_fd = stop_fd;
  napi_value name;
  napi_create_string_utf8(env, "ksapp-procevents", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, MAX_QUEUED, 1, NULL, NULL, NULL, call_js, &w->tsfn) != napi_ok) {
    close(fd);
    close(stop_fd);
    free(w);
    napi_throw_error(env, "ETSFN", "could not create the event callback");
    return NULL;
  }
  /* The caller's own handles decide whether the process stays alive, not this watcher. */
  napi_unref_threadsafe_function(env, w->tsfn);
  if (pthread_create(&w->thread, NULL, reader, w) != 0) {
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    close(fd);
    close(stop_fd);
    free(w);
    napi_throw_error(env, "ETHREAD", "could not start the reader thread");
    return NULL;
  }
  napi_value handle;
  napi_create_external(env, w, finalize, NULL, &handle);
  return handle;
}

static napi_value close_watcher(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "close(handle): handle must come from open()");
    return NULL;
  }
  stop(data);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_watcher, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, close_watcher, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  return exports;
}
