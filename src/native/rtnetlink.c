/*
 * open(callback) -> handle; close(handle).
 *
 * Link, address and route changes of this network namespace, read in process
 * from NETLINK_ROUTE. The socket joins its multicast groups first and only
 * then dumps links and addresses on the same socket, so the stream and the
 * snapshot share one queue: nothing that happens between them is lost, and no
 * child process or text parser sits in between. A thread blocks on the socket,
 * drains what is queued, decodes it and calls callback(events, at) with an
 * array of plain objects and the CLOCK_MONOTONIC time (the clock of
 * process.hrtime.bigint()) at which the data was read:
 *   {kind:'link', deleted, family, ifindex, ifname, up, lowerUp, operstate, linkKind, tunType}
 *   {kind:'addr', deleted, ifindex, family, address, local, prefixlen, scope, tentative, dadfailed}
 *   {kind:'route', deleted, family, table, type, dst, prefixlen, oif, gateway, linkdown}
 *   {kind:'dump-done'} after each complete link + address dump,
 *   {kind:'overrun'} when events were lost (ENOBUFS): the thread re-dumps by itself,
 *   {kind:'failed', errno}: the thread has ended; close the handle and open a new one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "throw-errno.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

enum { EV_LINK, EV_ADDR, EV_ROUTE, EV_DUMP_DONE, EV_OVERRUN, EV_FAILED };
/* Kernel dump chunks reach 32 KiB on recent kernels; a larger buffer never truncates one. */
/* MAX_QUEUED: batches JavaScript has not taken yet, at most; past it a batch is lost and a fresh dump follows. */
enum { BUF_SIZE = 65536, MAX_RECVS_PER_BATCH = 64, MAX_QUEUED = 64, LOST_RETRY_MS = 10 };

typedef struct {
  uint8_t kind, deleted, family, prefixlen, scope, type, operstate;
  uint8_t up, lower_up, tentative, dadfailed, linkdown, tun_type;
  int32_t ifindex; /* the link's or address's ifindex; a route's RTA_OIF (0: none) */
  uint32_t table;
  int32_t err;
  char ifname[IFNAMSIZ];
  char link_kind[32];
  char address[INET6_ADDRSTRLEN]; /* addr: IFA_ADDRESS; route: RTA_DST */
  char local[INET6_ADDRSTRLEN];   /* addr: IFA_LOCAL; route: RTA_GATEWAY */
} event_t;

typedef struct {
  size_t count, cap;
  uint64_t at;
  event_t *ev;
} batch_t;

typedef struct {
  int fd, stop_fd, closed;
  int lost; /* a batch did not fit in the queue: the next one starts with an overrun (reader thread only) */
  uint32_t seq;
  pthread_t thread;
  napi_threadsafe_function tsfn;
} watcher_t;

static event_t *push(batch_t *b, uint8_t kind) {
  if (b->count == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    event_t *ev = realloc(b->ev, cap * sizeof *ev);
    if (ev == NULL) return NULL;
    b->ev = ev;
    b->cap = cap;
  }
  event_t *e = &b->ev[b->count++];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  return e;
}

/* Copies an attribute's string payload, which the kernel NUL-terminates but we do not trust to. */
static void copy_str(char *dst, size_t size, const struct rtattr *rta) {
  size_t n = RTA_PAYLOAD(rta) < size - 1 ? RTA_PAYLOAD(rta) : size - 1;
  memcpy(dst, RTA_DATA(rta), n);
  dst[n] = '\0';
}

static int get_u32(const struct rtattr *rta, uint32_t *out) {
  if (RTA_PAYLOAD(rta) < sizeof *out) return 0;
  memcpy(out, RTA_DATA(rta), sizeof *out);
  return 1;
}

/* An address attribute whose length does not fit its family is left empty. */
static void copy_addr(char *dst, int family, const struct rtattr *rta) {
  size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (want == 0 || RTA_PAYLOAD(rta) != want || inet_ntop(family, RTA_DATA(rta), dst, INET6_ADDRSTRLEN) == NULL) dst[0] = '\0';
}

