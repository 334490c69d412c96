// Pure parts of the adoption library, on literal fixtures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterMarking, classify, describeRule, markable, filterTerm, isKernelThread, matches, parseEndpoint, parseExeLink, parseInodeColumn,
  parsePasswd, parseSocketLink, parseSsLines, parseStat, parseStatus, type ProcInfo, type SsSocket } from '../src/adopt/index.js';

test('parseStat: comm with spaces and parentheses, ppid, flags, start time', () => {
  const s = parseStat('4242 (my (odd) app) S 13000 4242 4242 0 -1 4194560 7171 103702 0 28 1 5 68 41 20 0 1 0 75939 5251072 957');
  assert.deepEqual(s, { pid: 4242, comm: 'my (odd) app', state: 'S', ppid: 13000, flags: 4194560, startTicks: 75939 });
  assert.equal(parseStat('garbage'), undefined);
});

test('isKernelThread: PF_KTHREAD, kthreadd and its children; a zombie user process is not one', () => {
  const kthreadd = parseStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0')!;
  assert.equal(isKernelThread(kthreadd), true);
  assert.equal(isKernelThread(parseStat('77 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 30 0')!), true);
  assert.equal(isKernelThread(parseStat('500 (bash) Z 400 500 500 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 99 0')!), false);
});

test('parseStatus, parseExeLink, parseSocketLink, parsePasswd', () => {
  assert.deepEqual(parseStatus('Name:\tbash\nTgid:\t13003\nPid:\t13010\nUid:\t1000\t1000\t1000\t1000\n'), { tgid: 13003, uid: 1000 });
  assert.deepEqual(parseExeLink('/usr/bin/qbittorrent (deleted)'), { path: '/usr/bin/qbittorrent', deleted: true });
  assert.deepEqual(parseExeLink('/usr/bin/qbittorrent'), { path: '/usr/bin/qbittorrent', deleted: false });
  assert.equal(parseSocketLink('socket:[110510]'), 110510);
  assert.equal(parseSocketLink('pipe:[110510]'), undefined);
  assert.equal(parseSocketLink('/dev/null'), undefined);
  const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n#bad\nbroken:x:abc:1::/:\n');
  assert.deepEqual([...users], [['root', 0], ['alice', 1000]]);
});

test('matches: exe, name (comm, truncated comm, exe file name), user name or uid; every field must hold', () => {
  const qb: ProcInfo = { pid: 10, ppid: 1, name: 'qbittorrent', uid: 1000, user: 'alice', exe: '/usr/bin/qbittorrent' };
  const long: ProcInfo = { pid: 11, ppid: 1, name: 'transmission-gt', uid: 1000, exe: '/opt/t/transmission-gtk' };
  assert.equal(matches(qb, { exe: '/usr/bin/qbittorrent' }), true);
  assert.equal(matches(qb, { exe: '/usr/bin//qbittorrent' }), true, 'paths are normalised');
  assert.equal(matches(qb, { exe: '/usr/bin/qbit' }), false);
  assert.equal(matches({ ...qb, exe: undefined }, { exe: '/usr/bin/qbittorrent' }), false, 'unreadable exe never matches');
  assert.equal(matches(qb, { name: 'qbittorrent' }), true);
  assert.equal(matches(long, { name: 'transmission-gtk' }), true, 'comm holds 15 characters');
  assert.equal(matches({ ...long, name: 'other' }, { name: 'transmission-gtk' }), true, "the exe's file name");
  assert.equal(matches(qb, { name: '' }), false);
  assert.equal(matches(qb, { user: 'alice' }), true);
  assert.equal(matches(qb, { user: 1000 }), true);
  assert.equal(matches(qb, { user: '1000' }), true);
  assert.equal(matches(qb, { user: 'bob' }), false);
  assert.equal(matches(qb, { exe: '/usr/bin/qbittorrent', user: 0 }), false, 'all fields must hold');
  assert.equal(matches(qb, { name: 'qbittorrent', user: 'alice', exe: '/usr/bin/qbittorrent' }), true);
  assert.equal(matches(qb, {}), false, 'an empty rule selects nothing');
  assert.equal(describeRule({ exe: '/x', user: 3 }), 'exe=/x user=3');
});

