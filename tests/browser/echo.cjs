#!/usr/bin/env node
// A real browser against examples/echo_server: Debian's Chromium, driven with
// playwright-core (no browser download: executablePath points at the system
// Chromium). Checks non-ASCII text, 64 KiB binary, 1 MiB text, empty messages, and
// a clean close with code 4001.
//
// Usage:  NODE_PATH=<dir>/node_modules node tests/browser/echo.cjs path/to/echo_server
// Env:    ECHO_SERVER   path to the server binary (default ../echo_server)
//         CHROMIUM      path to the browser (default /usr/bin/chromium)
//         TEST_TIMEOUT_MS  overall limit (default 30000)
//
// Exit code: 0 all checks passed, 1 some check failed, 2 harness error/timeout.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const SERVER_BIN = path.resolve(
  process.argv[2] || process.env.ECHO_SERVER || path.join(__dirname, '..', '..', 'target', 'release', 'examples', 'echo_server'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OVERALL_MS = Number(process.env.TEST_TIMEOUT_MS || 30000);
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a);

let server = null;          // child process
let serverOut = '';         // its stdout+stderr
let serverExited = null;    // {code, signal} once it exits
let httpServer = null;
let browser = null;
let userDataDir = null;
const consoleLines = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

async function startServer() {
  if (!fs.existsSync(SERVER_BIN)) throw new Error(`server binary not found: ${SERVER_BIN}`);
  // Retry a few times in case the probed port gets taken in between.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    serverOut = '';
    serverExited = null;
    const child = spawn(SERVER_BIN, ['--addr', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { serverOut += d; });
    child.stderr.on('data', (d) => { serverOut += d; });
    child.on('exit', (code, signal) => { serverExited = { code, signal }; });
    server = child;
    const deadline = Date.now() + 5000;
    const probeAfter = Date.now() + 1500;
    while (Date.now() < deadline && !serverExited) {
      if (/listening/i.test(serverOut)) return port;
      if (Date.now() > probeAfter && await tryConnect(port)) return port;
      await new Promise((r) => setTimeout(r, 20));
    }
    log(`server attempt ${attempt} on port ${port} did not come up` +
        ` (exit=${JSON.stringify(serverExited)}); output:\n${serverOut}`);
    stopServerSync();
  }
  throw new Error('could not start echo_server');
}

function stopServerSync() {
  if (server && !serverExited) {
    try { server.kill('SIGTERM'); } catch (_) { /* already gone */ }
  }
}

async function stopServer() {
  if (!server) return;
  if (!serverExited) {
    server.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (!serverExited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!serverExited) { server.kill('SIGKILL'); await new Promise((r) => setTimeout(r, 100)); }
  }
  log(`server stopped: ${JSON.stringify(serverExited)}`);
}

