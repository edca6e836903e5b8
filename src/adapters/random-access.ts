/** What every decoder adapter needs: positional reads of a known-size object (a BufferReader, a ParquetSource). */
export interface RandomAccess {
  /** `length` bytes at `offset` (fewer only at EOF). The result may be a view: adapters copy before handing it out. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
}

/** A fresh ArrayBuffer holding exactly `bytes` (decoders get memory they may keep or transfer). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** `Blob.slice` argument rules: negative counts from the end, everything clamped to [0, size]. */
export function clampSlice(size: number, start?: number, end?: number): [number, number] {
  const rel = (v: number | undefined, dflt: number): number => {
    if (v === undefined || Number.isNaN(v)) return dflt;
    const n = Math.trunc(v);
    return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
  };
  const a = rel(start, 0);
  const b = rel(end, size);
  return [a, Math.max(a, b)];
}
