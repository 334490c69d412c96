// The ownership rule of a non-root protect and its race verdicts, on literal /proc/PID/status texts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdoptError, afterWrite, beforeWrite, describeLeftOut, occupant, ownership, parseUids, requirePidfd, type Seen } from '../src/adopt/index.js';
import { formatProtect } from '../src/commands/protect.js';

/** The head of a real /proc/PID/status, with the given Uid line. */
const status = (name: string, uid: string): string =>
  `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t4200\nTracerPid:\t0\nUid:\t${uid}\nGid:\t65534\t65534\t65534\t65534\nFDSize:\t256\nGroups:\t \n`;

const NOBODY = 65534;
const nobodySleep = status('sleep', '65534\t65534\t65534\t65534');
const rootSleep = status('sleep', '0\t0\t0\t0');
// `passwd` run by nobody: the real uid stays the caller's, the effective and saved become root.
const setuidPasswd = status('passwd', '65534\t0\t0\t0');
// A root daemon that dropped privileges with setuid() kept root as its saved uid, so it can take them back.
const savedRoot = status('worker', '65534\t65534\t0\t65534');
// Someone else's program that is setuid to nobody: effective nobody, but it runs for uid 1000.
const otherUser = status('helper', '1000\t65534\t65534\t65534');

test('uids come from the Uid line: real, effective, saved; none without it', () => {
  assert.deepEqual(parseUids(nobodySleep), { real: NOBODY, effective: NOBODY, saved: NOBODY });
  assert.deepEqual(parseUids(setuidPasswd), { real: NOBODY, effective: 0, saved: 0 });
  assert.equal(parseUids('Name:\tsleep\nState:\tZ (zombie)\n'), undefined);
});

test("a process is the caller's only when real, effective and saved uid are all theirs", () => {
  assert.deepEqual(ownership(parseUids(nobodySleep), NOBODY), { owned: true });
  assert.deepEqual(ownership(parseUids(rootSleep), NOBODY), { owned: false, uid: 0, why: 'it runs as uid 0' });
  const setuid = ownership(parseUids(setuidPasswd), NOBODY);
  assert.equal(setuid.owned, false);
  assert.ok(!setuid.owned && setuid.uid === 0 && /effective uid 0, saved uid 0.*setuid program/.test(setuid.why), JSON.stringify(setuid));
  const saved = ownership(parseUids(savedRoot), NOBODY);
  assert.ok(!saved.owned && saved.uid === 0, 'a saved root uid is root’s');
  assert.deepEqual(ownership(parseUids(otherUser), NOBODY), { owned: false, uid: 1000, why: 'it runs as uid 1000' });
  assert.equal(ownership(undefined, NOBODY).owned, false, 'unreadable uids are never taken for the caller’s');
  assert.deepEqual(ownership(parseUids(rootSleep), 0), { owned: true });
});

const seen = (text: string, extra: Partial<Seen> = {}): Seen => ({ state: 'S', comm: 'sleep', from: '/user.slice', uids: parseUids(text), ...extra });
const TARGET = '/ksapp/app';

test('before the write: a read the pidfd cannot vouch for counts for nothing; strangers are left out with why', () => {
  assert.deepEqual(beforeWrite(seen(nobodySleep), true, NOBODY, TARGET), { do: 'write' });
  assert.deepEqual(beforeWrite(seen(rootSleep), true, NOBODY, TARGET), { do: 'leave-out', uid: 0, why: 'it runs as uid 0' });
  assert.equal(beforeWrite(seen(setuidPasswd), true, NOBODY, TARGET).do, 'leave-out');
  // Died after the read: the pid may be someone else's by now, and what was read may be theirs.
  assert.deepEqual(beforeWrite(seen(nobodySleep), false, NOBODY, TARGET), { do: 'gone' });
  assert.deepEqual(beforeWrite(seen(rootSleep), false, NOBODY, TARGET), { do: 'gone' });
  assert.deepEqual(beforeWrite(undefined, true, NOBODY, TARGET), { do: 'gone' });
  assert.deepEqual(beforeWrite(seen(nobodySleep, { state: 'Z' }), true, NOBODY, TARGET), { do: 'gone' }, 'a zombie moves nowhere');
  assert.deepEqual(beforeWrite(seen(nobodySleep, { from: TARGET }), true, NOBODY, TARGET), { do: 'in-group' });
});

test('after the write: moved only when the checked process outlived it; otherwise look at whoever holds the pid', () => {
  assert.equal(afterWrite('ok', true), 'moved');
  assert.equal(afterWrite('ok', false), 'check-pid');
  assert.equal(afterWrite('gone', false), 'gone');
  assert.equal(afterWrite('gone', true), 'gone');
});

test('whoever took the pid: a stranger in the group goes back, the caller’s own or one elsewhere stays, an unvouched read is repeated', () => {
  const inGroup = { from: TARGET };
  assert.equal(occupant(seen(rootSleep, inGroup), true, NOBODY, TARGET), 'put-back');
  assert.equal(occupant(seen(setuidPasswd, inGroup), true, NOBODY, TARGET), 'put-back');
  assert.equal(occupant(seen(nobodySleep, inGroup), true, NOBODY, TARGET), 'keep');
  assert.equal(occupant(seen(rootSleep), true, NOBODY, TARGET), 'none', 'the write did not reach it');
  assert.equal(occupant(seen(rootSleep, { ...inGroup, state: 'Z' }), true, NOBODY, TARGET), 'none', 'the moved target, dead but not yet reaped');
  assert.equal(occupant(seen(rootSleep, inGroup), false, NOBODY, TARGET), 'look-again');
  assert.equal(occupant(undefined, false, NOBODY, TARGET), 'none');
});

test('left-out processes in one line: pid, name, why; a long list is cut short', () => {
  const one = (pid: number) => ({ pid, uid: 0, comm: 'sleep', why: 'it runs as uid 0' });
  assert.equal(describeLeftOut([one(4243)]), '4243 (sleep): it runs as uid 0');
  assert.equal(describeLeftOut([one(1), one(2), one(3)], 2), '1 (sleep): it runs as uid 0; 2 (sleep): it runs as uid 0; and 1 more');
});

test('protect says in one line which processes it left out and why; none, no line', () => {
  const result = { name: 'sh', cgroup: '/sys/fs/cgroup/ksapp/sh', moved: 1, gone: 0, unprotected: [], listenersClosed: [], dnsBypass: [], marked: [] };
  assert.equal(formatProtect({ ...result, leftOut: [] }), 'sh: 1 process(es) moved into /sys/fs/cgroup/ksapp/sh');
  const out = formatProtect({ ...result, leftOut: [{ pid: 4243, uid: 0, comm: 'sleep', why: 'it runs as uid 0' }, { pid: 4250, uid: 0, comm: 'passwd', why: 'it holds uid 0’s privileges' }] }).split('\n');
  assert.equal(out.length, 2);
  assert.equal(out[1], '  left out 2 process(es) that are not yours, where they were (ksapp freeze/kill of sh does not reach them): 4243 (sleep): it runs as uid 0; 4250 (passwd): it holds uid 0’s privileges');
});

test('without the pidfd addon a checked move refuses, saying what is missing and what to do; never an unchecked fallback', () => {
  assert.throws(() => requirePidfd(() => undefined), (e) => e instanceof AdoptError && e.code === 'ADOPT_NO_PIDFD' &&
    /pidfd addon is not built/.test(e.message) && /npm run build/.test(e.hint) && /as root/.test(e.hint));
});