/* IFLA_TUN_TYPE inside IFLA_INFO_DATA: IFF_TUN (1) or IFF_TAP (2), so a tap is told apart without `ip -d`. */
static uint8_t tun_type(const struct rtattr *data) {
  int len = (int)RTA_PAYLOAD(data);
  for (struct rtattr *a = RTA_DATA(data); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_TUN_TYPE && RTA_PAYLOAD(a) >= 1) return *(uint8_t *)RTA_DATA(a);
  }
  return 0;
}

static void decode_link(batch_t *b, struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) return;
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  event_t *e = push(b, EV_LINK);
  if (e == NULL) return;
  e->deleted = h->nlmsg_type == RTM_DELLINK;
  e->family = ifi->ifi_family; /* AF_BRIDGE: a bridge port's view, not the device */
  e->ifindex = ifi->ifi_index;
  e->up = (ifi->ifi_flags & IFF_UP) != 0;
  e->lower_up = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_IFNAME) copy_str(e->ifname, sizeof e->ifname, a);
    else if (a->rta_type == IFLA_OPERSTATE && RTA_PAYLOAD(a) >= 1) e->operstate = *(uint8_t *)RTA_DATA(a);
    else if (a->rta_type == IFLA_LINKINFO) {
      int ilen = (int)RTA_PAYLOAD(a);
      for (struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
        if (i->rta_type == IFLA_INFO_KIND) copy_str(e->link_kind, sizeof e->link_kind, i);
        else if (i->rta_type == IFLA_INFO_DATA) e->tun_type = tun_type(i);
      }
    }
  }
}

static void decode_addr(batch_t *b, struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg))) return;
  struct ifaddrmsg *ifa = NLMSG_DATA(h);
  event_t *e = push(b, EV_ADDR);
  if (e == NULL) return;
  e->deleted = h->nlmsg_type == RTM_DELADDR;
  e->ifindex = (int32_t)ifa->ifa_index;
  e->family = ifa->ifa_family;
  e->prefixlen = ifa->ifa_prefixlen;
  e->scope = ifa->ifa_scope;
  uint32_t flags = ifa->ifa_flags; /* IFA_FLAGS, when present, carries the flags that do not fit in 8 bits */
  int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifa);
  for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFA_ADDRESS) copy_addr(e->address, ifa->ifa_family, a);
    else if (a->rta_type == IFA_LOCAL) copy_addr(e->local, ifa->ifa_family, a);
    else if (a->rta_type == IFA_FLAGS) get_u32(a, &flags);
  }
  e->tentative = (flags & IFA_F_TENTATIVE) != 0;
  e->dadfailed = (flags & IFA_F_DADFAILED) != 0;
}

static void decode_route(batch_t *b, struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg))) return;
  struct rtmsg *rtm = NLMSG_DATA(h);
  event_t *e = push(b, EV_ROUTE);
  if (e == NULL) return;
  e->deleted = h->nlmsg_type == RTM_DELROUTE;
  e->family = rtm->rtm_family;
  e->prefixlen = rtm->rtm_dst_len;
  e->type = rtm->rtm_type;
  e->table = rtm->rtm_table;
  e->linkdown = (rtm->rtm_flags & RTNH_F_LINKDOWN) != 0;
  int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *rtm);
  for (struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    uint32_t v;
    if (a->rta_type == RTA_DST) copy_addr(e->address, rtm->rtm_family, a);
    else if (a->rta_type == RTA_GATEWAY) copy_addr(e->local, rtm->rtm_family, a);
    else if (a->rta_type == RTA_OIF && get_u32(a, &v)) e->ifindex = (int32_t)v;
    else if (a->rta_type == RTA_TABLE && get_u32(a, &v)) e->table = v;
  }
}

