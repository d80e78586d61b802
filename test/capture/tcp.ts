/**
 * TCP inside network namespaces for the capture tests: listeners that answer with their namespace and
 * the port that accepted the connection (15001 or 15006 when it was redirected), and a client that can
 * run as another UID (Envoy's). Plain Node scripts run with `node -e`, waited on by events, bounded by timeouts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { command } from './netns.ts';

/** Answers every connection with `<name>:<local port>`; prints `listening` once every port listens. */
const LISTENER = `
const net = require('node:net');
const [name, ...ports] = process.argv.slice(1);
let listening = 0;
for (const port of ports) {
  net.createServer((s) => s.end(name + ':' + s.localPort)).listen(Number(port), '0.0.0.0', () => {
    if (++listening === ports.length) console.log('listening');
  });
}`;

/** Connects (as `uid` when given), prints what the server answered; exits 3 on a timeout, 4 on an error. */
const CLIENT = `
const net = require('node:net');
const [host, port, uid] = process.argv.slice(1);
if (uid) { process.setgid(Number(uid)); process.setuid(Number(uid)); }
const s = net.connect({ host, port: Number(port), timeout: 5000 });
let answer = '';
s.on('data', (d) => (answer += d));
s.on('end', () => process.stdout.write(answer));
s.on('timeout', () => { console.error('timed out'); process.exit(3); });
s.on('error', (e) => { console.error(e.message); process.exit(4); });`;

export interface Listeners {
  stop(): Promise<void>;
}

/** Listeners in `ns` on `ports`, answering `<name>:<port>`; resolves once all of them listen. */
export async function listen(ns: string, name: string, ports: readonly number[]): Promise<Listeners> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER, name, ...ports.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = once(child, 'close');
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('error', reject);
    child.once('close', (code) => reject(new Error(`the listeners in ${ns} exited (${code}) before listening: ${stderr.trim()}`)));
  });
  return {
    async stop() {
      child.kill();
      await closed;
    },
  };
}

/** What the server at host:port answers a client in `ns` (running as `uid` when given). */
export async function answerOf(ns: string, host: string, port: number, uid?: number): Promise<string> {
  const r = await command('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, host, String(port), ...(uid === undefined ? [] : [String(uid)])]);
  if (r.code !== 0) throw new Error(`connecting from ${ns} to ${host}:${port}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
