/**
 * The Dockerfile, as far as it can be checked without a Docker engine (none runs here, so the image is never built):
 * its base is pinned, its entrypoint is the built CLI, what it copies is in the build context, it installs iptables
 * for `trellis capture` and puts `trellis` on PATH for the init container injection adds, and its user is the one the
 * chart runs as.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { captureContainer } from '../../src/inject/containers.ts';
import { DEFAULT_SETTINGS } from '../../src/inject/settings.ts';
import type { PodOptions } from '../../src/inject/annotations.ts';
import { one, render, REPO } from './support.ts';

const execFileP = promisify(execFile);
const NO_OPTIONS: PodOptions = { excludeInboundPorts: [], excludeOutboundPorts: [], excludeOutboundCidrs: [], rewriteProbes: true, nativeSidecar: true };
const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
const stages = instructions.join('\n').split(/^FROM /m).slice(1);
const runtime = stages.at(-1) ?? '';

describe('Dockerfile', () => {
  it('builds in one stage and runs in another, both on a pinned Node 20 slim image', () => {
    const bases = instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]);
    expect(bases).toHaveLength(2);
    for (const b of bases) expect(b).toMatch(/^node:20[.\d]*-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('runs node dist/cli.js, and the build makes dist/cli.js (npm test builds before the tests)', () => {
    expect(instructions.at(-1)).toBe('ENTRYPOINT ["node", "dist/cli.js"]');
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
    expect(existsSync(join(REPO, 'dist/cli.js')), 'dist/cli.js: run `npm run build`').toBe(true);
  });

  it('copies into the build only what the context holds (.dockerignore lets it through)', () => {
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    const sources = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) {
      expect(existsSync(join(REPO, s)), s).toBe(true);
      expect(ignore.includes(`!${s}`) || ignore.includes(`!${s}/`), `.dockerignore lets ${s} through`).toBe(true);
    }
  });

  it("installs iptables (trellis capture's iptables-restore) and puts trellis on PATH, as the injected init container calls it", () => {
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends iptables/);
    const capture = captureContainer(DEFAULT_SETTINGS, NO_OPTIONS);
    expect((capture.command as readonly string[] | undefined)?.[0]).toBe('trellis');
    expect(capture.image).toBe(DEFAULT_SETTINGS.trellisImage);
    expect(runtime).toContain("> /usr/local/bin/trellis && chmod 0755 /usr/local/bin/trellis");
  });

  it('its PATH wrapper runs the CLI', async () => {
    const script = /printf '([^']*)' > \/usr\/local\/bin\/trellis/.exec(runtime)?.[1];
    expect(script).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'trellis-image-'));
    try {
      const wrapper = join(dir, 'trellis');
      writeFileSync(wrapper, (script ?? '').replaceAll('\\n', '\n').replace('/app/dist/cli.js', join(REPO, 'dist/cli.js')), { mode: 0o755 });
      const { stdout } = await execFileP(wrapper, ['version']);
      expect(stdout).toMatch(/^trellis 0\.1\.0 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs as a numeric non-root user, the chart's runAsUser", async () => {
    const user = /^USER (\d+):(\d+)$/m.exec(runtime);
    expect(user).not.toBeNull();
    const deployment = one(await render(), 'Deployment', 'trellis') as unknown as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    };
    const { runAsUser, runAsGroup } = deployment.spec.template.spec.securityContext;
    expect([Number(user?.[1]), Number(user?.[2])]).toEqual([runAsUser, runAsGroup]);
    expect(runAsUser).toBeGreaterThan(0);
  });
});
