// Node `ws` peers for the interop tests (run by tests/interop/run.py).
//   node peers.cjs client URL   - checks an echo server, exits 0 on success
//   node peers.cjs server PORT  - an echo server
'use strict';
const WebSocket = require('ws');
const assert = require('assert');

function once(ws, event) {
  return new Promise((resolve, reject) => {
    ws.once(event, (...args) => resolve(args));
    ws.once('error', reject);
  });
}

async function echo(ws, data, binary) {
  ws.send(data, { binary });
  const [reply, isBinary] = await once(ws, 'message');
  assert.strictEqual(isBinary, binary, 'message type');
  assert.ok(Buffer.compare(Buffer.from(reply), Buffer.from(data)) === 0, 'echoed payload');
}

async function client(url) {
  const ws = new WebSocket(url, { maxPayload: 64 << 20 });
  await once(ws, 'open');
  await echo(ws, 'héllo wörld €', false);
  await echo(ws, Buffer.from([0, 1, 2, 255]), true);
  await echo(ws, '', false);
  await echo(ws, Buffer.alloc(0), true);
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
  await echo(ws, big, true);
  ws.ping(Buffer.from('heartbeat'));
  const [pong] = await once(ws, 'pong');
  assert.strictEqual(pong.toString(), 'heartbeat', 'pong payload');
  ws.close(4000, 'bye');
  const [code] = await once(ws, 'close');
  assert.strictEqual(code, 4000, 'close code echoed');
  console.log('node ws client: text, binary, empty, 1 MiB, ping, close code: ok');
}

function server(port) {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: Number(port), maxPayload: 64 << 20 });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  wss.on('listening', () => console.log(`node ws echo server on ${port}`));
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'client') {
  client(arg).then(() => process.exit(0), (e) => { console.error('node ws client failed:', e); process.exit(1); });
} else if (mode === 'server') {
  server(arg);
} else {
  console.error('usage: node peers.cjs client URL | server PORT');
  process.exit(2);
}
