/** The Thrift compact-protocol walk's primitives on hand-built bytes (the footer layout tests run them on every parquet-testing file). */
import { describe, expect, it } from 'vitest';
import { BINARY, STOP, STRUCT, nextField, readInt, readString, skip, type ThriftCursor } from '../../src/parquet/thrift-walk.js';

const cursor = (bytes: number[]): ThriftCursor => {
  const u = new Uint8Array(bytes);
  return { view: new DataView(u.buffer), bytes: u, offset: 0 };
};
// struct { 1: i32 = 5, 2: binary "ab" } STOP — field headers are (delta << 4) | type.
const STRUCT_BYTES = [0x15, 0x0a, 0x18, 0x02, 0x61, 0x62, 0x00];

describe('thrift-walk', () => {
  it('reads field headers, an i32 and a string, then STOP', () => {
    const r = cursor(STRUCT_BYTES);
    const f1 = nextField(r, 0);
    expect([f1 >> 4, f1 & 0x0f]).toEqual([1, 5]);
    expect(readInt(r, f1 & 0x0f)).toBe(5);
    const f2 = nextField(r, 1);
    expect([f2 >> 4, f2 & 0x0f]).toEqual([2, BINARY]);
    expect(readString(r, BINARY, 'name')).toBe('ab');
    expect(nextField(r, 2)).toBe(STOP);
    expect(r.offset).toBe(STRUCT_BYTES.length);
  });

  it('skips a whole struct to just past its STOP', () => {
    const r = cursor([...STRUCT_BYTES, 0x99]);
    skip(r, STRUCT);
    expect(r.offset).toBe(STRUCT_BYTES.length);
  });

  it('a struct cut before its STOP is an error, not a hang', () => {
    expect(() => skip(cursor(STRUCT_BYTES.slice(0, 6)), STRUCT)).toThrow(/without STOP|out of bounds|Offset/i);
  });
});
