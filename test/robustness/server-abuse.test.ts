// The sidecar's HTTP endpoint against a taken port and rude clients, through
// the real CLI: a taken server.listen is a config error (exit 2) that names
// the address; POST /quit without the opt-in stops nothing; huge headers and
// bodies are refused and the server keeps answering.

import t from 'tap';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { serverUrl, sidecarFixture } from '../helpers/robust-sidecar.ts';

const PW1 = 'canary-Server-First-Pw-Ye6B2n';

/** one raw HTTP exchange: what came back before the server closed or `ms` passed */
function raw(port: number, request: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (): void => {
      sock.destroy();
      resolve(got);
    };
    sock.setEncoding('utf8').on('data', (d: string) => (got += d));
    sock.on('close', done).on('error', done);
    setTimeout(done, ms);
    sock.write(request, () => {});
  });
}

t.test('a taken listen address: exit 2 naming server.listen; the files init wrote are left as they are', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  const f = sidecarFixture(t, { password: PW1 });
  const cfg = readFileSync(f.cfg, 'utf8').replace('listen: "127.0.0.1:0"', `listen: "127.0.0.1:${port}"`);
  writeFileSync(f.cfg, cfg);
  const a = f.start();
  const end = await a.exited;
  t.same(end, { code: 2, signal: null });
  const fatal = a.logs.find((l) => l.level === 'fatal');
  t.match(String(fatal?.msg ?? '') + JSON.stringify(fatal?.problems ?? ''), new RegExp(`server\\.listen: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
  // the port is only tried after init (judgement, see the report): the files are there and whole
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});

t.test('POST /quit without server.quit, huge headers and bodies: refused, and the sidecar keeps serving', async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);
  const port = Number(new URL(url).port);

  const quit = await fetch(`${url}/quit`, { method: 'POST' });
  t.equal(quit.status, 404, '/quit is not there without the opt-in');

  const bigHeader = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  t.match(bigHeader, /^HTTP\/1\.1 431 /, '64 KiB of headers: 431');

  const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
  const bigBody = await raw(port, Buffer.concat([Buffer.from(`POST /quit HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`), big]));
  t.match(bigBody, /^HTTP\/1\.1 404 /, 'an 8 MiB body to /quit: 404, nothing stops');

  const lying = await raw(port, `POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\npartial`, 1500);
  t.match(lying, /^HTTP\/1\.1 405 /, 'a body that never arrives: answered without waiting for it');

  for (const path of ['/healthz', '/readyz']) t.equal((await fetch(`${url}${path}`)).status, 200, `${path} still 200`);
  t.equal(a.proc.exitCode, null, 'still running');
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});
