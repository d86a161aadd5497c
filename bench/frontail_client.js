// frontail_client: N socket.io clients of frontail, the same stdin/stdout protocol and
// JSON result as bench/client.py (connected / ready / done, then JSON after "stop").
//
// frontail emits one socket.io 'line' message per log line to every client of the
// namespace md5(files joined by ' '). Clients use the websocket transport directly
// (frontail's page starts with long-polling and upgrades; skipping that only helps
// frontail). Receive time is wall-clock from performance.timeOrigin + now(), µs precise.
//
//   node bench/frontail_client.js --port P --ns NS --clients N --expect E [--mode live|backlog --repeat R]
'use strict';

const path = require('path');
const readline = require('readline');
const io = require(path.join(__dirname, '.cache', 'node', 'node_modules', 'socket.io-client'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const port = Number(args.port);
const clients = Number(args.clients || 1);
const expect = Number(args.expect || 0);
const mode = args.mode || 'live';
const repeat = Number(args.repeat || 1);
const BUCKET_US = 10;
const url = `http://127.0.0.1:${port}/${args.ns}`;
const opts = { forceNew: true, transports: ['websocket'], reconnection: false, timeout: 60000 };

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const hist = new Map();
const errors = {};
const said = new Set();
const all = [];
let connected = 0, ready = 0, done = 0, lastRecvNs = 0;
const firstEventS = [], fullS = [];
const cpu0 = process.cpuUsage();

function say(word) {
  if (!said.has(word)) { said.add(word); process.stdout.write(word + '\n'); }
}
function check() {
  if (connected === clients) say('connected');
  if (said.has('connected') && ready >= clients) say('ready');
  if (said.has('connected') && expect && done >= clients) say('done');
}
const LINE = /^seq=(\d+) t=(\d+)/;

function live(i) {
  const c = { seen: new Uint8Array(expect), unique: 0, dup: 0, received: 0, ready: false, done: false };
  const s = io(url, opts);
  all.push(s);
  s.on('connect', () => { connected++; check(); });
  s.on('connect_error', (e) => { errors['connect: ' + e] = (errors['connect: ' + e] || 0) + 1; });
  s.on('disconnect', (r) => { if (!c.done) errors['disconnect: ' + r] = (errors['disconnect: ' + r] || 0) + 1; });
  s.on('line', (line) => {
    const now = nowUs();
    const m = LINE.exec(line);
    if (!m) {
      if (!c.ready && line.startsWith('warmup')) { c.ready = true; ready++; check(); }
      return;
    }
    const seq = Number(m[1]);
    const lat = now - Number(m[2].slice(0, -3));
    const b = Math.floor(lat / BUCKET_US);
    hist.set(b, (hist.get(b) || 0) + 1);
    c.received++;
    if (seq < expect) {
      if (c.seen[seq]) c.dup++; else { c.seen[seq] = 1; c.unique++; }
    }
    if (!c.done && c.unique >= expect) {
      c.done = true; done++; lastRecvNs = Math.max(lastRecvNs, Math.round(now) * 1000); check();
    }
  });
  return c;
}

async function backlog() {
  // Connect, time the first line and the expect-th line of the replayed buffer, close; repeat.
  for (let r = 0; r < repeat; r++) {
    await new Promise((resolve) => {
      const t0 = performance.now();
      let n = 0;
      const s = io(url, opts);
      const timer = setTimeout(() => { errors.timeout = (errors.timeout || 0) + 1; s.close(); resolve(); }, 30000);
      s.on('line', () => {
        n++;
        if (n === 1) firstEventS.push((performance.now() - t0) / 1000);
        if (n === expect) { fullS.push((performance.now() - t0) / 1000); clearTimeout(timer); s.close(); resolve(); }
      });
    });
  }
  connected = ready = done = clients;
  check();
}

const states = [];
if (mode === 'backlog') {
  backlog();
} else {
  for (let i = 0; i < clients; i++) states.push(live(i));
}

readline.createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() !== 'stop') return;
  const received = states.reduce((a, c) => a + c.received, 0);
  const unique = states.reduce((a, c) => a + c.unique, 0);
  const cpu = process.cpuUsage(cpu0);
  const result = {
    clients, connected, received, unique,
    lost: states.reduce((a, c) => a + (expect - c.unique), 0) + (mode === 'live' ? 0 : 0),
    dup: states.reduce((a, c) => a + c.dup, 0),
    hist: Object.fromEntries(hist), bucket_ns: BUCKET_US * 1000, last_recv_ns: lastRecvNs,
    first_event_s: firstEventS, full_s: fullS, errors, control: {},
    client_cpu_s: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(JSON.stringify(result) + '\n', () => {
    for (const s of all) s.close();
    process.exit(0);
  });
});
