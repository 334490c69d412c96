// Sequential request/response round trips: echo-client.js udp|tcp HOST PORT COUNT.
// Prints one JSON line { rtts: [ms…], lost } (a UDP request unanswered within 1 s is lost).
import dgram from 'node:dgram';
import net from 'node:net';

const [proto = 'udp', host = '127.0.0.1', portText = '7100', countText = '100'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const payload = Buffer.alloc(32, 0x61);
const now = (): bigint => process.hrtime.bigint();
const ms = (t0: bigint): number => Math.round(Number(now() - t0) / 1e3) / 1e3;

async function udpRounds(): Promise<{ rtts: number[]; lost: number }> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const rtts: number[] = [];
  let lost = 0;
  for (let i = 0; i < count; i++) {
    const t0 = now();
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { sock.off('message', on); resolve(false); }, 1000);
      const on = (): void => { clearTimeout(timer); sock.off('message', on); resolve(true); };
      sock.on('message', on);
      sock.send(payload, port, host);
    });
    if (ok) rtts.push(ms(t0));
    else lost++;
  }
  sock.close();
  return { rtts, lost };
}

async function tcpRounds(): Promise<{ rtts: number[]; lost: number }> {
  const sock = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const on = (chunk: Buffer): void => {
        got += chunk.length;
        if (got >= payload.length) { sock.off('data', on); resolve(); }
      };
      sock.on('data', on);
      sock.write(payload);
    });
    rtts.push(ms(t0));
  }
  sock.destroy();
  return { rtts, lost: 0 };
}

const run = proto === 'tcp' ? tcpRounds : udpRounds;
run().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (error: unknown) => { process.stderr.write(`echo-client: ${String(error)}\n`); process.exit(1); },
);
