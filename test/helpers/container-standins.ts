// The stand-in base images on the engine: the root filesystems that
// test/setup/install-container-standins.sh built (cached by their recipe)
// imported once under tags named by that recipe's hash, so a second run finds
// them and imports nothing. The build stand-in gets this machine's CA bundle
// as NODE_EXTRA_CA_CERTS (npm's traffic may pass a TLS-inspecting proxy):
// that is the harness's business, never the shipped Dockerfile's.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from './docker-engine.ts';
import { ROOT } from './image-sandbox.ts';

export const STANDINS_INSTALL = 'bash test/setup/install-container-standins.sh';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Standins {
  /** node:24-bookworm: Debian, node, npm, binutils (+ this machine's CA bundle) */
  build: string;
  /** gcr.io/distroless/nodejs24-debian12:nonroot */
  nodejs: string;
  /** gcr.io/distroless/cc-debian12:nonroot */
  cc: string;
  /** erlang:25-slim and the erlmcp stand-in's erlang:26-alpine: Debian's OTP 25, with sh */
  erlang: string;
  /** hashicorp/vault: OpenBao's bao, also as `vault`, entrypoint vault */
  vault: string;
  /** the build arguments that select these bases */
  buildArgs: string[];
  /** every stand-in tag this recipe uses (any other erlmcp-standin/* tag is an older recipe's) */
  tags: string[];
}

/** the built cache folder of the current recipe; throws with the install command when missing */
export function standinsDir(): string {
  const r = spawnSync('bash', [path.join(ROOT, 'test/setup/install-container-standins.sh'), '--print-dir'], { encoding: 'utf8', cwd: ROOT });
  const dir = r.stdout.trim();
  if (r.status !== 0 || !existsSync(path.join(dir, 'done'))) {
    throw new Error(`the stand-in base images are not built${dir ? ` (${dir})` : ''}: run \`${STANDINS_INSTALL}\` as root (debootstrap, a few minutes, once)${r.stderr ? `\n${r.stderr}` : ''}`);
  }
  return dir;
}

/** docker import of one tarball under tag, unless the tag is already there */
function importOnce(engine: Engine, tar: string, tag: string, changes: string[]): void {
  if (engine.docker(['image', 'inspect', tag]).status === 0) return;
  engine.must(['import', ...changes.flatMap((c) => ['--change', c]), tar, tag], { timeoutMs: 600_000 });
}

export function importStandins(engine: Engine): Standins {
  const dir = standinsDir();
  const key = path.basename(dir).replace(/^container-standins-/, '');
  const tag = (name: string): string => `erlmcp-standin/${name}:${key}`;
  const nonroot = ['USER 65532:65532', 'WORKDIR /home/nonroot', `ENV ${PATH_ENV}`, 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'];
  importOnce(engine, path.join(dir, 'nodejs.tar'), tag('nodejs'), [...nonroot, 'ENTRYPOINT ["/nodejs/bin/node"]']);
  importOnce(engine, path.join(dir, 'cc.tar'), tag('cc'), nonroot);
  importOnce(engine, path.join(dir, 'erlang.tar'), tag('erlang'), [`ENV ${PATH_ENV}`, 'CMD ["erl"]']);
  importOnce(engine, path.join(dir, 'openbao.tar'), tag('openbao'), [`ENV ${PATH_ENV}`, 'ENTRYPOINT ["vault"]', 'CMD ["server", "-dev"]']);
  importOnce(engine, path.join(dir, 'node-build.tar'), tag('node-build'), [`ENV ${PATH_ENV}`, 'CMD ["node"]']);

  // this machine's CA bundle on top, for npm ci behind a TLS-inspecting proxy
  const caFile = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? process.env.NODE_EXTRA_CA_CERTS : '/etc/ssl/certs/ca-certificates.crt';
  const caHash = createHash('sha256').update(readFileSync(caFile)).digest('hex').slice(0, 12);
  const build = `erlmcp-standin/node-build:${key}-ca-${caHash}`;
  if (engine.docker(['image', 'inspect', build]).status !== 0) {
    const name = `erlmcp-standin-ca-${process.pid}`;
    engine.must(['create', '--name', name, tag('node-build'), 'true']);
    try {
      engine.must(['cp', caFile, `${name}:/etc/ssl/certs/harness-ca-bundle.pem`]);
      engine.must(['commit', '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/harness-ca-bundle.pem', '--change', 'CMD ["node"]', name, build]);
    } finally {
      engine.docker(['rm', '-f', name]);
    }
  }
  const s = { build, nodejs: tag('nodejs'), cc: tag('cc'), erlang: tag('erlang'), vault: tag('openbao') };
  return {
    ...s,
    tags: [...Object.values(s), tag('node-build')],
    buildArgs: [`BUILD_IMAGE=${s.build}`, `NODE_RUNTIME_IMAGE=${s.nodejs}`, `BINARY_RUNTIME_IMAGE=${s.cc}`, `ERLANG_IMAGE=${s.erlang}`].flatMap((a) => ['--build-arg', a]),
  };
}
