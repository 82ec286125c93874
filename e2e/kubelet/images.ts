// The images a kubelet cluster runs, all made on this machine with `docker build` from local bases (no registry is
// reachable): the kubelet node image, Tabby's image, and the upstream images pods use, under their upstream names
// (versions from test/utils/image/manifest.go) so that nothing in a manifest or in e2e.test needs to change —
// pause (the sandbox), CoreDNS, and the e2e test images sig-network's tests run: agnhost, glibc-dns-testing (built as
// upstream builds them, on Debian), nginx and busybox (upstream re-tags Docker's images; here Debian's packages of
// the same programs). Each image is rebuilt only when its inputs change (a content label), and saved once per image
// id as a tarball that every node's containerd imports at boot.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, findBinary, PINNED, type BinaryName } from '../harness/index.js';

const exec = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const REPO = resolve(import.meta.dirname, '../..');
const IMAGES_DIR = join(REPO, 'e2e', 'images');

export const COREDNS_IMAGE = `registry.k8s.io/coredns/coredns:${PINNED.coredns}`;

/** manifest.go's registry variables, as initRegistry sets them. */
const REGISTRIES: Record<string, string> = {
  PromoterE2eRegistry: 'registry.k8s.io/e2e-test-images',
  GcRegistry: 'registry.k8s.io',
};

