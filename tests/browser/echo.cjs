#!/usr/bin/env node
// A real browser against examples/echo_server: Debian's Chromium, driven with
// playwright-core (no browser download: executablePath points at the system
// Chromium). Checks non-ASCII text, 64 KiB binary, 1 MiB text, empty messages, and
// a clean close with code 4001.
//
// Two passes, each with its own echo_server, which the browser reaches through a
// relay here that counts the bytes on the wire each way (the page reads the counts):
//   plain    echo_server as it is: the browser's permessage-deflate offer must be
//            declined (no extension), and 2 MiB of repetitive text must cross the
//            wire at full size both ways;
//   deflate  echo_server --deflate: permessage-deflate must be negotiated, and the
//            same 2 MiB text must cross under a tenth of its size both ways.
//   tls, tls-tokio  echo_server and tokio_echo with --tls-cert/--tls-key, reached
//            over wss:// with a certificate made for the run (examples/tls_cert, next
//            to the server binary), which the browser is told to trust by its key
//            (--ignore-certificate-errors-spki-list): no extension, as in plain.
// Every other check runs in every pass; results are labelled with the pass.
//
// Usage:  NODE_PATH=<dir>/node_modules node tests/browser/echo.cjs path/to/echo_server
// Env:    ECHO_SERVER   path to the server binary (default ../echo_server)
//         CHROMIUM      path to the browser (default /usr/bin/chromium)
//         TEST_TIMEOUT_MS  overall limit (default 60000)
//
// Exit code: 0 all checks passed, 1 some check failed, 2 harness error/timeout.
'use strict';

