/**
 * The sequential half of a BufferReader: the position, the block `read()` is serving from, and its
 * read-ahead. A miss joins the reader's batch of this turn (`join`); the block being read stays
 * counted (pinned) when the budget evicts it, until the reads move on.
 */
import { ReaderError, isReaderError, type ErrorContext } from '../errors.js';
import { pieceEnd } from './assemble.js';
import type { Span } from './coalesce.js';
import type { Coverage, Fetch, Fetcher } from './fetcher.js';
import { Part } from './part.js';
import { blockEnd, type Block, type BufferPool } from './pool.js';
import type { ReadAheadWindow } from './readahead.js';
import { scanPartSize, type ScanAhead } from './scan-ahead.js';

/** No windows (shared: the common case of a read the window already covers allocates nothing). */
const NONE: Span[] = [];

/** The block `read()` serves from: its bytes, and whether they count as pinned (evicted, or never admitted). */
interface Current {
  offset: number;
  part: Part;
  block?: Block;
  pinned: boolean;
}

export class Cursor {
  /** The position of `read()`. */
  pos = 0;
  private current: Current | undefined;
  /** Bytes of the scan's background parts in flight. */
  private aheadInFlight = 0;
  /** Where the iterator's last chunk of a chunked part ended (-1: none): its next chunk needs no planning. */
  private chained = -1;
  /** The last read still waiting, if any: the next read queues behind it (`next`). */
  private waiting: Promise<unknown> | undefined;

  constructor(
    private readonly fetcher: Fetcher,
    private readonly pool: BufferPool,
    readonly readahead: ScanAhead,
    /** Joins the reader's batch of this turn with spans it needs. */
    private readonly join: (spans: Span[]) => Promise<Coverage>,
    private readonly ensureOpen: (op: string) => void,
  ) {}

  private context(op: string, extra: ErrorContext = {}): ErrorContext {
    return this.fetcher.context(op, extra);
  }

  /** An evicted block that `read` is still serving from stays counted, as pinned, until it moves on. */
  onEvicted(block: Block): void {
    const cur = this.current;
    if (cur && cur.block === block && !cur.pinned) {
      cur.pinned = true;
      this.pool.pin(cur.part.byteLength);
    }
  }

  private setCurrent(offset: number, part: Part, block: Block | undefined): void {
    const old = this.current;
    if (old?.pinned) this.pool.unpin(old.part.byteLength);
    const pinned = block === undefined || !this.pool.has(block);
    this.current = { offset, part, ...(block ? { block } : {}), pinned };
    if (pinned) this.pool.pin(part.byteLength);
    this.dropBehind(offset);
  }

  /**
   * A scan of an object larger than the budget keeps one part behind the block it reads (a short
   * seek back is free) and lets older blocks go at once. Under a sequential scan an LRU would only
   * evict them later, before any second pass could reach them (sequential flooding: PostgreSQL's
   * bulk-read ring, Linux's drop-behind); letting them go now keeps the budget free for the window
   * ahead, for other readers of a shared pool, and for the runtime to collect them before more
   * arrive. (It kept a whole window behind when the window was a quarter of the budget: bytes the
   * process held that could have been in flight instead.)
   */
  private dropBehind(from: number): void {
    const f = this.fetcher;
    const size = f.knownSize;
    if (!this.readahead.active || size === undefined || size <= this.pool.maxMemory) return;
    const keep = from - this.part();
    if (keep <= 0) return;
    for (const b of f.blocks.within(0, keep)) if (blockEnd(b) <= keep) this.pool.remove(b);
  }

  private inCurrent(pos: number): boolean {
    const cur = this.current;
    return cur !== undefined && pos >= cur.offset && pos < cur.offset + cur.part.byteLength;
  }

  /** The part size of the scan window: spread over the reader's connections (see `scanPartSize`). */
  private readonly part = (): number => scanPartSize(this.readahead.max, this.fetcher.concurrency, this.fetcher.blockCap, this.fetcher.knownSize);

