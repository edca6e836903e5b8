/**
 * HTTP(S)_PROXY / NO_PROXY on Node: requests go through a real CONNECT proxy on 127.0.0.1 (which
 * logs every tunnel it opens), and hosts in NO_PROXY are reached directly.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../../bench/object-server.js';
import { collectBody } from '../../../src/body.js';
import { httpBackend } from '../../../src/backends/http/backend.js';
import { createDispatcher } from '../../../src/backends/http/pool.js';
import { s3Backend } from '../../../src/backends/s3/backend.js';

let proxy: Server;
let proxyUrl: string;
const tunnels: string[] = [];
const sockets = new Set<Socket>();
let a: ObjectServer;
let b: ObjectServer;

beforeAll(async () => {
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client: Socket) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', () => ok()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  a = await new ObjectServer().start();
  b = await new ObjectServer().start();
  a.put('o.bin', 'through the proxy');
  b.put('o.bin', 'direct');
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((ok) => proxy.close(ok));
  await a.stop();
  await b.stop();
});

async function text(dispatcher: ReturnType<typeof createDispatcher>, url: string): Promise<string> {
  const r = await httpBackend({ dispatcher }).read(url, { offset: 0 });
  return new TextDecoder().decode(await collectBody(r.body));
}

describe('createDispatcher: proxies from the environment', () => {
  it('HTTP_PROXY tunnels every request through the proxy; NO_PROXY hosts go direct', async () => {
    tunnels.length = 0;
    const hostB = new URL(b.url).host;
    const dispatcher = createDispatcher({ HTTP_PROXY: proxyUrl, NO_PROXY: hostB });
    expect(await text(dispatcher, `${a.url}/o.bin`)).toBe('through the proxy');
    expect(await text(dispatcher, `${b.url}/o.bin`)).toBe('direct');
    expect(tunnels).toEqual([new URL(a.url).host]);
    // The servers saw both requests; only A's came through a tunnel.
    expect(a.requests.map((r) => r.method)).toEqual(['GET']);
    expect(b.requests.map((r) => r.method)).toEqual(['GET']);
    await dispatcher.close();
  });

  it('lower-case http_proxy counts too, and the S3 backend uses the same pool', async () => {
    tunnels.length = 0;
    a.resetLog();
    const dispatcher = createDispatcher({ http_proxy: proxyUrl });
    const s3 = s3Backend({ bucket: 'bkt', endpoint: a.url, anonymous: true, dispatcher, env: {} });
    a.put('bkt/k.bin', 'object');
    const r = await s3.read('k.bin', { offset: 0, length: 6 });
    expect(new TextDecoder().decode(await collectBody(r.body))).toBe('object');
    expect(tunnels).toEqual([new URL(a.url).host]);
    await dispatcher.close();
  });

  it('HTTPS_PROXY alone is for https:// URLs: an http:// one goes direct', async () => {
    tunnels.length = 0;
    const dispatcher = createDispatcher({ HTTPS_PROXY: proxyUrl });
    expect(await text(dispatcher, `${a.url}/o.bin`)).toBe('through the proxy');
    expect(tunnels).toEqual([]);
    await dispatcher.close();
  });

  it('without proxy variables there is no tunnel', async () => {
    tunnels.length = 0;
    const dispatcher = createDispatcher({});
    expect(await text(dispatcher, `${a.url}/o.bin`)).toBe('through the proxy');
    expect(tunnels).toEqual([]);
    await dispatcher.close();
  });
});
