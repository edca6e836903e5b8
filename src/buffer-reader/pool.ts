/**
 * Where a reader's bytes live: blocks (fetched buffers, each covering `[offset, offset + length)`)
 * in an LRU under a byte budget (lru-cache `maxSize` / `sizeCalculation`), shared by one reader or
 * by a pool of readers.
 *
 * Accounting, in bytes: `buffered` (blocks in the LRU) + `inFlight` (room reserved by fetches that
 * will land in the LRU) + `pinned` (blocks evicted from the LRU that a reader still serves from: its
 * current read block, the one its iterator yielded last). `held` is their sum and `peak` its
 * maximum. Fetches reserve before they start and make room by evicting least recently used blocks,
 * so `held` never exceeds the budget through buffered fetches (only a read that streams through,
 * larger than the budget or finding no room, is pinned on top of it).
 *
 * Eviction never breaks a read in progress: a read takes references to the buffers it serves from
 * before it awaits anything, so an evicted block only leaves the LRU (and the accounting), not the read.
 */
import { LRUCache } from 'lru-cache';
import { ReaderError } from '../errors.js';
import type { Part } from './part.js';

const MiB = 1024 * 1024;

/**
 * Default byte budget of a reader: room for four maximal read-ahead windows (32 MiB) or eight
 * maximal merged requests (16 MiB) — enough for a wave of column chunks of a typical row group —
 * while a few dozen open readers stay within a few GiB.
 */
export const DEFAULT_MAX_MEMORY = 128 * MiB;

/** Something that owns blocks and must hear when the LRU lets one go. */
export interface BlockOwner {
  onEvicted(block: Block, reason: 'evict' | 'delete'): void;
}

export interface Block {
  readonly offset: number;
  /** Bytes held (the part's length). */
  readonly byteLength: number;
  /** The bytes, as fetched: one buffer, or a scan part's chunks (part.ts). */
  readonly part: Part;
  /** The bytes in one buffer (a chunked part is joined on first use: see `Part.data`). */
  readonly data: Uint8Array;
  readonly owner: BlockOwner;
  readonly key: string;
}

export const blockEnd = (b: { offset: number; byteLength: number }): number => b.offset + b.byteLength;

/** A class, not a literal with a getter: every block then shares one shape and `data` stays a fast accessor. */
class PartBlock implements Block {
  readonly byteLength: number;
  constructor(
    readonly offset: number,
    readonly part: Part,
    readonly owner: BlockOwner,
    readonly key: string,
  ) {
    this.byteLength = part.byteLength;
  }

  get data(): Uint8Array {
    return this.part.data;
  }
}

/** A block of `part` at `offset`; its `data` is the part's (made when first asked for: see `Part.data`). */
export function blockOf(offset: number, part: Part, owner: BlockOwner, key: string): Block {
  return new PartBlock(offset, part, owner, key);
}

export interface BufferPoolOptions {
  /** The byte budget. Default DEFAULT_MAX_MEMORY. */
  maxMemory?: number;
}

export interface PoolMemory {
  budget: number;
  buffered: number;
  inFlight: number;
  pinned: number;
  held: number;
  peak: number;
  blocks: number;
  evictions: number;
}

let nextOwnerId = 0;

/** A byte budget and LRU of blocks; pass one to several readers to share a budget between them. */
export class BufferPool {
  readonly maxMemory: number;
  private readonly lru: LRUCache<string, Block>;
  private reserved = 0;
  private pinnedBytes = 0;
  private peakHeld = 0;
  private evicted = 0;
  /** The block `touch` made most recent last; admitting another block moves the mark on. */
  private lastTouched: Block | undefined;

  constructor(options: BufferPoolOptions = {}) {
    const max = options.maxMemory ?? DEFAULT_MAX_MEMORY;
    if (!Number.isSafeInteger(max) || max < 1) throw new ReaderError('InvalidInput', 'maxMemory must be an integer >= 1', { op: 'open' }, { code: 'INVALID_ARGUMENT' });
    this.maxMemory = max;
    this.lru = new LRUCache<string, Block>({
      maxSize: max,
      sizeCalculation: (b) => Math.max(1, b.byteLength),
      dispose: (block, _key, reason) => {
        if (reason === 'evict') this.evicted++;
        block.owner.onEvicted(block, reason === 'evict' ? 'evict' : 'delete');
      },
    });
  }

  /** A fresh key prefix for a new owner. */
  static ownerId(): string {
    return `r${nextOwnerId++}`;
  }

  private track(): void {
    this.peakHeld = Math.max(this.peakHeld, this.held);
  }

  get held(): number {
    return this.lru.calculatedSize + this.reserved + this.pinnedBytes;
  }

  memory(): PoolMemory {
    return {
      budget: this.maxMemory,
      buffered: this.lru.calculatedSize,
      inFlight: this.reserved,
      pinned: this.pinnedBytes,
      held: this.held,
      peak: this.peakHeld,
      blocks: this.lru.size,
      evictions: this.evicted,
    };
  }

  /**
   * Reserves room for a fetch of `bytes`, evicting least recently used blocks until
   * `buffered + inFlight + pinned + bytes <= budget` (an evicted block still being read stays
   * pinned, so it keeps counting). Returns false when what is in flight and pinned leaves no room
   * (evicting only what it had to look at): the caller then fetches without buffering.
   */
  reserve(bytes: number): boolean {
    if (this.reserved + this.pinnedBytes + bytes > this.maxMemory) return false;
    while (this.held + bytes > this.maxMemory && this.lru.size > 0) this.lru.pop();
    if (this.held + bytes > this.maxMemory) return false;
    this.reserved += bytes;
    this.track();
    return true;
  }

  release(bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes);
  }

  /** Adds a block (counting as most recently used). Blocks over the budget are refused. */
  admit(block: Block): boolean {
    if (block.byteLength > this.maxMemory) return false;
    this.lru.set(block.key, block);
    this.lastTouched = block;
    this.track();
    return true;
  }

  /** Marks a block as just used (nothing to do when it already is: consecutive reads of one block). */
  touch(block: Block): void {
    if (block === this.lastTouched) return;
    this.lastTouched = block;
    this.lru.get(block.key);
  }

  has(block: Block): boolean {
    return this.lru.peek(block.key) === block;
  }

  /** Removes a block (its owner hears `delete`). */
  remove(block: Block): void {
    if (this.lru.peek(block.key) === block) this.lru.delete(block.key);
  }

  /** Counts bytes an owner keeps outside the LRU (an evicted block still being read). */
  pin(bytes: number): void {
    this.pinnedBytes += bytes;
    this.track();
  }

  unpin(bytes: number): void {
    this.pinnedBytes = Math.max(0, this.pinnedBytes - bytes);
  }
}