/** The Kubernetes module source the binaries were built from (scripts/build-binaries.sh kube_module). */
export function kubeSourceDir(env: NodeJS.ProcessEnv = process.env): string {
  const mod = env.GOMODCACHE ?? join(cacheDir(env), 'go', 'mod');
  const dir = join(mod, 'k8s.io', `kubernetes@${PINNED.kubelet}`);
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run scripts/build-binaries.sh kubelet`);
  return dir;
}

/** The image e2e.test runs for an ImageID of test/utils/image/manifest.go (e.g. Agnhost), with its version. */
export function e2eImage(id: string): string {
  const manifest = readFileSync(join(kubeSourceDir(), 'test', 'utils', 'image', 'manifest.go'), 'utf8');
  const m = new RegExp(`configs\\[${id}\\] = Config\\{list\\.(\\w+), "([^"]+)", "([^"]+)"\\}`).exec(manifest);
  const registry = m ? REGISTRIES[m[1]!] : undefined;
  if (!m || !registry) throw new Error(`test/utils/image/manifest.go names no image ${id} in a known registry`);
  return `${registry}/${m[2]}:${m[3]}`;
}

export const agnhostImage = (): string => e2eImage('Agnhost');

/** The sandbox image: manifest.go's Pause, which must be the version scripts/build-binaries.sh builds. */
export function pauseImage(): string {
  const image = e2eImage('Pause');
  if (image !== `registry.k8s.io/pause:${PINNED.pause}`) {
    throw new Error(`manifest.go names ${image}, but the pinned pause is ${PINNED.pause}: update PAUSE_VERSION`);
  }
  return image;
}

export interface KubeImages {
  /** The kubelet node image (tabby-kube-node:<inputs hash>). */
  node: string;
  /** Tabby's image as the chart installs it (tabby:<version>-<commit>). */
  tabby: string;
  agnhost: string;
  pause: string;
  coredns: string;
  glibcDnsTesting: string;
  nginx: string;
  busybox: string;
  /** Tarballs every node imports into containerd before kubelet starts. */
  preload: string[];
}

async function docker(args: string[]): Promise<string> {
  const { stdout } = await exec(DOCKER, args, { maxBuffer: 64 << 20 });
  return stdout.trim();
}

async function label(image: string, key: string): Promise<string | undefined> {
  try {
    return await docker(['image', 'inspect', '-f', `{{ index .Config.Labels "${key}" }}`, image]);
  } catch {
    return undefined;
  }
}

interface BuildSpec {
  tag: string;
  dockerfile: string;
  /** Context files: name in the context → source path, or literal content. */
  files: Record<string, { path: string } | { text: string }>;
}

/**
 * Builds `spec.tag` unless an image with that tag was built from the same inputs: the Dockerfile, every context
 * file's content (small files) or path, size and mtime (binaries, which a pin change rebuilds), and the base image.
 */
async function buildOnce(spec: BuildSpec, progress: (l: string) => void): Promise<string> {
  const h = createHash('sha256');
  const dockerfile = readFileSync(join(IMAGES_DIR, spec.dockerfile), 'utf8');
  h.update(dockerfile);
  h.update(await docker(['image', 'inspect', '-f', '{{.Id}}', 'tabby/debian:bookworm']));
  for (const [name, src] of Object.entries(spec.files).sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`\0${name}\0`);
    if ('text' in src) h.update(src.text);
    else {
      const st = statSync(src.path);
      h.update(st.size < 1 << 20 ? readFileSync(src.path) : `${src.path}:${st.size}:${st.mtimeMs}`);
    }
  }
  const inputs = h.digest('hex').slice(0, 16);
  const tag = spec.tag.replace('@INPUTS@', inputs);
  if ((await label(tag, 'dev.tabby.inputs')) === inputs) return tag;
  const ctx = mkdtempSync(join(tmpdir(), 'tabby-kube-image-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, src] of Object.entries(spec.files)) {
      mkdirSync(join(ctx, name, '..'), { recursive: true });
      if ('text' in src) writeFileSync(join(ctx, name), src.text, { mode: 0o755 });
      else copyFileSync(src.path, join(ctx, name));
    }
    const start = Date.now();
    progress(`docker build -t ${tag}`);
    await docker(['build', '-q', '--label', `dev.tabby.inputs=${inputs}`, '-t', tag, ctx]);
    progress(`built ${tag} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
    return tag;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** `docker save` of an image, once per image id, into ~/.cache/tabby/images/preload. */
async function savedTarball(image: string, progress: (l: string) => void): Promise<string> {
  const id = (await docker(['image', 'inspect', '-f', '{{.Id}}', image])).replace(/^sha256:/, '').slice(0, 12);
  const dir = join(cacheDir(), 'images', 'preload');
  mkdirSync(dir, { recursive: true });
  const stem = image.replace(/[^A-Za-z0-9.-]+/g, '_');
  const file = join(dir, `${stem}@${id}.tar`);
  if (existsSync(file)) return file;
  // Older saves of the same name would only fill the disk.
  for (const f of readdirSync(dir)) if (f.startsWith(`${stem}@`)) rmSync(join(dir, f), { force: true });
  progress(`docker save ${image}`);
  await docker(['save', '-o', `${file}.tmp`, image]);
  renameSync(`${file}.tmp`, file);
  return file;
}

const bin = (name: BinaryName): { path: string } => ({ path: findBinary(name) });

export async function buildKubeImages(progress: (l: string) => void = () => undefined): Promise<KubeImages> {
  const run = (cmd: string, args: string[]): Promise<string> =>
    exec(cmd, args, { cwd: REPO, maxBuffer: 16 << 20 }).then((r) => r.stdout.trim());
  await run('bash', ['scripts/base-image.sh']);
  const tabby = await run('bash', ['e2e/images/build-image.sh']);
  if (!/^tabby:\S+$/.test(tabby)) throw new Error(`build-image.sh printed ${JSON.stringify(tabby)}, not an image tag`);

  const porter = join(kubeSourceDir(), 'test', 'images', 'agnhost', 'porter');
  const [pause, agnhost, coredns, glibcDnsTesting, nginx, busybox, node] = await Promise.all([
    buildOnce({ tag: pauseImage(), dockerfile: 'pause.Dockerfile', files: { pause: bin('pause') } }, progress),
    buildOnce(
      {
        tag: agnhostImage(),
        dockerfile: 'agnhost.Dockerfile',
        files: {
          agnhost: bin('agnhost'),
          coredns: bin('coredns'),
          'localhost.crt': { path: join(porter, 'localhost.crt') },
          'localhost.key': { path: join(porter, 'localhost.key') },
        },
      },
      progress,
    ),
    buildOnce({ tag: COREDNS_IMAGE, dockerfile: 'coredns.Dockerfile', files: { coredns: bin('coredns') } }, progress),
    buildOnce(
      {
        tag: e2eImage('GlibcDnsTesting'),
        dockerfile: 'glibc-dns-testing.Dockerfile',
        files: { coredns: bin('coredns') },
      },
      progress,
    ),
    buildOnce({ tag: e2eImage('Nginx'), dockerfile: 'nginx.Dockerfile', files: {} }, progress),
    buildOnce({ tag: e2eImage('BusyBox'), dockerfile: 'busybox.Dockerfile', files: {} }, progress),
    buildOnce(
      {
        tag: 'tabby-kube-node:@INPUTS@',
        dockerfile: 'kube-node.Dockerfile',
        files: {
          'bin/kubelet': bin('kubelet'),
          'bin/kube-proxy': bin('kube-proxy'),
          'bin/containerd': bin('containerd'),
          'bin/containerd-shim-runc-v2': bin('containerd-shim-runc-v2'),
          'bin/ctr': bin('ctr'),
          'bin/runc': bin('runc'),
          'cni/loopback': bin('loopback'),
          'cni/portmap': bin('portmap'),
          'cni/bandwidth': bin('bandwidth'),
          'containerd.toml': {
            text: readFileSync(join(IMAGES_DIR, 'containerd.toml'), 'utf8').replaceAll('@PAUSE_IMAGE@', pauseImage()),
          },
          'kube-node-entrypoint.sh': { text: readFileSync(join(IMAGES_DIR, 'kube-node-entrypoint.sh'), 'utf8') },
        },
      },
      progress,
    ),
  ]);
  const preload: string[] = [];
  for (const image of [pause, tabby, agnhost, coredns, glibcDnsTesting, nginx, busybox]) {
    preload.push(await savedTarball(image, progress));
  }
  return { node, tabby, agnhost, pause, coredns, glibcDnsTesting, nginx, busybox, preload };
}

/** File name of a preload tarball inside the node (/images/<name>). */
export const preloadName = (tar: string): string => basename(tar);