test('parseEndpoint: v4, bracketed v6, dual-stack wildcard, device suffix, port *', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:9997'), { addr: '127.0.0.1', port: 9997, family: 4 });
  assert.deepEqual(parseEndpoint('0.0.0.0:*'), { addr: '0.0.0.0', port: 0, family: 4 });
  assert.deepEqual(parseEndpoint('[::1]:7003'), { addr: '::1', port: 7003, family: 6 });
  assert.deepEqual(parseEndpoint('*:7001'), { addr: '::', port: 7001, family: 6 });
  assert.deepEqual(parseEndpoint('*:*'), { addr: '::', port: 0, family: 6 });
  assert.deepEqual(parseEndpoint('[fe80::1]%eth0:123'), { addr: 'fe80::1', port: 123, family: 6 });
  assert.deepEqual(parseEndpoint('127.0.0.53%lo:53'), { addr: '127.0.0.53', port: 53, family: 4 });
  assert.deepEqual(parseEndpoint('[::ffff:10.0.0.1]:80'), { addr: '::ffff:10.0.0.1', port: 80, family: 6 });
  assert.equal(parseEndpoint('nonsense'), undefined);
});

const SS_ALL = `udp   ESTAB  0      0          127.0.0.1:54349    127.0.0.1:9998  ino:110510 sk:1 cgroup:/ <->
udp   UNCONN 0      0                  *:7001          *:*      ino:119390 sk:11 cgroup:/user.slice v6only:0 <->
tcp   LISTEN 0      128            [::1]:7003       [::]:*      ino:119393 sk:12 cgroup:/ksapp/app v6only:1 <->
tcp   ESTAB  0      0          127.0.0.1:47738    127.0.0.1:9997  timer:(keepalive,119min,0) uid:1000 ino:116804 sk:a cgroup:/ <->
tcp   TIME-WAIT 0   0          127.0.0.1:47730    127.0.0.1:9997  timer:(timewait,59sec,0)
`;

test('parseSsLines: several netids, extras, TIME-WAIT without inode', () => {
  const socks = parseSsLines(SS_ALL);
  assert.equal(socks.length, 5);
  assert.deepEqual(socks[0], { netid: 'udp', family: 4, state: 'ESTAB', local: { addr: '127.0.0.1', port: 54349 }, peer: { addr: '127.0.0.1', port: 9998 }, inode: 110510, cgroup: '/' });
  assert.deepEqual(socks.map((s) => [s.netid, s.family, s.inode, s.cgroup]),
    [['udp', 4, 110510, '/'], ['udp', 6, 119390, '/user.slice'], ['tcp', 6, 119393, '/ksapp/app'], ['tcp', 4, 116804, '/'], ['tcp', 4, 0, undefined]]);
});

test('parseSsLines: ss -K output for one netid has no netid column', () => {
  const socks = parseSsLines('ESTAB 0      0      127.0.0.1:47738 127.0.0.1:9997 ino:116804 sk:a cgroup:/ <->\n', 'tcp');
  assert.deepEqual(socks.map((s) => [s.netid, s.inode]), [['tcp', 116804]]);
});

test('filterTerm selects the exact addresses and ports (wildcards match only themselves)', () => {
  const [a, b, c] = parseSsLines(SS_ALL) as [SsSocket, SsSocket, SsSocket];
  assert.equal(filterTerm(a), '( src 127.0.0.1:54349 and dst 127.0.0.1:9998 )');
  assert.equal(filterTerm(b), '( src [::]:7001 and dst [::]:0 )');
  assert.equal(filterTerm(c), '( src [::1]:7003 and dst [::]:0 )');
});

test('parseInodeColumn: unix, packet and raw tables', () => {
  const unix = 'Num       RefCount Protocol Flags    Type St Inode Path\n000000008d5af05e: 00000003 00000000 00000000 0001 03 133383\n0000000: 00000002 00000000 00010000 0001 01 124579 /run/x.sock\n';
  assert.deepEqual(parseInodeColumn(unix, 6), [133383, 124579]);
  const packet = 'sk               RefCnt Type Proto  Iface R Rmem   User   Inode\nffff8880 3      3    0003   2     1 0      0      55321\n';
  assert.deepEqual(parseInodeColumn(packet, 8), [55321]);
  const raw = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n 253: 00000000:00FD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 117001 2 0000 0\n';
  assert.deepEqual(parseInodeColumn(raw, 9), [117001]);
});

