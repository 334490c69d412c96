// New instances: the exec watcher (kernel exec events, and the polling fallback), and the window between exec and adoption.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Cgroup, cgroupRoot } from '../cgroups/index.js';
import { moveInto, procCgroup, watchExecs, type ExecEvent } from '../src/adopt/index.js';

const root = await cgroupRoot().catch(() => undefined);
const skip = process.getuid?.() !== 0 ? 'needs root' : root === undefined ? 'no cgroup2 mount' : false;
const killPid = (pid: number): void => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } };

async function setup(t: TestContext): Promise<{ old: Cgroup; app: Cgroup; bin: string }> {
  const top = await Cgroup.create(path.join(root!, `ksapp-adopt-${process.pid}-${randomBytes(3).toString('hex')}`));
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-adopt-'));
  t.after(async () => {
    for (const pid of await top.allPids().catch(() => [])) killPid(pid);
    await top.kill(3000).catch(() => undefined);
    await top.remove();
    await rm(dir, { recursive: true, force: true });
  });
  const bin = path.join(dir, `ksw${randomBytes(3).toString('hex')}`);
  await copyFile('/bin/sleep', bin);
  await chmod(bin, 0o755);
  return { old: await top.createChild('old'), app: await top.createChild('app'), bin };
}

/** Starts argv in `group` the way a launcher does (a shell forks, joins, then execs); returns the pid. */
function launch(group: Cgroup, argv: string[]): number {
  const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.path, ...argv], { stdio: 'ignore' });
  return child.pid!;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))] ?? NaN;

test('new instances are detected and adopted; the exec-to-adoption window at several polling intervals', { skip, timeout: 120_000 }, async (t) => {
  const { old, app, bin } = await setup(t);
  const rows: string[] = ['source       n  detect median/p90/max (ms)  in group median/max (ms)  age at detection median (ms, 10 ms ticks)'];
  for (const mode of ['connector', 25, 50, 100, 250, 500] as const) {
    const intervalMs = mode === 'connector' ? 0 : mode;
    const watcher = await watchExecs({ exe: bin }, mode === 'connector' ? {} : { intervalMs, source: 'poll' });
    if (watcher.source !== mode && mode === 'connector') {
      rows.push(`connector  unavailable here: ${watcher.pollReason}`);
      watcher.close();
      continue;
    }
    assert.equal(watcher.source, mode === 'connector' ? 'connector' : 'poll');
    const started = new Map<number, number>();
    const detected = new Map<number, { event: ExecEvent; inGroupAt: number }>();
    watcher.on('exec', (event) => {
      void moveInto(app, [event.proc.pid], { root }).then(() => detected.set(event.proc.pid, { event, inGroupAt: Date.now() }));
    });
    const n = 20;
    await Promise.all(Array.from({ length: n }, async () => {
      await delay(Math.random() * n * Math.max(intervalMs, 50)); // spread out, so spawning itself does not queue
      const at = Date.now();
      started.set(launch(old, [bin, '30']), at);
    }));
    const deadline = Date.now() + 5000 + n * Math.max(intervalMs, 50);
    while (detected.size < n && Date.now() < deadline) await delay(20);
    await delay(mode === 'connector' ? 200 : 0); // a duplicate report would come in this time
    watcher.close();
    assert.equal(detected.size, n, `all ${n} instances detected at ${intervalMs} ms`);
    for (const pid of started.keys()) assert.equal(await procCgroup(pid), '/' + path.relative(root!, app.path));
    const detect = [...detected].map(([pid, d]) => d.event.detectedAt - started.get(pid)!);
    const inGroup = [...detected].map(([pid, d]) => d.inGroupAt - started.get(pid)!);
    const ages = [...detected.values()].map((d) => d.event.ageMs);
    rows.push(`${(mode === 'connector' ? 'connector' : `poll ${intervalMs} ms`).padEnd(11)} ${String(n).padStart(3)}  ${[pct(detect, 0.5), pct(detect, 0.9), Math.max(...detect)].join(' / ').padEnd(26)}${[pct(inGroup, 0.5), Math.max(...inGroup)].join(' / ').padEnd(26)}${pct(ages, 0.5)}`);
    for (const pid of started.keys()) killPid(pid);
  }
  for (const row of rows) t.diagnostic(row);
});

test('polling: a fork that execs the app a moment later is caught by the recheck; existing processes are not reported', { skip }, async (t) => {
  const { old, bin } = await setup(t);
  const before = launch(old, [bin, '30']);
  await delay(100);
  const watcher = await watchExecs({ exe: bin, user: 'root' }, { intervalMs: 50, recheckMs: 1000, source: 'poll' });
  t.after(() => watcher.close());
  const seen: number[] = [];
  watcher.on('exec', (e) => seen.push(e.proc.pid));
  const late = launch(old, ['sh', '-c', 'sleep 0.3; exec "$0" 30', bin]);
  const tooLate = launch(old, ['sh', '-c', 'sleep 1.6; exec "$0" 30', bin]);
  for (const deadline = Date.now() + 5000; !seen.includes(late) && Date.now() < deadline;) await delay(20);
  assert.ok(seen.includes(late), 'exec 0.3 s after the fork');
  assert.ok(!seen.includes(before), 'already running when the watch began: find.ts adopts those');
  await delay(2000);
  t.diagnostic(`exec 1.6 s after the fork (recheck window 1 s): ${seen.includes(tooLate) ? 'detected' : 'missed (a limit of polling; the proc connector would see it)'}`);
});

