// A UDP and TCP echo server for the latency figures: echo-server.js ADDR PORT.
// Prints "ready" once both sockets listen; ends on SIGTERM.
import dgram from 'node:dgram';
import net from 'node:net';

const [addr = '127.0.0.1', portText = '7100'] = process.argv.slice(2);
const port = Number(portText);
const v6 = addr.includes(':');
const udp = dgram.createSocket(v6 ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
const tcp = net.createServer((c) => {
  c.setNoDelay(true);
  c.on('error', () => undefined);
  c.pipe(c);
});
let bound = 0;
const ready = (): void => { if (++bound === 2) process.stdout.write('ready\n'); };
udp.bind(port, addr, ready);
tcp.listen(port, addr, ready);
process.on('SIGTERM', () => process.exit(0));
