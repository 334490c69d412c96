/*
 * probe(iface, address, timeoutMs) -> Promise<number | null>: one ICMP echo through `iface`.
 *
 * The tunnel monitor's active probe, in process instead of one `ping` child
 * per interval. Like `ping -I IFACE` it binds its socket to the device
 * (SO_BINDTODEVICE): with the tunnel gone, or no route through it, the echo
 * fails instead of leaving by another interface. A fresh raw socket per probe
 * follows a re-created interface of the same name with no bookkeeping. It runs
 * on the thread pool (napi async work): the event loop never waits. The
 * promise resolves with the round trip in ms, or null when no answer came in
 * time; it rejects only when the probe could not be sent at all (errno name
 * as the code), which the caller counts as unanswered too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <node_api.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "throw-errno.h"

typedef struct {
  char iface[64];
  char address[64];
  int32_t timeout_ms;
  double rtt_ms; /* < 0: no answer */
  int err;       /* != 0: could not probe */
  napi_deferred deferred;
  napi_async_work work;
} probe_t;

static atomic_uint next_seq = 1;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static uint16_t checksum(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (; len > 1; p += 2, len -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len == 1) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

/* Sends one echo and waits for its reply; sets rtt_ms (or -1) or err. */
static void run_probe(probe_t *p) {
  p->rtt_ms = -1;
  struct sockaddr_storage to;
  memset(&to, 0, sizeof to);
  socklen_t tolen;
  int v6 = 0;
  struct sockaddr_in *to4 = (struct sockaddr_in *)&to;
  struct sockaddr_in6 *to6 = (struct sockaddr_in6 *)&to;
  if (inet_pton(AF_INET, p->address, &to4->sin_addr) == 1) {
    to4->sin_family = AF_INET;
    tolen = sizeof *to4;
  } else if (inet_pton(AF_INET6, p->address, &to6->sin6_addr) == 1) {
    to6->sin6_family = AF_INET6;
    tolen = sizeof *to6;
    v6 = 1;
  } else {
    p->err = EINVAL;
    return;
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
  if (fd < 0) {
    p->err = errno;
    return;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->iface, (socklen_t)strlen(p->iface)) != 0) {
    p->err = errno;
    close(fd);
    return;
  }
  uint16_t id = (uint16_t)(getpid() & 0xffff);
  uint16_t seq = (uint16_t)atomic_fetch_add(&next_seq, 1);
  uint8_t packet[64];
  memset(packet, 0, sizeof packet);
  /* Both echo headers share the layout: type, code, checksum, id, sequence. */
  packet[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  uint16_t nid = htons(id), nseq = htons(seq);
  memcpy(packet + 4, &nid, 2);
  memcpy(packet + 6, &nseq, 2);
  memcpy(packet + 8, "ksapp-probe", 11);
  if (!v6) {
    uint16_t sum = checksum(packet, sizeof packet);
    memcpy(packet + 2, &sum, 2);
  } /* the kernel fills in the ICMPv6 checksum */
  double sent = now_ms();
  if (sendto(fd, packet, sizeof packet, 0, (struct sockaddr *)&to, tolen) < 0) {
    p->err = errno;
    close(fd);
    return;
  }
  for (;;) {
    int left = (int)(sent + p->timeout_ms - now_ms());
    if (left <= 0) break;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    uint8_t buf[1500];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    const uint8_t *icmp = buf;
    ssize_t len = got;
    if (!v6) {
      /* A raw IPv4 socket hands over the IP header too. */
      if (len < 20) continue;
      size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
      if (ihl < 20 || (ssize_t)ihl > len) continue;
      icmp = buf + ihl;
      len -= (ssize_t)ihl;
      if (((struct sockaddr_in *)&from)->sin_addr.s_addr != to4->sin_addr.s_addr) continue;
    } else if (memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr, &to6->sin6_addr, sizeof to6->sin6_addr) != 0) {
      continue;
    }
    if (len < 8 || icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) continue;
    uint16_t rid, rseq;
    memcpy(&rid, icmp + 4, 2);
    memcpy(&rseq, icmp + 6, 2);
    if (rid != nid || rseq != nseq) continue;
    p->rtt_ms = now_ms() - sent;
    break;
  }
  close(fd);
}

static void execute(napi_env env, void *data) {
  (void)env;
  run_probe(data);
}

static void complete(napi_env env, napi_status status, void *data) {
  probe_t *p = data;
  napi_value result;
  if (status != napi_ok) {
    napi_value msg;
    napi_create_string_utf8(env, "probe cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &result);
    napi_reject_deferred(env, p->deferred, result);
  } else if (p->err != 0) {
    napi_value code, msg;
    const char *name = strerrorname_np(p->err);
    napi_create_string_utf8(env, name != NULL ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
    char text[160];
    snprintf(text, sizeof text, "icmp probe: %s", strerror(p->err));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &result);
    napi_reject_deferred(env, p->deferred, result);
  } else {
    if (p->rtt_ms < 0) napi_get_null(env, &result);
    else napi_create_double(env, p->rtt_ms, &result);
    napi_resolve_deferred(env, p->deferred, result);
  }
  napi_delete_async_work(env, p->work);
  free(p);
}

static napi_value probe_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  probe_t *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, "probe", ENOMEM);
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], p->iface, sizeof p->iface, &len) != napi_ok || len == 0 || len >= 16 ||
      napi_get_value_string_utf8(env, argv[1], p->address, sizeof p->address, &len) != napi_ok || len == 0 ||
      napi_get_value_int32(env, argv[2], &p->timeout_ms) != napi_ok || p->timeout_ms <= 0) {
    free(p);
    napi_throw_type_error(env, NULL, "probe(iface, address, timeoutMs)");
    return NULL;
  }
  napi_value promise, name;
  napi_create_promise(env, &p->deferred, &promise);
  napi_create_string_utf8(env, "ksapp-icmp-probe", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, p, &p->work);
  napi_queue_async_work(env, p->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "probe", NAPI_AUTO_LENGTH, probe_js, NULL, &fn);
  napi_set_named_property(env, exports, "probe", fn);
  return exports;
}
