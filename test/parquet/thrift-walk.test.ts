/** The Thrift compact-protocol walk's primitives on hand-built bytes (the footer layout tests run them on every parquet-testing file). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deserializeTCompactProtocol, readVarInt, readZigZag } from 'hyparquet/src/thrift.js';
import { ReaderError } from '../../src/errors.js';
import { ParsedFooter } from '../../src/parquet/metadata.js';
import { BINARY, LIST, STOP, STRUCT, listHeader, listSize, listType, nextField, readInt, readString, skip, skipStructNoting, type ThriftCursor } from '../../src/parquet/thrift-walk.js';
import { prng } from '../support/data.js';
import { PARQUET_TESTING_DIR } from '../support/parquet-testing.js';

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

  it('skips the values a footer walks over — lists of fixed-width, varint, struct and bool elements, long-form field ids and list sizes — to where hyparquet ends', () => {
    const bytes = [
      ...[0x19, 0x35, 0x02, 0x04, 0x06], // 1: list<i32> [1, 2, 3]
      ...[0x19, 0xf7, 0x10, ...new Array(16 * 8).fill(0)], // 2: list<double>, 16 elements (long-form size)
      ...[0x19, 0x21, 0x01, 0x00], // 3: list<bool> [true, false] (a byte each)
      ...[0x19, 0x2c, 0x15, 0x00, 0x00, 0x18, 0x01, 0x61, 0x00], // 4: list<struct> [{1: 0}, {1: "a"}]
      ...[0x06, 0xc8, 0x01, 0xac, 0x02], // field 100 (long form: zigzag 200), i64 150
      ...[0x17, ...new Array(8).fill(0)], // 101: double
      ...[0x11, 0x12], // 102: true, 103: false
      ...[0x13, 0x7f], // 104: byte
      ...[0x1c, 0x18, 0x00, 0x00], // 105: struct { 1: "" }
      0x00,
    ];
    const ours = cursor([...bytes, 0xee]);
    skip(ours, STRUCT);
    const theirs = cursor(bytes);
    deserializeTCompactProtocol(theirs);
    expect(ours.offset).toBe(theirs.offset);
    expect(ours.offset).toBe(bytes.length);
  });

  it('skips random structs as hyparquet reads them, and fails on every damaged copy hyparquet fails on (seeded)', () => {
    const rand = prng(14);
    const int = (n: number) => Math.floor(rand() * n);
    const varint = (v: number): number[] => {
      const out: number[] = [];
      for (;;) {
        if (v < 0x80) return [...out, v];
        out.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
    };
    const TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12];
    const value = (type: number, depth: number): number[] => {
      switch (type) {
        case 1:
        case 2:
          return [];
        case 3:
          return [int(256)];
        case 4:
        case 5:
        case 6:
          return varint(int(2 ** int(50)));
        case 7:
          return Array.from({ length: 8 }, () => int(256));
        case 8: {
          const n = int(20);
          return [...varint(n), ...Array.from({ length: n }, () => int(256))];
        }
        case 9: {
          const elem = TYPES[int(depth > 2 ? 8 : TYPES.length)] as number;
          const n = int(20);
          const head = n < 15 ? [(n << 4) | elem] : [0xf0 | elem, ...varint(n)];
          const one = elem === 1 || elem === 2 ? () => [int(2)] : () => value(elem, depth + 1);
          return [...head, ...Array.from({ length: n }, one).flat()];
        }
        default:
          return struct(depth + 1);
      }
    };
    const struct = (depth: number): number[] => {
      const out: number[] = [];
      let fid = 0;
      for (let i = 0, fields = int(depth > 2 ? 3 : 8); i < fields; i++) {
        const type = TYPES[int(depth > 2 ? 8 : TYPES.length)] as number;
        const next = fid + 1 + int(20);
        out.push(...(next - fid < 16 ? [((next - fid) << 4) | type] : [type, ...varint(next * 2)]), ...value(type, depth));
        fid = next;
      }
      return [...out, 0];
    };
    const outcome = (bytes: number[], walk: (r: ThriftCursor) => void): number | 'throws' => {
      const r = cursor(bytes);
      try {
        walk(r);
        return r.offset;
      } catch {
        return 'throws';
      }
    };
    // skipStructNoting: the same end (or failure) as skip, and what a field-by-field walk notes.
    const MASK = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6);
    const noted = (bytes: number[], walk: (r: ThriftCursor) => boolean): string => {
      const r = cursor(bytes);
      try {
        const other = walk(r);
        return `${r.offset} ${other}`;
      } catch {
        return 'throws';
      }
    };
    const fieldByField = (r: ThriftCursor): boolean => {
      let other = false;
      for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
        fid = h >> 4;
        if ((fid === 1 || fid === 2 || fid === 5 || fid === 6) && (h & 0x0f) !== BINARY) other = true;
        skip(r, h & 0x0f);
      }
      return other;
    };
    let damagedThrows = 0;
    for (let i = 0; i < 400; i++) {
      const bytes = struct(0);
      for (const b of [bytes, bytes.slice(0, int(bytes.length)), bytes.map((x) => (rand() < 0.05 ? int(256) : x))]) {
        expect(noted(b, (r) => skipStructNoting(r, MASK, BINARY))).toBe(noted(b, fieldByField));
      }
      expect(outcome(bytes, (r) => skip(r, STRUCT))).toBe(bytes.length);
      expect(outcome(bytes, (r) => void deserializeTCompactProtocol(r))).toBe(bytes.length);
      const damaged = rand() < 0.5 ? bytes.slice(0, int(bytes.length)) : bytes.map((b) => (rand() < 0.05 ? int(256) : b));
      const ours = outcome(damaged, (r) => skip(r, STRUCT));
      expect(ours).toBe(outcome(damaged, (r) => void deserializeTCompactProtocol(r)));
      if (ours === 'throws') damagedThrows++;
    }
    expect(damagedThrows).toBeGreaterThan(100); // the damage reached the error paths
  });

  it('skipStructNoting notes a watched field of another type, by short and long-form ids, and only those', () => {
    const MASK = (1 << 1) | (1 << 5);
    const run = (bytes: number[]) => {
      const r = cursor(bytes);
      return [skipStructNoting(r, MASK, BINARY), r.offset];
    };
    expect(run(STRUCT_BYTES)).toEqual([true, STRUCT_BYTES.length]); // field 1 is an i32
    expect(run([0x28, 0x01, 0x61, 0x00])).toEqual([false, 4]); // field 2: not watched
    expect(run([0x05, 0x0a, 0x02, 0x00])).toEqual([true, 4]); // long form: field id zigzag 10 = 5, an i32
    expect(run([0x08, 0x0a, 0x01, 0x61, 0x00])).toEqual([false, 5]); // field 5 as binary
    expect(run([0x05, 0xc2, 0x01, 0x02, 0x00])).toEqual([false, 5]); // field 97 (past the mask's 32 bits)
    expect(() => run([0x15, 0x0a])).toThrow(/without STOP/);
  });

  it('a footer cut inside a skipped value is METADATA_CORRUPT (InvalidData), not a hang or wrong offsets', () => {
    const file = readFileSync(join(PARQUET_TESTING_DIR, 'data', 'alltypes_plain.parquet'));
    const length = file.readUInt32LE(file.byteLength - 8);
    const metadata = file.subarray(file.byteLength - 8 - length, file.byteLength - 8);
    // (A cut of the last byte alone is not one: both walks then read into the length field after it, as hyparquet does.)
    for (const keep of [Math.floor(length / 3), Math.floor(length / 2), length - 40]) {
      const footer = new Uint8Array(keep + 8);
      footer.set(metadata.subarray(0, keep));
      new DataView(footer.buffer).setUint32(keep, keep, true);
      footer.set([0x50, 0x41, 0x52, 0x31], keep + 4);
      const size = 4 + footer.byteLength;
      const read = () => ParsedFooter.read({ meta: { size }, bytes: footer, offset: 4, metadataLength: keep, requests: 1 }, { op: 'open', path: 'cut.parquet' });
      expect(read).toThrow(ReaderError);
      expect(read).toThrow(expect.objectContaining({ kind: 'InvalidData', code: 'METADATA_CORRUPT' }));
    }
  });
});
