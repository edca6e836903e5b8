/** A sorted index of disjoint spans: a reader's buffered blocks, and its fetches in flight. */

/**
 * Disjoint spans sorted by offset, for lookup by position: a reader's blocks (`endOf` = block end)
 * and its fetches in flight.
 */
export class SpanIndex<T extends { offset: number }> {
  private readonly items: T[] = [];

  constructor(private readonly endOf: (item: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  /** Index of the first item ending after `pos`. */
  private firstEndingAfter(pos: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.endOf(this.items[mid] as T) <= pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The item holding byte `pos`, if any. */
  find(pos: number): T | undefined {
    const item = this.items[this.firstEndingAfter(pos)];
    return item && item.offset <= pos ? item : undefined;
  }

  /** Offset of the first item starting after `pos` (Infinity if none). */
  nextStart(pos: number): number {
    let i = this.firstEndingAfter(pos);
    const item = this.items[i];
    if (item && item.offset <= pos) i++;
    return this.items[i]?.offset ?? Infinity;
  }

  /** Whether any item overlaps `[from, to)`. */
  overlaps(from: number, to: number): boolean {
    const item = this.items[this.firstEndingAfter(from)];
    return item !== undefined && item.offset < to;
  }

  /** The items overlapping `[from, to)`, in order. */
  within(from: number, to: number): T[] {
    const out: T[] = [];
    for (let i = this.firstEndingAfter(from); i < this.items.length && (this.items[i] as T).offset < to; i++) out.push(this.items[i] as T);
    return out;
  }

  /** Inserts an item that overlaps none already present. */
  insert(item: T): void {
    this.items.splice(this.firstEndingAfter(item.offset), 0, item);
  }

  remove(item: T): boolean {
    const i = this.items.indexOf(item, Math.max(0, this.firstEndingAfter(item.offset) - 1));
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  all(): readonly T[] {
    return this.items;
  }
}
