/**
 * For `certs.ts --cert-manager-qps Q`: cert-manager's controller as test/support/cert-manager.ts started it
 * (its command line read back from /proc), restarted with client-go's rate limiter raised to Q queries a
 * second (burst Q). By default the controller keeps QPS 20 / burst 50, which bounds both the floor and
 * Trellis; raised, the bench shows what each side costs when cert-manager is not the bottleneck.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { CertManager } from '../support/cert-manager.ts';
import { httpOk, launch, LogTail, pollUntil, terminate, type Proc } from '../support/processes.ts';

const GRACE_MS = 3_000;

/** The argv of this process's child called `controller` (cert-manager's), from /proc. */
function controllerArgv(): string[] {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'controller') continue;
      if (Number(stat.slice(close + 2).split(' ')[1]) !== process.pid) continue;
      return readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a !== '');
    } catch {
      // gone meanwhile
    }
  }
  throw new Error("cert-manager's controller is not a child of this process");
}

export interface Restarted {
  stop(): Promise<void>;
}

/** Stops the controller `cm` runs and starts the same one with --kube-api-qps and --kube-api-burst set to `qps`. */
export async function raiseControllerQps(cm: CertManager, qps: number): Promise<Restarted> {
  const [bin, ...args] = controllerArgv();
  if (!bin) throw new Error("cannot read cert-manager's controller command line");
  const healthz = args.find((a) => a.startsWith('--internal-healthz-listen-address='))?.split('=')[1];
  if (!healthz) throw new Error("cert-manager's controller has no --internal-healthz-listen-address");
  await cm.stopController();
  const log = new LogTail('cert-manager (raised QPS)');
  const kept = args.filter((a) => !a.startsWith('--kube-api-qps') && !a.startsWith('--kube-api-burst'));
  const proc: Proc = launch('controller', bin, [...kept, `--kube-api-qps=${qps}`, `--kube-api-burst=${qps}`], log);
  await pollUntil('controller /livez', proc, log, () => httpOk(`http://${healthz}/livez`));
  return { stop: () => terminate(proc, GRACE_MS) };
}