static void set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  napi_create_int64(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_bool(napi_env env, napi_value obj, const char *key, int value) {
  napi_value v;
  napi_get_boolean(env, value != 0, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

static const char *const KINDS[] = {"link", "addr", "route", "dump-done", "overrun", "failed"};

static napi_value to_js(napi_env env, const event_t *e) {
  napi_value o;
  napi_create_object(env, &o);
  set_str(env, o, "kind", KINDS[e->kind]);
  if (e->kind == EV_FAILED) set_int(env, o, "errno", e->err);
  if (e->kind > EV_ROUTE) return o;
  set_bool(env, o, "deleted", e->deleted);
  set_int(env, o, "family", e->family);
  if (e->kind == EV_LINK) {
    set_int(env, o, "ifindex", e->ifindex);
    set_str(env, o, "ifname", e->ifname);
    set_bool(env, o, "up", e->up);
    set_bool(env, o, "lowerUp", e->lower_up);
    set_int(env, o, "operstate", e->operstate);
    set_str(env, o, "linkKind", e->link_kind);
    set_int(env, o, "tunType", e->tun_type);
    return o;
  }
  set_int(env, o, "prefixlen", e->prefixlen);
  if (e->kind == EV_ADDR) {
    set_int(env, o, "ifindex", e->ifindex);
    set_str(env, o, "address", e->address);
    set_str(env, o, "local", e->local);
    set_int(env, o, "scope", e->scope);
    set_bool(env, o, "tentative", e->tentative);
    set_bool(env, o, "dadfailed", e->dadfailed);
    return o;
  }
  set_int(env, o, "table", e->table);
  set_int(env, o, "type", e->type);
  set_str(env, o, "dst", e->address);
  set_int(env, o, "oif", e->ifindex);
  set_str(env, o, "gateway", e->local);
  set_bool(env, o, "linkdown", e->linkdown);
  return o;
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  batch_t *b = data;
  if (env != NULL && callback != NULL) {
    napi_value argv[2], undefined;
    napi_get_undefined(env, &undefined);
    napi_create_array_with_length(env, b->count, &argv[0]);
    for (size_t i = 0; i < b->count; i++) napi_set_element(env, argv[0], (uint32_t)i, to_js(env, &b->ev[i]));
    napi_create_bigint_uint64(env, b->at, &argv[1]);
    napi_call_function(env, undefined, callback, 2, argv, NULL);
  }
  free(b->ev);
  free(b);
}

static int request_dump(watcher_t *w, uint16_t type) {
  struct {
    struct nlmsghdr h;
    struct ifaddrmsg body; /* ifinfomsg is larger, but the kernel reads only the family of either */
    char pad[sizeof(struct ifinfomsg)];
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(struct ifinfomsg) : sizeof(struct ifaddrmsg));
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = ++w->seq;
  req.body.ifa_family = AF_UNSPEC;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  return sendto(w->fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0 ? errno : 0;
}

typedef struct {
  uint16_t dumping; /* RTM_GETLINK or RTM_GETADDR while a dump runs, 0 otherwise */
  int redump;       /* the running dump missed something: start over when it ends */
} dump_t;

/* Events lost: say so, and take a fresh dump (after the running one, which the kernel will not interrupt). */
static int overrun(watcher_t *w, dump_t *d, batch_t *b) {
  push(b, EV_OVERRUN);
  if (d->dumping != 0) {
    d->redump = 1;
    return 0;
  }
  d->dumping = RTM_GETLINK;
  return request_dump(w, RTM_GETLINK);
}

/* Ends our dump step: links, then addresses, then done (or over again). Returns an errno or 0. */
static int dump_step(watcher_t *w, dump_t *d, batch_t *b) {
  if (d->dumping == RTM_GETLINK) {
    d->dumping = RTM_GETADDR;
    return request_dump(w, RTM_GETADDR);
  }
  if (d->redump) {
    d->redump = 0;
    d->dumping = RTM_GETLINK;
    return request_dump(w, RTM_GETLINK);
  }
  d->dumping = 0;
  push(b, EV_DUMP_DONE);
  return 0;
}

/* Walks one datagram with a signed length, so a truncated message ends the walk. Returns an errno or 0. */
static int walk(watcher_t *w, dump_t *d, batch_t *b, char *buf, int len) {
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    int ours = d->dumping != 0 && h->nlmsg_seq == w->seq;
    if (ours && (h->nlmsg_flags & NLM_F_DUMP_INTR)) d->redump = 1;
    switch (h->nlmsg_type) {
      case NLMSG_DONE:
        if (ours) {
          int err = dump_step(w, d, b);
          if (err != 0) return err;
        }
        break;
      case NLMSG_ERROR:
        if (ours && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
          int err = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
          if (err != 0) return err;
        }
        break;
      case RTM_NEWLINK:
      case RTM_DELLINK: decode_link(b, h); break;
      case RTM_NEWADDR:
      case RTM_DELADDR: decode_addr(b, h); break;
      case RTM_NEWROUTE:
      case RTM_DELROUTE: decode_route(b, h); break;
      default: break;
    }
  }
  return 0;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Queues a batch for JavaScript; returns 0 (and frees it) when the queue is full or closing. */
static int post(watcher_t *w, batch_t *b) {
  if (napi_call_threadsafe_function(w->tsfn, b, napi_tsfn_nonblocking) == napi_ok) return 1;
  free(b->ev);
  free(b);
  return 0;
}

/* Reads what is queued now, up to a bound so a flood still reaches JavaScript in pieces. Returns an errno or 0. */
static int drain(watcher_t *w, dump_t *d, batch_t *b, char *buf) {
  for (int i = 0; i < MAX_RECVS_PER_BATCH; i++) {
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = buf, .iov_len = BUF_SIZE};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      if (errno != ENOBUFS) return errno;
      int err = overrun(w, d, b);
      if (err != 0) return err;
      continue;
    }
    if (from.nl_pid != 0) continue; /* only the kernel speaks for rtnetlink */
    if (msg.msg_flags & MSG_TRUNC) {
      int err = overrun(w, d, b); /* a cut datagram lost messages too */
      if (err != 0) return err;
      continue;
    }
    int err = walk(w, d, b, buf, (int)n);
    if (err != 0) return err;
  }
  return 0;
}

/* Tells JavaScript the thread is ending because of err (in a batch of its own). */
static void fail(watcher_t *w, int err) {
  batch_t *b = calloc(1, sizeof *b);
  event_t *e = b != NULL ? push(b, EV_FAILED) : NULL;
  if (e == NULL) {
    if (b != NULL) free(b->ev);
    free(b);
    return;
  }
  e->err = err;
  b->at = now_ns();
  /* The thread's last word gets through: retried until JavaScript has room, or the watcher is closing. */
  while (napi_call_threadsafe_function(w->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
    if (__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE)) {
      free(b->ev);
      free(b);
      return;
    }
    usleep(1000);
  }
}

static void *reader(void *arg) {
  watcher_t *w = arg;
  char *buf = malloc(BUF_SIZE); /* malloc's alignment suits the netlink headers */
  dump_t d = {.dumping = RTM_GETLINK, .redump = 0};
  int err = buf == NULL ? ENOMEM : request_dump(w, RTM_GETLINK);
  struct pollfd fds[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
  while (err == 0) {
    /* After a lost batch, a fresh dump is asked for as soon as JavaScript may have room, flood or no flood. */
    int ready = poll(fds, 2, w->lost ? LOST_RETRY_MS : -1);
    if (ready < 0) {
      if (errno != EINTR) err = errno;
      continue;
    }
    if (fds[1].revents != 0) break;
    batch_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
      err = ENOMEM;
      break;
    }
    b->at = now_ns();
    /* JavaScript fell behind and a batch was lost: it starts over from a fresh dump, as after a kernel overrun. */
    if (w->lost) err = overrun(w, &d, b);
    w->lost = 0;
    if (err == 0) err = drain(w, &d, b, buf);
    /* What was read before the failure still goes out, in order, before the failure itself. */
    if (b->count > 0) w->lost = !post(w, b);
    else {
      free(b->ev);
      free(b);
    }
  }
  if (err != 0) fail(w, err);
  free(buf);
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  return NULL;
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

static const int GROUPS[] = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE};

/* A bound rtnetlink socket that has joined every group: the dump requested after this misses nothing. */
static int subscribed_socket(int *out) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  int size = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK};
  int err = bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ? errno : 0;
  for (size_t i = 0; err == 0 && i < sizeof GROUPS / sizeof GROUPS[0]; i++) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &GROUPS[i], sizeof GROUPS[i]) != 0) err = errno;
  }
  if (err != 0) close(fd);
  else *out = fd;
  return err;
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
  int fd = -1;
  int err = subscribed_socket(&fd);
  if (err != 0) return throw_errno(env, "rtnetlink socket", err);
  int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    err = errno;
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
  napi_create_string_utf8(env, "ksapp-rtnetlink", NAPI_AUTO_LENGTH, &name);
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
