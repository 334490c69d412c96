// What the container tests' busybox containers run, and how they read what the internet host saw of them.
import type { Lab, Received } from '../../src/lab/index.js';

/**
 * A busybox loop: TCP over both families, UDP (a tftp read request) and, with `dns`, lookups through the
 * runtime's embedded resolver and a hard-coded one. `timeout`: nc's -w bounds only the connect, and a
 * connection frozen mid-way may never end once the tunnel is back (it stalled the loop for good, 2 in ~25 runs).
 */
export function senderLoop(tag: string, l: Pick<Lab, 'addr'>, o: { dns?: boolean; udp?: boolean } = {}): string {
  const dns = o.dns ? `nslookup ${tag}-dns.test >/dev/null 2>&1 & nslookup ${tag}-hard.test ${l.addr.internet4} >/dev/null 2>&1 & ` : '';
  const udp = o.udp ? `timeout 1 tftp -g -r ${tag}u$i -l /tmp/a ${l.addr.internet4} 7000 >/dev/null 2>&1 & ` : '';
  return `i=0; while :; do i=$((i+1)); echo "${tag} $i" | timeout 2 nc -w 1 ${l.addr.internet4} 7000; echo "${tag}6 $i" | timeout 2 nc -w 1 ${l.addr.internet6} 7000; ` +
    `${udp}${dns}sleep 0.2; done`;
}

/** The internet host's records of one sender since `from`. */
export const ofTag = (records: readonly Received[], tag: string, from = 0): Received[] => records.filter((r) => r.t >= from && r.tag.includes(tag));
