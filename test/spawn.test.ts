// The daemon's one spawn site under fd exhaustion: a spawn that fails (EMFILE) is a result, never
// an unheard 'error' event that ends the process (execa 9 left it unheard: `spawn ip EMFILE`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runFailed, startProgram } from '../src/spawn.js';

const dist = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

test('a program runs: output, status, input, a time-out, a missing program', async () => {
  const ok = await startProgram('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'hello', stderr: 'collect' }).result;
  assert.deepEqual({ ...ok, error: undefined }, { exitCode: 3, signal: undefined, stdout: 'hello', stderr: 'oops\n', error: undefined, timedOut: false });
  assert.equal(runFailed(ok), true);
  const slow = await startProgram('sleep', ['5'], { timeoutMs: 50 }).result;
  assert.equal(slow.timedOut, true);
  assert.equal(slow.signal, 'SIGKILL');
  const missing = await startProgram('/nonexistent/tool', []).result;
  assert.equal((missing.error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
  assert.equal(missing.exitCode, undefined);
});

test('out of file descriptors: runTool fails with a ToolError and the process lives on', async () => {
  // A child with every descriptor taken: the spawn inside it must fail, and be reported, not crash it.
  const script = `
    import { openSync } from 'node:fs';
    import { runTool } from ${JSON.stringify(dist('../src/tools.js'))};
    import { startProgram } from ${JSON.stringify(dist('../src/spawn.js'))};
    process.on('uncaughtException', (e) => { console.log('UNCAUGHT ' + e.message); process.exit(9); });
    const held = [];
    try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
    const tool = await runTool('ip', ['link']).then(() => 'ran', (e) => e.code + ' ' + e.message);
    const streamed = await startProgram('ip', ['monitor'], { stdout: 'stream' }).result;
    await new Promise((r) => setTimeout(r, 100));
    console.log(JSON.stringify({ tool, streamed: streamed.error?.code }));`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile('prlimit', ['--nofile=64', process.execPath, '--input-type=module', '-e', script], (error, stdout) => (error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve(stdout)));
  });
  const got = JSON.parse(out.trim()) as { tool: string; streamed: string };
  assert.match(got.tool, /^TOOL_FAILED ip link failed: spawn ip EMFILE/);
  assert.equal(got.streamed, 'EMFILE');
});
