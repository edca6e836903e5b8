/** Shared pieces of the reliability tests: servers behind the fault proxy, error and leak checks. */
import { expect } from 'vitest';
import { Agent } from 'undici';
import { ObjectServer } from '../../bench/object-server.js';
import { collectBody } from '../../src/body.js';
import { ReaderError } from '../../src/errors.js';
import type { Backend, ByteRange, ReadOptions } from '../../src/types.js';
import { FaultProxy } from '../support/fault-proxy.js';

/** Settle bound that proves "no hang" (not a speed claim). */
export const SETTLES_MS = 5_000;

export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Resolves to the ReaderError `p` rejects with (fails the test on success or on another error type). */
export async function failure(p: Promise<unknown>, kind?: ReaderError['kind']): Promise<ReaderError> {
  const err = await p.then(
    () => new Error(`expected a ReaderError${kind ? ` ${kind}` : ''}, got success`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  if (kind) expect((err as ReaderError).kind, (err as ReaderError).message).toBe(kind);
  return err as ReaderError;
}

/** Rejects if `p` has not settled within `ms`: a hang is a failure, not a slow pass. */
export async function within<T>(p: Promise<T>, ms = SETTLES_MS, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a range and collects its body. */
export async function readBytes(backend: Backend, path: string, range: ByteRange, opts?: ReadOptions): Promise<Uint8Array> {
  const res = await backend.read(path, range, opts);
  return collectBody(res.body);
}

/** Timers alive in this process (vitest's own included: compare before and after). */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Waits (briefly, bounded) until `cond` holds; for state that settles on the next ticks (a socket closing). */
export async function eventually(cond: () => boolean, ms = 2_000): Promise<void> {
  const until = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > until) throw new Error(`condition not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Requests in flight and sockets busy in an undici Agent, over all origins. */
export function agentBusy(agent: Agent): { running: number; pending: number; connected: number; free: number } {
  const out = { running: 0, pending: 0, connected: 0, free: 0 };
  for (const s of Object.values(agent.stats)) {
    const st = s as unknown as { running: number; pending: number; connected: number; free?: number };
    out.running += st.running;
    out.pending += st.pending;
    out.connected += st.connected;
    out.free += st.free ?? 0;
  }
  return out;
}

export interface Rig {
  server: ObjectServer;
  proxy: FaultProxy;
  stop(): Promise<void>;
}

/** An ObjectServer behind a fault proxy. */
export async function startRig(): Promise<Rig> {
  const server = await new ObjectServer().start();
  const proxy = await FaultProxy.start(server.url);
  return {
    server,
    proxy,
    async stop() {
      await proxy.stop();
      await server.stop();
    },
  };
}

/** An S3 error body, as S3 sends it. */
export function s3ErrorXml(code: string, message = 'fault injected by the proxy'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULT1</RequestId></Error>`;
}