  /** Clamps windows at the known size; splits them into the one the read waits for and the background parts. */
  private split(windows: readonly ReadAheadWindow[]): { sync: Span[]; background: Span[] } {
    if (windows.length === 0) return { sync: NONE, background: NONE };
    const size = this.fetcher.knownSize;
    const sync: Span[] = [];
    const background: Span[] = [];
    for (const w of windows) {
      const length = size === undefined ? w.length : Math.min(w.length, size - w.offset);
      if (length > 0) (w.sync ? sync : background).push({ offset: w.offset, length });
    }
    return { sync, background };
  }

  /**
   * Starts background parts of the scan window, each its own request (the window is already
   * spread), kept in the chunks their bodies arrive in: this cursor copies out of them (`read`) or
   * hands them on (the iterator) chunk by chunk, so joining them first would only copy every byte
   * once more (part.ts).
   */
  private fetchAhead(parts: readonly Span[]): void {
    const f = this.fetcher;
    for (const p of parts) {
      for (const fetch of f.cover([p], 'optional', { spread: false, chunked: true }).started) {
        const bytes = fetch.end - fetch.offset;
        this.aheadInFlight += bytes;
        const landed = (): void => {
          this.aheadInFlight -= bytes;
          if (!f.closed) this.onSize(); // a part landed: its connection takes the next one
        };
        fetch.landed.then(landed, landed);
      }
    }
  }

  /** Plans the read-ahead for a read at `pos` (once per read: the state machine counts reads). */
  private readAhead(pos: number, want: number, scan: boolean, inCurrent: boolean): { sync: Span[]; background: Span[] } {
    const f = this.fetcher;
    const covered = inCurrent || f.blocks.find(pos) !== undefined || f.fetches.find(pos) !== undefined;
    // Asked only where it can matter (a large read at 0 nothing covers): the pool's sum is not free.
    const fresh = pos === 0 && !covered && this.pool.memory().held === 0;
    return this.split(this.readahead.plan(pos, { covered, want: Math.min(want, f.blockCap), size: f.knownSize, part: this.part, scan, inFlight: this.aheadInFlight, concurrency: f.concurrency, fresh }));
  }

  /** Tops the scan window up: a response told the object's size, or a part landed. */
  onSize(): void {
    if (this.readahead.active) this.fetchAhead(this.split(this.readahead.topUp(this.pos, this.fetcher.knownSize, this.part, this.aheadInFlight, this.fetcher.concurrency)).background);
  }

  /**
   * Serves up to `max` bytes at `pos` from the current block, advancing the position: copied into
   * `into` (as many as the block holds from `pos`, across its chunks), or a view (within one chunk
   * of a chunked part, so possibly fewer).
   */
  private take(cur: Current, pos: number, max: number, waited: boolean, joined: boolean, into: Uint8Array | undefined): Uint8Array {
    const f = this.fetcher;
    const from = pos - cur.offset;
    const piece = into ? into.subarray(0, cur.part.copyTo(from, max < into.byteLength ? into.subarray(0, max) : into)) : cur.part.view(from, max);
    if (cur.block && !cur.pinned) this.pool.touch(cur.block);
    this.pos = pos + piece.byteLength;
    this.readahead.advance(pos, piece.byteLength);
    this.chained = into === undefined && !cur.part.contiguous && max === Infinity ? this.pos : -1;
    if (waited) f.counts.misses++;
    else {
      f.counts.hits++;
      f.counts.bytesFromBuffer += piece.byteLength;
    }
    if (joined) f.counts.joins++;
    return piece;
  }

  /**
   * Up to `max` bytes at the position (a view), advancing it; undefined at the end. `scan`: the
   * caller reads to the end (the window opens from the first read). A read the current block holds
   * is served at once (no promise, no batch turn); one that must wait returns a promise.
   */
  next(max: number, want: number, scan = false, into?: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    // Reads are served in call order: one issued while another waits starts where that one ends
    // (two reads issued together get consecutive bytes, as from a file handle, not the same ones).
    const before = this.waiting;
    if (before) return this.inOrder(before.then(() => this.nextNow(max, want, scan, into), () => this.nextNow(max, want, scan, into)));
    const got = this.nextNow(max, want, scan, into);
    return got instanceof Promise ? this.inOrder(got) : got;
  }

  private inOrder<T>(p: Promise<T>): Promise<T> {
    this.waiting = p;
    const done = (): void => {
      if (this.waiting === p) this.waiting = undefined;
    };
    p.then(done, done);
    return p;
  }