// ---- the page: everything below runs inside Chromium ----------------------
const PAGE_SCRIPT = String.raw`
window.__results = [];
window.__done = false;
(async () => {
  const results = window.__results;
  const record = (name, ok, detail) => {
    const st = ok === null ? null : !!ok;
    results.push({ name, ok: st, detail: String(detail || '') });
    console.log((st === null ? 'INFO ' : st ? 'PASS ' : 'FAIL ') + name + (detail ? ' -- ' + detail : ''));
  };
  const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) =>
    setTimeout(() => rej(new Error('timeout after ' + ms + ' ms waiting for ' + what)), ms))]);

  const url = new URL(location.href).searchParams.get('ws');
  const queue = [];            // messages received but not yet consumed
  const waiters = [];          // pending nextMessage() resolvers
  let closeEvent = null, closeResolve;
  const closed = new Promise((r) => { closeResolve = r; });
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    record('open', false, 'constructor threw: ' + e); window.__done = true; return;
  }
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (ev) => { const w = waiters.shift(); if (w) w(ev.data); else queue.push(ev.data); };
  ws.onerror = () => console.log('ws error event (readyState=' + ws.readyState + ')');
  ws.onclose = (ev) => {
    closeEvent = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
    console.log('ws close event ' + JSON.stringify(closeEvent));
    closeResolve(closeEvent);
    // fail any pending waiters
    while (waiters.length) waiters.shift()(Symbol.for('closed'));
  };
  const nextMessage = (ms, what) => withTimeout(new Promise((r) => {
    if (queue.length) r(queue.shift()); else waiters.push(r);
  }), ms, what).then((d) => {
    if (d === Symbol.for('closed')) throw new Error('connection closed: ' + JSON.stringify(closeEvent));
    return d;
  });

  const check = async (name, fn) => {
    const t = performance.now();
    try {
      const [ok, detail] = await fn();
      record(name, ok, (detail ? detail + '; ' : '') + (performance.now() - t).toFixed(1) + ' ms');
    } catch (e) {
      record(name, false, 'exception: ' + (e && e.message || e));
    }
  };

  await check('open', async () => {
    await withTimeout(new Promise((res, rej) => {
      ws.addEventListener('open', res, { once: true });
      ws.addEventListener('close', () => rej(new Error('closed before open: ' + JSON.stringify(closeEvent))), { once: true });
    }), 5000, 'open');
    return [ws.readyState === WebSocket.OPEN, 'url=' + ws.url + ' protocol="' + ws.protocol + '" extensions="' + ws.extensions + '"'];
  });
  if (ws.readyState !== WebSocket.OPEN) { window.__done = true; return; }

  await check('text non-ASCII echoed identically', async () => {
    const msg = 'héllo wörld — Ελληνικά русский 日本語 中文 한국어 العربية 🎉🚀 \u00a0\u200b\ufeff end';
    ws.send(msg);
    const got = await nextMessage(5000, 'text echo');
    const ok = typeof got === 'string' && got === msg;
    return [ok, 'sent ' + msg.length + ' UTF-16 units, ' + new TextEncoder().encode(msg).length +
      ' UTF-8 bytes; got ' + (typeof got) + ' len ' + (got && got.length)];
  });

  await check('binary 64 KiB ArrayBuffer echoed identically', async () => {
    const n = 64 * 1024;
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i++) buf[i] = (i * 31 + (i >> 8) * 7 + 13) & 0xff;
    ws.send(buf.buffer);
    const got = await nextMessage(5000, 'binary echo');
    if (!(got instanceof ArrayBuffer)) return [false, 'got ' + Object.prototype.toString.call(got)];
    const g = new Uint8Array(got);
    if (g.length !== n) return [false, 'length ' + g.length + ' != ' + n];
    for (let i = 0; i < n; i++) if (g[i] !== buf[i]) return [false, 'first mismatch at byte ' + i + ': ' + g[i] + ' != ' + buf[i]];
    return [true, n + ' bytes, all equal'];
  });

  await check('text 1 MiB echoed identically', async () => {
    const n = 1024 * 1024;
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let chunk = '';
    for (let i = 0; i < 4096; i++) chunk += alphabet[(i * 7) % alphabet.length];
    const msg = chunk.repeat(n / 4096).slice(0, n - 8) + '#END-MSG';
    ws.send(msg);
    const got = await nextMessage(10000, '1 MiB text echo');
    if (typeof got !== 'string') return [false, 'got ' + typeof got];
    if (got.length !== msg.length) return [false, 'length ' + got.length + ' != ' + msg.length];
    return [got === msg, msg.length + ' chars, ' + (got === msg ? 'identical' : 'content differs')];
  });

  await check('empty text message echoed', async () => {
    ws.send('');
    const got = await nextMessage(5000, 'empty text echo');
    return [typeof got === 'string' && got === '', 'got ' + (typeof got === 'string' ? 'string length ' + got.length : Object.prototype.toString.call(got))];
  });

  await check('empty binary message echoed', async () => {
    ws.send(new ArrayBuffer(0));
    const got = await nextMessage(5000, 'empty binary echo');
    return [got instanceof ArrayBuffer && got.byteLength === 0,
      'got ' + Object.prototype.toString.call(got) + ' byteLength ' + (got && got.byteLength)];
  });

  await check('nothing unexpected left in queue', async () => [queue.length === 0, 'queued=' + queue.length]);

  await check('close(4001,"bye") -> close event code 4001, wasClean', async () => {
    ws.close(4001, 'bye');
    const ev = await withTimeout(closed, 5000, 'close event');
    return [ev.code === 4001 && ev.wasClean === true,
      'code=' + ev.code + ' wasClean=' + ev.wasClean + ' reason=' + JSON.stringify(ev.reason)];
  });
  // RFC 6455 5.5.1 only says an endpoint "typically echos the status code";
  // echoing the reason is optional, so this is reported, not judged.
  await check('close reason seen by client (informational)', async () => {
    const ev = await closed;
    return [null, 'reason=' + JSON.stringify(ev.reason) + (ev.reason === 'bye' ? ' (echoed)' : ' (server did not echo the reason text)')];
  });

  window.__done = true;
})().catch((e) => { console.log('page harness error: ' + (e && e.stack || e)); window.__done = true; });
`;

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>ws echo test</title></head>
<body><p>WebSocket echo test</p><script src="/test.js"></script></body></html>`;

function startHttp() {
  return new Promise((resolve, reject) => {
    httpServer = http.createServer((req, res) => {
      if (req.url.startsWith('/test.js')) {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
        res.end(PAGE_SCRIPT);
      } else if (req.url === '/' || req.url.startsWith('/?')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(PAGE_HTML);
      } else if (req.url === '/favicon.ico') {
        res.writeHead(204); res.end();
      } else {
        res.writeHead(404); res.end();
      }
    });
    httpServer.on('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve(httpServer.address().port));
  });
}

async function cleanup() {
  if (browser) { try { await browser.close(); } catch (e) { log('browser.close: ' + e.message); } browser = null; }
  if (httpServer) { httpServer.close(); httpServer.closeAllConnections?.(); httpServer = null; }
  await stopServer();
  if (userDataDir) { fs.rmSync(userDataDir, { recursive: true, force: true }); userDataDir = null; }
}

function dumpDiagnostics() {
  console.log('---- browser console ----');
  for (const l of consoleLines) console.log('  ' + l);
  console.log('---- echo_server output (stdout+stderr) ----');
  console.log(serverOut ? serverOut.replace(/^/gm, '  ') : '  (none)');
}

async function main() {
  log(`echo_server: ${SERVER_BIN}`);
  const port = await startServer();
  log(`echo_server pid ${server.pid} listening on 127.0.0.1:${port}`);
  const httpPort = await startHttp();
  log(`page served from http://127.0.0.1:${httpPort}/`);

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wstest-chromium-'));
  // launchPersistentContext is the playwright way to pass a fresh --user-data-dir.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 15000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  browser = context;
  const version = context.browser() ? context.browser().version() : '(n/a)';
  const page = context.pages()[0] || await context.newPage();
  const ua = await page.evaluate(() => navigator.userAgent);
  log(`browser: ${CHROMIUM} version ${version}; UA: ${ua}`);
  page.on('console', (m) => consoleLines.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.stack || e}`));
  page.on('crash', () => consoleLines.push('[page crashed]'));

  const wsUrl = `ws://127.0.0.1:${port}/`;
  await page.goto(`http://127.0.0.1:${httpPort}/?ws=${encodeURIComponent(wsUrl)}`, { timeout: 10000 });
  const remaining = Math.max(1000, OVERALL_MS - (Date.now() - t0) - 3000);
  let timedOut = false;
  try {
    await page.waitForFunction(() => window.__done === true, null, { timeout: remaining, polling: 50 });
  } catch (e) {
    timedOut = true;
    log(`page did not finish: ${e.message.split('\n')[0]}`);
  }
  const results = await page.evaluate(() => window.__results || []).catch(() => []);

  const expected = ['open', 'text non-ASCII echoed identically', 'binary 64 KiB ArrayBuffer echoed identically',
    'text 1 MiB echoed identically', 'empty text message echoed', 'empty binary message echoed',
    'nothing unexpected left in queue', 'close(4001,"bye") -> close event code 4001, wasClean',
    'close reason seen by client (informational)'];
  for (const name of expected) {
    if (!results.some((r) => r.name === name)) {
      results.push({ name, ok: name.includes('informational') ? null : false,
        detail: timedOut ? 'not run (page timed out)' : 'not run' });
    }
  }
  // The server must still be alive after the test (and not have crashed).
  results.push({ name: 'server still running after test', ok: serverExited === null,
    detail: serverExited ? 'exited: ' + JSON.stringify(serverExited) : `pid ${server.pid}` });

  console.log('');
  for (const r of results) {
    console.log(`${r.ok === null ? 'INFO' : r.ok ? 'PASS' : 'FAIL'}  ${r.name}${r.detail ? '  (' + r.detail + ')' : ''}`);
  }
  const passed = results.filter((r) => r.ok === true).length;
  const failed = results.filter((r) => r.ok === false).length;
  console.log('');
  if (failed) dumpDiagnostics();
  else if (process.env.VERBOSE) dumpDiagnostics();
  await cleanup();
  log(`total ${((Date.now() - t0) / 1000).toFixed(2)}s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

const watchdog = setTimeout(() => {
  console.log(`FAIL  overall timeout of ${OVERALL_MS} ms exceeded`);
  dumpDiagnostics();
  stopServerSync();
  try { browser && browser.close(); } catch (_) { /* ignore */ }
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  setTimeout(() => process.exit(2), 500);
}, OVERALL_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { stopServerSync(); process.exit(2); });
}
process.on('exit', stopServerSync);

main().then((code) => {
  clearTimeout(watchdog);
  process.exit(code);
}, async (e) => {
  clearTimeout(watchdog);
  console.log(`ERROR  harness: ${e && e.stack || e}`);
  dumpDiagnostics();
  await cleanup().catch(() => {});
  console.log('0 passed, 1 failed');
  process.exit(2);
});
