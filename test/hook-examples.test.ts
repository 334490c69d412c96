// The example hooks post what they should: each run as ksapp runs a hook (the event on stdin and in
// KSAPP_EVENT_*), against a tiny HTTP server on loopback standing in for ntfy and Gotify.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { hookEnv } from '../src/daemon/hooks.js';
import type { EventRecord } from '../src/ipc/protocol.js';

const skip = existsSync('/usr/bin/curl') ? false : 'curl is not installed';
const event: EventRecord = { at: '2026-11-30T07:00:00.000Z', type: 'tunnel-down', tunnel: 'wg0', detail: 'tunnel wg0 down: wg0 deleted' };

async function run(script: string, args: string[]): Promise<Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }>> {
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { seen.push({ url: req.url ?? '', headers: req.headers, body }); res.end('{}'); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const child = spawn('sh', [path.resolve('examples/hooks', script), ...args.map((a) => a.replace('PORT', String(port)))], { env: hookEnv(event), stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.end(`${JSON.stringify(event)}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, script);
  } finally {
    server.close();
  }
  return seen;
}

test('ntfy: a title with the event type, the detail as the message, high priority for a loss', { skip }, async () => {
  const [req] = await run('ntfy.sh', ['http://127.0.0.1:PORT/ksapp']);
  assert.equal(req?.url, '/ksapp');
  assert.equal(req?.headers.title, 'ksapp: tunnel-down');
  assert.equal(req?.headers.priority, 'high');
  assert.equal(req?.body, 'tunnel wg0 down: wg0 deleted');
});

test('Gotify: the message form with the token', { skip }, async () => {
  const [req] = await run('gotify.sh', ['http://127.0.0.1:PORT', 'T0KEN']);
  assert.equal(req?.url, '/message?token=T0KEN');
  assert.match(req?.body ?? '', /name="title"\r\n\r\nksapp: tunnel-down\r\n/);
  assert.match(req?.body ?? '', /name="message"\r\n\r\ntunnel wg0 down: wg0 deleted\r\n/);
});