test('classify: what counts as protected after the destroy', () => {
  const [udp, udp6, tcpIn, tcp] = parseSsLines(SS_ALL) as [SsSocket, SsSocket, SsSocket, SsSocket];
  const inApp = (cg?: string) => cg === '/ksapp/app';
  const base = { pids: [5], killed: false, stillHeld: true, inApp, destroy: true };
  const out = (facts: Partial<Parameters<typeof classify>[0]>) => classify({ ...base, inode: 1, ...facts });
  assert.equal(out({ socket: tcp, stillHeld: false }).outcome, 'closed');
  assert.equal(out({ socket: tcpIn }).outcome, 'confined');
  assert.equal(out({ socket: tcp, killed: true }).outcome, 'aborted');
  assert.equal(out({ socket: tcp }).outcome, 'unprotected');
  assert.match(out({ socket: tcp, refused: 'shared tuple' }).reason, /shared tuple/);
  assert.equal(out({ socket: udp, killed: true }).outcome, 'unprotected', 'a destroyed UDP socket can send again');
  assert.match(out({ socket: udp6, killed: true }).reason, /sendto/);
  assert.equal(out({ socket: udp, killed: true, stillHeld: false }).outcome, 'closed');
  assert.equal(out({ hit: { kind: 'unix', foreign: false } }).outcome, 'ignored');
  assert.equal(out({ hit: { kind: 'unix', foreign: true } }).outcome, 'ignored', "a stdio socketpair from the parent's namespace");
  assert.equal(out({ hit: { kind: 'netlink', foreign: false } }).outcome, 'ignored');
  assert.equal(out({ hit: { kind: 'packet', foreign: false } }).outcome, 'unprotected');
  assert.match(out({ hit: { kind: 'packet', foreign: false } }).reason, /below IP routing and the firewall/);
  assert.equal(out({ hit: { kind: 'icmp', foreign: false } }).outcome, 'unprotected');
  assert.match(out({ hit: { kind: 'tcp', foreign: true } }).reason, /another network namespace/);
  assert.equal(out({}).outcome, 'unprotected', 'an unbound socket of unknown family is not trusted');
  const listener = out({ socket: { ...tcp, state: 'LISTEN' }, killed: true });
  assert.deepEqual([listener.outcome, listener.listening, listener.local], ['aborted', true, '127.0.0.1:47738']);
  assert.match(out({ socket: tcp, destroy: false }).reason, /check only/);
});

test('marking: which unprotected sockets can take the app mark, and what the report says after', () => {
  const [udp, , , tcp] = parseSsLines(SS_ALL) as [SsSocket, SsSocket, SsSocket, SsSocket];
  const base = { pids: [5], killed: true, stillHeld: true, inApp: () => false, destroy: true, inode: 1 };
  const out = (facts: Partial<Parameters<typeof classify>[0]>) => classify({ ...base, ...facts });
  assert.equal(markable(out({ socket: udp })), true, 'a destroyed UDP socket comes back: mark it');
  for (const kind of ['raw', 'icmp', 'udplite'] as const) assert.equal(markable(out({ hit: { kind, foreign: false }, killed: false })), true, kind);
  assert.equal(markable(out({ killed: false })), true, 'not bound yet: its first route lookup carries the mark');
  assert.equal(markable(out({ socket: tcp, killed: false })), false, 'a TCP connection keeps its route: destroyed, never marked');
  assert.equal(markable(out({ socket: { ...tcp, state: 'LISTEN' }, killed: false, refused: 'left open to be marked' })), true, 'a listener: what it accepts inherits the mark');
  assert.equal(markable(out({ hit: { kind: 'packet', foreign: false }, killed: false })), false, 'a packet socket skips routing and netfilter');
  assert.equal(markable(out({ socket: udp, stillHeld: false })), false, 'closed: nothing to mark');
  const marked = afterMarking(out({ socket: udp }), { marked: true });
  assert.equal(marked.outcome, 'marked');
  assert.match(marked.reason, /tunnel or nowhere/);
  const failed = afterMarking(out({ socket: udp }), { marked: false, reason: 'ptrace is restricted; restart the app' });
  assert.equal(failed.outcome, 'unprotected');
  assert.match(failed.reason, /sendto.*marking it failed: ptrace is restricted/);
});
