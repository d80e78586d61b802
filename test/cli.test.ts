import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli, trellis } from './support/cli.ts';

describe('trellis command line', () => {
  it.each([
    [
      'serve',
      [
        '--manifests',
        '--xds-address',
        '--debug-address',
        '--debounce-min',
        '--debounce-max',
        '--domain',
        '--trust-domain',
        '--log-level',
        '--webhook-address',
        '--webhook-cert-dir',
        '--proxy-image',
        '--trellis-image',
        '--injected-xds-address',
        '--native-sidecars',
        '--proxy-resources',
      ],
    ],
    ['render', ['--manifests', '--proxy', '--mode']],
    ['validate', ['--manifests', '-o, --output', 'PATH']],
    ['version', ['trellis version']],
    ['bootstrap', ['--mode', '--pod', '--namespace', '--ip', '--service-account', '--xds-address']],
    ['inject', ['-f, --file', '--native-sidecar', '--image', '--trellis-image', '--xds-address', '--secure']],
  ])('prints help for %s, listing its flags', async (command, flags) => {
    const r = await trellis(command, '--help');
    expect(r.code).toBe(0);
    for (const flag of flags) expect(r.stdout).toContain(flag);
  });

  it.each([
    [['serve', '--bogus'], "trellis serve: Unknown option '--bogus'"],
    [['serve', '--manifests', 'examples/mesh', '--xds-address', 'nowhere'], 'trellis serve: --xds-address (TRELLIS_XDS_ADDRESS): expected HOST:PORT'],
    [['render', '--manifests', 'examples/mesh'], 'trellis render: --proxy:'],
    [['render', '--manifests', 'examples/mesh', '--proxy', 'app.shop', '-o', 'yaml'], 'trellis render: --output: expected text or json'],
    [['render', '--manifests', 'examples/mesh', '--proxy', 'app.shop', 'extra.yaml'], "trellis render: Unexpected argument 'extra.yaml'"],
    [['validate'], 'trellis validate: give the manifests: files, directories or - (stdin), or --manifests DIR'],
    [['validate', 'examples/mesh', '-o', 'xml'], 'trellis validate: --output: expected text or json'],
    [['launch'], 'trellis: unknown command "launch"'],
    [
      ['serve', '--manifests', 'examples/mesh', '--proxy-image', 'envoyproxy/envoy:v1.34.1'],
      'trellis serve: --proxy-image (TRELLIS_PROXY_IMAGE): a setting of the injection webhook: give --webhook-address and --webhook-cert-dir too',
    ],
  ])('answers %j with one clear line and exit status 2', async (args, message) => {
    const r = await trellis(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('trellis validate and render on the example mesh', () => {
  it('validates the example mesh with no errors', async () => {
    const r = await trellis('validate', '--manifests', 'examples/mesh');
    expect(r.stdout).toContain('0 error(s)');
    expect(r.code).toBe(0);
  });

  it('renders what a sidecar in the mesh receives', async () => {
    const r = await trellis('render', '--manifests', 'examples/mesh', '--proxy', 'frontend-6d9f7-a1.shop');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { name: string }[]);
    const names = docs.map((list) => (list ?? []).map((x) => x.name));
    expect(names.flat()).toEqual(expect.arrayContaining(['outbound|50051||catalog.shop.svc.cluster.local', 'virtualInbound', 'virtualOutbound']));
  });

  it('renders what a proxyless client receives', async () => {
    const r = await trellis('render', '--manifests', 'examples/mesh', '--proxy', 'app.shop', '--mode', 'proxyless');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('catalog.shop.svc.cluster.local:50051');
    expect(r.stdout).toContain('catalog:50051');
  });

  it('renders the endpoint priorities a proxy in a locality receives, with --region and --zone', async () => {
    // examples/policies/load-balancing.yaml makes the catalog locality-aware.
    const cla = async (...where: string[]) => {
      const r = await trellis('render', '--manifests', 'examples', '--proxy', 'app.shop', '--mode', 'proxyless', ...where);
      expect(r.code).toBe(0);
      type Cla = { name?: string; resource?: { cluster_name?: string; endpoints?: { priority?: number }[] } };
      const docs = parseAllDocuments(r.stdout).map((d) => (d.toJS() ?? []) as Cla[]);
      return docs.flat().find((x) => x.resource?.cluster_name === 'outbound|50051||catalog.shop.svc.cluster.local')?.resource;
    };
    const here = await cla('--region', 'eu-west-1', '--zone', 'eu-west-1a');
    expect(here?.endpoints?.map((e) => e.priority ?? 0)).toEqual([0, 1, 2, 3]);
    const nowhere = await cla();
    expect(new Set(nowhere?.endpoints?.map((e) => e.priority ?? 0))).toEqual(new Set([0]));
  });

  it('names the file, document, line and column, object and field of every error, and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cli-'));
    try {
      await cp('examples/mesh', dir, { recursive: true });
      await writeFile(
        join(dir, 'bad.yaml'),
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: ok }\n---\napiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec:\n  ports: [{ port: 70000 }]\n',
      );
      const v = await trellis('validate', '--manifests', dir);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(/^error: bad\.yaml#2:9:13 Service shop\/web: spec\.ports\[0\]\.port: .+$/m);
      const r = await trellis('render', '--manifests', dir, '--proxy', 'frontend-6d9f7-a1.shop');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('bad.yaml#2:9:13 Service shop/web: spec.ports[0].port');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('trellis bootstrap', () => {
  it('renders a sidecar bootstrap naming the pod and Trellis', async () => {
    const r = await trellis(
      'bootstrap',
      '--mode',
      'sidecar',
      '--pod',
      'web-1',
      '--namespace',
      'shop',
      '--ip',
      '10.0.0.1',
      '--service-account',
      'web',
      '--xds-address',
      'trellis.trellis-system:15010',
    );
    expect(r.code).toBe(0);
    const b = parse(r.stdout) as { node: { id: string; cluster: string; metadata: Record<string, string> } };
    expect(b.node).toMatchObject({
      id: 'web-1.shop',
      cluster: 'web.shop',
      metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'shop', POD_NAME: 'web-1', INSTANCE_IP: '10.0.0.1', SERVICE_ACCOUNT: 'web' },
    });
    expect(r.stdout).toContain('trellis.trellis-system');
  });

  it('renders a proxyless bootstrap as JSON', async () => {
    const r = await trellis(
      'bootstrap',
      '--mode',
      'proxyless',
      '--pod',
      'app-1',
      '--namespace',
      'shop',
      '--ip',
      '10.0.0.2',
      '--xds-address',
      '127.0.0.1:15010',
    );
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout) as { xds_servers: { server_uri: string }[]; node: { id: string } };
    expect(b.xds_servers[0]?.server_uri).toBe('127.0.0.1:15010');
    expect(b.node.id).toBe('app-1.shop');
  });
});

describe('trellis version', () => {
  it.each([['version'], ['--version']])('%s prints the version of package.json and of Node.js', async (arg) => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const r = await trellis(arg);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`trellis ${pkg.version} (Node.js ${process.version})\n`);
  });
});

describe('the trellis package bin', () => {
  it('runs from the build the package ships (dist/cli.js, as `trellis`)', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.trellis).toBe('./dist/cli.js');
    const { stdout } = await runCli([pkg.bin.trellis ?? '', 'validate', '--manifests', 'examples/mesh']);
    expect(stdout).toContain('0 error(s), 0 warning(s)');
  });

  it('runs through a symlink, as npm links it onto the PATH', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string>; version: string };
    const dir = await mkdtemp(join(tmpdir(), 'trellis-bin-'));
    try {
      await symlink(resolve(pkg.bin.trellis ?? ''), join(dir, 'trellis'));
      const r = await runCli([join(dir, 'trellis'), 'version']);
      expect(r).toEqual({ code: 0, stdout: `trellis ${pkg.version} (Node.js ${process.version})\n`, stderr: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('knows its version when built (dist/cli.js version)', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string>; version: string };
    const r = await runCli([pkg.bin.trellis ?? '', 'version']);
    expect(r).toEqual({ code: 0, stdout: `trellis ${pkg.version} (Node.js ${process.version})\n`, stderr: '' });
  });
});
