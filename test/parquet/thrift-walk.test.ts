/** The Thrift compact-protocol walk's primitives on hand-built bytes (the footer layout tests run them on every parquet-testing file). */
import { describe, expect, it } from 'vitest';
import { readVarInt, readZigZag } from 'hyparquet/src/thrift.js';
import { BINARY, LIST, STOP, STRUCT, listHeader, listSize, listType, nextField, readInt, readString, skip, type ThriftCursor } from '../../src/parquet/thrift-walk.js';

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

  it('list headers pack the element type and count: short form, and the long form past 14', () => {
    const short = cursor([0x39]); // 3 elements of type 9 (list)
    const h = listHeader(short);
    expect([listType(h), listSize(h), short.offset]).toEqual([LIST, 3, 1]);
    const long = cursor([0xfc, 0xac, 0x02]); // 300 structs: 15 in the high nibble, then the varint 300
    const l = listHeader(long);
    expect([listType(l), listSize(l), long.offset]).toEqual([STRUCT, 300, 3]);
  });

  it("integers read on the bytes as hyparquet's DataView reader reads them: the same values, past 32 bits too, and the same error at the end", () => {
    // i32 zigzag varints, some longer than 5 bytes (hyparquet shifts in 32 bits: the walk must agree).
    const samples = [[0x00], [0x01], [0x02], [0xff, 0x01], [0xfe, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]];
    for (const bytes of samples) {
      const ours = cursor(bytes);
      const theirs = cursor(bytes);
      expect(readInt(ours, 5)).toBe(readZigZag(theirs));
      expect(ours.offset).toBe(theirs.offset);
    }
    const cut = [0xff, 0xff];
    expect(() => readInt(cursor(cut), 5)).toThrow(RangeError);
    expect(() => readVarInt(cursor(cut))).toThrow(RangeError);
    expect(() => readInt(cursor(cut), 6)).toThrow(RangeError); // an i64
    expect(() => listHeader(cursor([]))).toThrow(RangeError);
  });
});