const { spawn, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const SERVER_BIN = path.resolve(
  process.argv[2] || process.env.ECHO_SERVER || path.join(__dirname, '..', '..', 'target', 'release', 'examples', 'echo_server'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OVERALL_MS = Number(process.env.TEST_TIMEOUT_MS || 90000);
// Each attempt at starting the browser (see main).
const LAUNCH_MS = 25000;
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a);

// Every echo_server started: { label, child, port, out (stdout+stderr), exited
// ({code, signal} once it exits, else null) }.
const servers = [];
const proxies = [];         // the counting relays, closed at cleanup
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

async function startServer(label, extraArgs, bin = SERVER_BIN) {
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin}`);
  // Retry a few times in case the probed port gets taken in between.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const child = spawn(bin, ['--addr', `127.0.0.1:${port}`, ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const rec = { label, child, port, out: '', exited: null };
    servers.push(rec);
    child.stdout.on('data', (d) => { rec.out += d; });
    child.stderr.on('data', (d) => { rec.out += d; });
    child.on('exit', (code, signal) => { rec.exited = { code, signal }; });
    const deadline = Date.now() + 5000;
    const probeAfter = Date.now() + 1500;
    while (Date.now() < deadline && !rec.exited) {
      if (/listening/i.test(rec.out)) return rec;
      if (Date.now() > probeAfter && await tryConnect(port)) return rec;
      await new Promise((r) => setTimeout(r, 20));
    }
    log(`server attempt ${attempt} on port ${port} did not come up` +
        ` (exit=${JSON.stringify(rec.exited)}); output:\n${rec.out}`);
    killSync(rec);
  }
  throw new Error('could not start echo_server');
}

function killSync(rec) {
  if (!rec.exited) {
    try { rec.child.kill('SIGTERM'); } catch (_) { /* already gone */ }
  }
}

function stopServerSync() {
  for (const rec of servers) killSync(rec);
}

async function stopServer(rec) {
  if (!rec.exited) {
    rec.child.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (!rec.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!rec.exited) { rec.child.kill('SIGKILL'); await new Promise((r) => setTimeout(r, 100)); }
  }
  log(`[${rec.label}] server stopped: ${JSON.stringify(rec.exited)}`);
}

// A TCP relay from a port of its own on 127.0.0.1 to targetPort there, counting the
// bytes it forwards: up (browser to server) and down (server to browser), what
// crosses the wire, frames as sent, compressed or not. Each direction's end is
// passed on by itself (half-close), as a closing handshake needs.
function startCountingProxy(targetPort) {
  return new Promise((resolve, reject) => {
    const counts = { up: 0, down: 0 };
    const relay = net.createServer({ allowHalfOpen: true }, (browserSide) => {
      const serverSide = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
      browserSide.on('data', (d) => { counts.up += d.length; });
      serverSide.on('data', (d) => { counts.down += d.length; });
      browserSide.pipe(serverSide);
      serverSide.pipe(browserSide);
      const drop = () => { browserSide.destroy(); serverSide.destroy(); };
      browserSide.on('error', drop);
      serverSide.on('error', drop);
    });
    relay.on('error', reject);
    relay.listen(0, '127.0.0.1', () => {
      proxies.push(relay);
      resolve({ port: relay.address().port, counts });
    });
  });
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

  const params = new URL(location.href).searchParams;
  const url = params.get('ws');
  const deflate = params.get('deflate') === '1';   // the echo_server --deflate pass
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

  // Chromium always offers permessage-deflate; only echo_server --deflate takes it.
  const negotiated = () => ws.extensions.split(',').some((e) => e.split(';')[0].trim() === 'permessage-deflate');
  if (deflate) {
    await check('permessage-deflate negotiated', async () => [negotiated(), 'extensions="' + ws.extensions + '"']);
  } else {
    await check('no extension negotiated (server without --deflate)', async () =>
      [ws.extensions === '', 'extensions="' + ws.extensions + '"']);
  }

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

  // The relay's byte counts before and after one echo are that message's cost on
  // the wire each way (nothing else is in flight meanwhile).
  await check(deflate ? 'text 2 MiB repetitive echoed, compressed on the wire both ways'
    : 'text 2 MiB repetitive echoed, uncompressed on the wire both ways', async () => {
    const n = 2 * 1024 * 1024;
    const sentence = 'permessage-deflate in the browser: the same sentence, again and again. ';
    const msg = sentence.repeat(Math.ceil(n / sentence.length)).slice(0, n);
    const before = await window.wireBytes();
    ws.send(msg);
    const got = await nextMessage(10000, '2 MiB repetitive text echo');
    const after = await window.wireBytes();
    const up = after.up - before.up, down = after.down - before.down;
    if (typeof got !== 'string') return [false, 'got ' + typeof got];
    if (got !== msg) return [false, 'length ' + got.length + ' vs ' + n + ', content differs'];
    // Compressed: under a tenth of the payload. Uncompressed: the payload and the
    // frame headers, so at least the payload.
    const ok = deflate ? up < n / 10 && down < n / 10 : up >= n && down >= n;
    return [ok, n + ' chars identical; wire ' + up + ' B up, ' + down + ' B down (' +
      (100 * up / n).toFixed(2) + '% / ' + (100 * down / n).toFixed(2) + '% of the payload)'];
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
  for (const relay of proxies.splice(0)) relay.close();
  for (const rec of servers) if (!rec.exited) await stopServer(rec);
  if (userDataDir) { fs.rmSync(userDataDir, { recursive: true, force: true }); userDataDir = null; }
  fs.rmSync(CERT_DIR, { recursive: true, force: true });
}

function dumpDiagnostics() {
  console.log('---- browser console ----');
  for (const l of consoleLines) console.log('  ' + l);
  for (const rec of servers) {
    console.log(`---- [${rec.label}] echo_server output (stdout+stderr) ----`);
    console.log(rec.out ? rec.out.replace(/^/gm, '  ') : '  (none)');
  }
  if (!servers.length) console.log('---- echo_server output: no server started ----');
}

// The test certificate (made in main) for the TLS passes.
const CERT_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'wstest-certs-'));
const tlsArgs = ['--tls-cert', path.join(CERT_DIR, 'cert.pem'), '--tls-key', path.join(CERT_DIR, 'key.pem')];
const TOKIO_BIN = path.join(path.dirname(SERVER_BIN), 'tokio_echo');

// The passes: the server and its options, the scheme, and whether the page expects
// compression.
const PASSES = [
  { label: 'plain', serverArgs: [], deflate: false, scheme: 'ws' },
  { label: 'deflate', serverArgs: ['--deflate'], deflate: true, scheme: 'ws' },
  { label: 'tls', serverArgs: tlsArgs, deflate: false, scheme: 'wss' },
  { label: 'tls-tokio', serverArgs: tlsArgs, deflate: false, scheme: 'wss', bin: TOKIO_BIN },
];

// Writes the test CA and certificate, and returns the base64 SHA-256 of the server
// key's SubjectPublicKeyInfo, the form Chromium's SPKI trust list takes.
function makeCertificate() {
  execFileSync(path.join(path.dirname(SERVER_BIN), 'tls_cert'), [CERT_DIR], { stdio: 'ignore' });
  const cert = new crypto.X509Certificate(fs.readFileSync(path.join(CERT_DIR, 'cert.pem')));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(spki).digest('base64');
}

// One pass: its own echo_server behind a counting relay, a fresh page. Returns the
// page's results (and the server's survival), each name labelled with the pass.
async function runPass(context, httpPort, pass) {
  const rec = await startServer(pass.label, pass.serverArgs, pass.bin);
  const relay = await startCountingProxy(rec.port);
  log(`[${pass.label}] ${path.basename(pass.bin || SERVER_BIN)} ${pass.serverArgs.join(' ') || '(no options)'} pid ${rec.child.pid}` +
      ` on 127.0.0.1:${rec.port}, reached through the counting relay on 127.0.0.1:${relay.port}`);
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`[${pass.label}] [console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[${pass.label}] [pageerror] ${e.stack || e}`));
  page.on('crash', () => consoleLines.push(`[${pass.label}] [page crashed]`));
  // The page reads the relay's counts around a message to learn its cost on the wire.
  await page.exposeFunction('wireBytes', () => ({ ...relay.counts }));

  const wsUrl = `${pass.scheme}://127.0.0.1:${relay.port}/`;
  await page.goto(`http://127.0.0.1:${httpPort}/?ws=${encodeURIComponent(wsUrl)}&deflate=${pass.deflate ? 1 : 0}`,
    { timeout: 10000 });
  const remaining = Math.max(1000, OVERALL_MS - (Date.now() - t0) - 3000);
  let timedOut = false;
  try {
    await page.waitForFunction(() => window.__done === true, null, { timeout: remaining, polling: 50 });
  } catch (e) {
    timedOut = true;
    log(`[${pass.label}] page did not finish: ${e.message.split('\n')[0]}`);
  }
  const results = await page.evaluate(() => window.__results || []).catch(() => []);
  await page.close().catch(() => {});

  const expected = ['open',
    pass.deflate ? 'permessage-deflate negotiated' : 'no extension negotiated (server without --deflate)',
    'text non-ASCII echoed identically', 'binary 64 KiB ArrayBuffer echoed identically',
    'text 1 MiB echoed identically',
    pass.deflate ? 'text 2 MiB repetitive echoed, compressed on the wire both ways'
      : 'text 2 MiB repetitive echoed, uncompressed on the wire both ways',
    'empty text message echoed', 'empty binary message echoed',
    'nothing unexpected left in queue', 'close(4001,"bye") -> close event code 4001, wasClean',
    'close reason seen by client (informational)'];
  for (const name of expected) {
    if (!results.some((r) => r.name === name)) {
      results.push({ name, ok: name.includes('informational') ? null : false,
        detail: timedOut ? 'not run (page timed out)' : 'not run' });
    }
  }
  // The server must still be alive after the test (and not have crashed).
  results.push({ name: 'server still running after test', ok: rec.exited === null,
    detail: rec.exited ? 'exited: ' + JSON.stringify(rec.exited) : `pid ${rec.child.pid}` });
  await stopServer(rec);
  return results.map((r) => ({ ...r, name: `[${pass.label}] ${r.name}` }));
}

async function main() {
  log(`echo_server: ${SERVER_BIN}`);
  const httpPort = await startHttp();
  log(`page served from http://127.0.0.1:${httpPort}/`);

  const spki = makeCertificate();
  log(`test certificate in ${CERT_DIR}, key SPKI sha256 ${spki}`);
  // launchPersistentContext is the playwright way to pass a fresh --user-data-dir.
  // A first launch on a fresh, busy machine can stall (it usually takes under a
  // second): a second attempt, with a new profile, before calling it a failure.
  const launch = async () => {
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wstest-chromium-'));
    return chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: LAUNCH_MS,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--ignore-certificate-errors-spki-list=${spki}`],
    });
  };
  let context;
  try {
    context = await launch();
  } catch (e) {
    log(`chromium launch failed, trying once more: ${String(e.message).split('\n')[0]}`);
    fs.rmSync(userDataDir, { recursive: true, force: true });
    context = await launch();
  }
  browser = context;
  const version = context.browser() ? context.browser().version() : '(n/a)';
  const first = context.pages()[0] || await context.newPage();
  const ua = await first.evaluate(() => navigator.userAgent);
  log(`browser: ${CHROMIUM} version ${version}; UA: ${ua}`);

  const results = [];
  for (const pass of PASSES) results.push(...await runPass(context, httpPort, pass));

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
