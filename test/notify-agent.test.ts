// The agent's core (src/notify/agent.ts) driven with literal events through injected ports: who
// owns an app it has not seen yet, contact with the daemon lost and back, a dashboard that cannot open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppStatus } from '../src/ipc/protocol.js';
import { NotifyAgent, type AgentPorts } from '../src/notify/agent.js';
import type { Bubble } from '../src/notify/desktop.js';

const app = (name: string, uid: number) => ({ name, uid, tunnel: 'wg0', restart: false }) as unknown as AppStatus;

/** An agent whose desktop records bubbles, with no gather delay. */
function agentWith(apps: AppStatus[], over: Partial<AgentPorts> = {}) {
  const shown: Array<[string, Bubble]> = [];
  let asked = 0;
  const agent = new NotifyAgent({
    uid: 1000, log: () => undefined, coalesce: { gatherMs: 0 },
    desktop: { show: async (key, b) => { shown.push([key, b]); } },
    apps: async () => { asked++; return apps; },
    thaw: async () => undefined, openDashboard: async () => undefined, ...over,
  });
  return { agent, shown, asked: () => asked };
}

/** Lets the agent's zero-delay timer fire and its posts finish. */
async function settle(agent: NotifyAgent): Promise<void> {
  await agent.settled();
  await new Promise((r) => setTimeout(r, 5));
  await agent.settled();
}

test('an event about an app the agent has not seen: it asks the daemon who owns it, then notifies only its owner', async () => {
  const { agent, shown, asked } = agentWith([app('late', 1000), app('theirs', 1001)]);
  agent.up([]);
  agent.event({ at: '', type: 'app-frozen', app: 'late', detail: 'tunnel wg0 down: link down' });
  agent.event({ at: '', type: 'app-frozen', app: 'theirs', detail: 'tunnel wg0 down: link down' });
  await settle(agent);
  agent.stop();
  assert.deepEqual(shown.map(([k, b]) => [k, b.summary]), [['app:late', 'late frozen']]);
  assert.equal(asked(), 1, 'once: the answer names both');
  assert.deepEqual(shown[0]![1].actions, ['thaw', 'dashboard']);
  assert.deepEqual([shown[0]![1].category, shown[0]![1].icon], ['network.disconnected', 'network-offline']);
});

test('contact with the daemon lost and back: the user is told both, in the same bubble', async () => {
  const { agent, shown } = agentWith([], { coalesce: { gatherMs: 0, holdMs: 0 } });
  agent.up([]);
  agent.down('the daemon closed the connection');
  await settle(agent);
  agent.up([]);
  await settle(agent);
  agent.stop();
  assert.deepEqual(shown.map(([k, b]) => [k, b.summary]), [['daemon', 'Lost contact with the ksapp daemon'], ['daemon', 'ksapp daemon is back']]);
  assert.match(shown[0]![1].body, /Protected apps stay confined by the firewall/);
});

test('Open dashboard with no terminal to open: a bubble says how', async () => {
  const { agent, shown } = agentWith([], { openDashboard: async () => 'no terminal emulator found: open a terminal and run `ksapp tui`' });
  await agent.action('tunnel:wg0', 'dashboard');
  await settle(agent);
  agent.stop();
  assert.deepEqual(shown.map(([k, b]) => [k, b.summary, b.body]), [['dashboard', 'Open the ksapp dashboard', 'no terminal emulator found: open a terminal and run `ksapp tui`']]);
});