  private nextNow(max: number, want: number, scan: boolean, into: Uint8Array | undefined): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const f = this.fetcher;
    const pos = this.pos;
    const cur = this.current;
    // The iterator inside a chunked part, right after its previous chunk: the part's first read
    // planned the read-ahead, as it did when the iterator yielded the rest of a block whole; the
    // rest of the part's chunks are handed on without planning again (that cost more per chunk than
    // the copy the chunks save). A seek in between (pos moved) goes the whole way.
    if (pos === this.chained && cur !== undefined && into === undefined && pos < cur.offset + cur.part.byteLength) return this.take(cur, pos, max, false, false, undefined);
    if (f.knownSize !== undefined && pos >= f.knownSize) return undefined;
    const inCurrent = cur !== undefined && pos >= cur.offset && pos < cur.offset + cur.part.byteLength;
    const joined = !inCurrent && f.blocks.find(pos) === undefined && f.fetches.find(pos) !== undefined;
    const { sync, background } = this.readAhead(pos, want, scan, inCurrent);
    if (sync.length === 0) this.fetchAhead(background);
    if (sync.length === 0 && inCurrent) return this.take(cur, pos, max, false, joined, into);
    return this.wait(pos, max, want, sync, background, joined, into);
  }

  private async wait(pos: number, max: number, want: number, sync: Span[], background: Span[], joined: boolean, into: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    const f = this.fetcher;
    // A miss joins the batch of this turn; its coverage holds the piece at `pos` even if that
    // request has already landed (or was streamed through) by the time this read resumes. The
    // background parts go out right after it (the part the read waits for is first on the wire).
    let batched: Coverage | undefined;
    if (sync.length > 0) {
      batched = await this.join(sync);
      this.fetchAhead(background);
    }
    let waited = batched !== undefined;
    for (let round = 0; ; round++) {
      this.ensureOpen('read');
      if (f.knownSize !== undefined && pos >= f.knownSize) return undefined;
      const cur = this.current;
      if (cur && this.inCurrent(pos)) return this.take(cur, pos, max, waited, joined, into);
      if (round > 3) throw new ReaderError('Unexpected', 'backend returned no bytes before the end of the object', this.context('read'), { code: 'EMPTY_READ' });
      const block = f.blocks.find(pos);
      if (block) {
        this.setCurrent(block.offset, block.part, block);
        continue;
      }
      const planned = batched?.pieces.find((p) => p.offset <= pos && pos < ('promise' in p ? p.end : pieceEnd(p)));
      batched = undefined;
      if (planned && !('promise' in planned)) {
        this.setCurrent(planned.offset, 'part' in planned ? (planned as Block).part : Part.of(planned.data), undefined);
        continue;
      }
      const fetch: Fetch | undefined = f.fetches.find(pos) ?? planned;
      if (!fetch) {
        // Read-ahead is off, or was refused room: fetch what this read asks for.
        const length = Math.min(Math.max(1, Math.min(want, f.blockCap)), (f.knownSize ?? Infinity) - pos);
        batched = await this.join([{ offset: pos, length }]);
        waited = true;
        continue;
      }
      waited = true;
      let data: Part;
      try {
        data = await fetch.landed;
      } catch (err) {
        if (isReaderError(err, 'RangeNotSatisfied')) return undefined; // at or past the end
        throw err;
      }
      this.ensureOpen('read');
      const landed = f.blocks.find(fetch.offset);
      if (landed && landed.part === data) this.setCurrent(fetch.offset, data, landed);
      else if (data.byteLength <= f.blockCap) this.setCurrent(fetch.offset, data, undefined);
      else {
        // Joined a request streamed through for a read larger than the budget: keep (pinned) one
        // block of it from the position, copied, so the big buffer is not held on our account.
        const from = pos - fetch.offset;
        this.setCurrent(pos, Part.of(new Uint8Array(data.data.subarray(from, from + f.blockCap))), undefined);
      }
    }
  }

  /** Lets go of the current block (the reader closed). */
  release(): void {
    if (this.current?.pinned) this.pool.unpin(this.current.part.byteLength);
    this.current = undefined;
  }
}
