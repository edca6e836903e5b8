/** Deterministic pseudo-random bytes (xorshift32): the same seed gives the same bytes on every run. */
export function randomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export { prng } from '../../bench/fixtures.js';
import { collectBody } from '../../src/body.js';
import type { Backend, ByteRange } from '../../src/types.js';

/** Reads a range and collects its body. */
export async function readAll(backend: Backend, path: string, range: ByteRange, opts?: Parameters<Backend['read']>[2]) {
  const res = await backend.read(path, range, opts);
  const bytes = await collectBody(res.body);
  return { ...res, bytes };
}
