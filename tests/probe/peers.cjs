// Node `ws` echo peers for the prober (tests/probe/run.py):
//   node peers.cjs server PORT   an echo server on 127.0.0.1:PORT
//   node peers.cjs client URL    an echo client: connects, sends back every message,
//                                exits when the connection closes
// Both listen for 'error' on every socket, as ws asks of its users: without a
// listener, a protocol error from the peer is an uncaught exception.
'use strict';
const WebSocket = require('ws');

const echo = (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
};

const [mode, arg] = process.argv.slice(2);
if (mode === 'server') {
  const wss = new WebSocket.Server({
    host: '127.0.0.1', port: Number(arg), maxPayload: 16 << 20, perMessageDeflate: false,
  });
  wss.on('connection', echo);
  wss.on('listening', () => console.log(`node ws echo server on ${arg}`));
} else if (mode === 'client') {
  const ws = new WebSocket(arg, { maxPayload: 16 << 20, perMessageDeflate: false });
  echo(ws);
  ws.on('close', () => process.exit(0));
} else {
  console.error('usage: node peers.cjs server PORT | client URL');
  process.exit(2);
}