test('polling, several rules: one shared scan reports each new process to its own rule only', { skip }, async (t) => {
  const { old, bin } = await setup(t);
  const bins = await Promise.all([1, 2, 3].map(async (n) => {
    const other = `${bin}-${n}`;
    await copyFile(bin, other);
    await chmod(other, 0o755);
    return other;
  }));
  const seen = new Map<string, number[]>(bins.map((b) => [b, []]));
  const watchers = await Promise.all(bins.map(async (b) => {
    const w = await watchExecs({ exe: b }, { intervalMs: 50, source: 'poll' });
    w.on('exec', (e) => seen.get(b)!.push(e.proc.pid));
    return w;
  }));
  t.after(() => { for (const w of watchers) w.close(); });
  const pids = bins.map((b) => launch(old, [b, '30']));
  for (const deadline = Date.now() + 5000; [...seen.values()].some((s) => s.length === 0) && Date.now() < deadline;) await delay(20);
  assert.deepEqual(bins.map((b) => seen.get(b)), pids.map((p) => [p]), 'each rule saw its own process, once');
  // A watcher closed leaves the others scanning.
  watchers[0]!.close();
  const again = launch(old, [bins[1]!, '30']);
  for (const deadline = Date.now() + 5000; !seen.get(bins[1]!)!.includes(again) && Date.now() < deadline;) await delay(20);
  assert.ok(seen.get(bins[1]!)!.includes(again));
});

test('the cost of polling while nothing starts (CPU of this process per second of watching)', { skip }, async (t) => {
  const procs = (await import('node:fs/promises').then((fs) => fs.readdir('/proc'))).filter((n) => /^\d+$/.test(n)).length;
  for (const [intervalMs, rules] of [[25, 1], [100, 1], [250, 1], [100, 10]] as const) {
    const watchers = await Promise.all(Array.from({ length: rules }, (_, i) => watchExecs({ exe: `/nonexistent/ksapp-watch-cost-${i}` }, { intervalMs, source: 'poll' })));
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    await delay(2000);
    const used = process.cpuUsage(cpu0);
    for (const w of watchers) w.close();
    const perSecond = ((used.user + used.system) / 1000) / ((Date.now() - t0) / 1000);
    t.diagnostic(`interval ${intervalMs} ms, ${rules} rule(s), ${procs} processes: ${perSecond.toFixed(1)} ms CPU per second (${(perSecond / 10).toFixed(2)} % of one core)`);
  }
});

test('kernel exec events: every new instance once, an exec long after its fork too, nothing already running', { skip }, async (t) => {
  const { old, bin } = await setup(t);
  const before = launch(old, [bin, '30']);
  await delay(100);
  const watcher = await watchExecs({ exe: bin, user: 'root' });
  t.after(() => watcher.close());
  if (watcher.source !== 'connector') {
    t.skip(`the connector cannot be opened here: ${watcher.pollReason}`);
    return;
  }
  const reports: number[] = [];
  watcher.on('exec', (e) => reports.push(e.proc.pid));
  const quick = launch(old, [bin, '30']);
  // A shell that execs a non-matching program first, then the app 1.6 s after the fork: polling's recheck gives up at 1 s.
  const late = launch(old, ['sh', '-c', 'sleep 1.6; exec "$0" 30', bin]);
  for (const deadline = Date.now() + 5000; !(reports.includes(quick) && reports.includes(late)) && Date.now() < deadline;) await delay(20);
  await delay(200);
  assert.deepEqual([...reports].sort(), [quick, late].sort(), 'each new instance reported once, the one already running never');
  assert.ok(!reports.includes(before));
});

test('outside the first network namespace the connector is refused: the watcher polls and says why', { skip }, async () => {
  // unshare --net gives the child a namespace of its own that ends with it; nothing is sent or configured in it.
  const script = `import { watchExecs } from ${JSON.stringify(new URL('../src/adopt/index.js', import.meta.url).href)};
const w = await watchExecs({ exe: '/nonexistent/ksapp' });
console.log(JSON.stringify({ source: w.source, reason: w.pollReason }));
w.close();`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('unshare', ['--net', '--', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
  });
  const result = JSON.parse(out) as { source: string; reason: string };
  assert.equal(result.source, 'poll');
  assert.match(result.reason, /process-events connector is unavailable .*only in the initial network namespace/);
});
