// Node `ws` peers for the interop tests (run by tests/interop/run.py).
//   node peers.cjs client URL              - checks an echo server, exits 0 on success
//   node peers.cjs deflate-client URL      - the same over permessage-deflate; prints
//                                            a JSON report for run.py to judge
//   node peers.cjs server PORT [--deflate] - an echo server; with --deflate it takes
//                                            permessage-deflate and compresses every
//                                            message, however small
'use strict';
const WebSocket = require('ws');
const assert = require('assert');
const crypto = require('crypto');

// The next `event` on ws, or its next error; whichever comes first removes the
// other's listener, so that many calls on one socket leave no listeners behind.
function once(ws, event) {
  return new Promise((resolve, reject) => {
    const onError = (e) => { ws.off(event, onEvent); reject(e); };
    const onEvent = (...args) => { ws.off('error', onError); resolve(args); };
    ws.once(event, onEvent);
    ws.once('error', onError);
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

// The compressed counterpart of client(), on three connections, each with one
// purpose (run.py's relay counts each one's bytes on the wire separately):
//   text:     a highly compressible 1 MiB text (a sentence repeated);
//   messages: client()'s messages and a few small ones, a ping and a close code;
//   repeats:  one random 2 KiB block echoed 16 times, whose cost on the wire shows
//             whether each copy referred back to the one before.
// permessage-deflate is offered as ws does by default: messages under its
// 1024-byte threshold go out uncompressed, which the server must take as well.
// Only the echoes are asserted here. What each handshake settled, and the payload
// sizes, go out as one JSON line for run.py to judge, so that a run without
// compression fails there on every count it misses.
async function deflateConnection(url, name, messages, finish) {
  const ws = new WebSocket(url, { maxPayload: 64 << 20, perMessageDeflate: true });
  let header = '';
  ws.once('upgrade', (res) => { header = res.headers['sec-websocket-extensions'] || ''; });
  await once(ws, 'open');
  const settled = {
    name,
    header,
    extensions: ws.extensions.split(',').map((e) => e.trim()).filter(Boolean),
    payload: messages.reduce((n, [data]) => n + Buffer.byteLength(data), 0),
  };
  for (const [data, binary] of messages) await echo(ws, data, binary);
  if (finish) {
    await finish(ws);
  } else {
    ws.close(1000);
    await once(ws, 'close');
  }
  return settled;
}

async function pingAndClose(ws) {
  ws.ping(Buffer.from('heartbeat'));
  const [pong] = await once(ws, 'pong');
  assert.strictEqual(pong.toString(), 'heartbeat', 'pong payload');
  ws.close(4000, 'bye');
  const [code] = await once(ws, 'close');
  assert.strictEqual(code, 4000, 'close code echoed');
}

async function deflateClient(url) {
  const sentence = 'permessage-deflate interop: the same sentence, again and again. ';
  const text = sentence.repeat(Math.ceil((1 << 20) / sentence.length)).slice(0, 1 << 20);
  const periodic = Buffer.alloc(1 << 20);
  for (let i = 0; i < periodic.length; i++) periodic[i] = (i * 31) % 251;
  const messages = [
    ['héllo wörld €', false], [Buffer.from([0, 1, 2, 255]), true], ['', false], [Buffer.alloc(0), true],
    [periodic, true], ['a', false], ['a small text message', false], [Buffer.from([7, 7, 7]), true],
  ];
  const block = crypto.randomBytes(2048);
  const report = [
    await deflateConnection(url, 'text', [[text, false]]),
    await deflateConnection(url, 'messages', messages, pingAndClose),
    await deflateConnection(url, 'repeats', Array(16).fill([block, true])),
  ];
  console.log(JSON.stringify(report));
}

function server(port, deflate) {
  const wss = new WebSocket.Server({
    host: '127.0.0.1', port: Number(port), maxPayload: 64 << 20,
    // ws's default threshold leaves messages under 1024 bytes uncompressed.
    perMessageDeflate: deflate ? { threshold: 0 } : false,
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  wss.on('listening', () => console.log(`node ws echo server on ${port}`));
}

const [mode, arg, ...flags] = process.argv.slice(2);
if (mode === 'client' || mode === 'deflate-client') {
  (mode === 'client' ? client : deflateClient)(arg).then(() => process.exit(0),
    (e) => { console.error(`node ws ${mode} failed:`, e); process.exit(1); });
} else if (mode === 'server') {
  server(arg, flags.includes('--deflate'));
} else {
  console.error('usage: node peers.cjs client URL | deflate-client URL | server PORT [--deflate]');
  process.exit(2);
}
