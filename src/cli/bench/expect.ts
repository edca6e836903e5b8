/** What a read must cost at least: the bytes it needs and the round trips of the floor. */
import { columnChunkRanges } from '../../parquet/metadata.js';
import { openWindow } from '../../parquet/open.js';
import { planRead } from '../../parquet/planner.js';
import { planSelection, readsWhole, type FileLayout, type ReadSpec } from './readers.js';

export interface Expectation {
  /** The footer plus the planned column data (pages, when a page index prunes them). */
  bytesNeeded: number;
  /** 1 when everything fits the open's window, else 2 (the window, then one parallel wave). */
  floorRoundTrips: number;
}

/**
 * The floor for reading `s` from a file laid out as `layout`, with an open of `window` bytes: by
 * default the window an open that knows the read asks for (`openWindow`: the whole-read window for
 * a whole read, else the tail window).
 */
export function expectation(layout: FileLayout, s: ReadSpec, window = openWindow({ expect: readsWhole(s) ? 'whole' : 'part' })): Expectation {
  const { metadata, size, metadataLength } = layout;
  const footer = metadataLength + 8;
  const held = { offset: Math.max(0, size - window), length: Math.min(size, window) };
  if (s.metadataOnly) return { bytesNeeded: footer, floorRoundTrips: footer <= window ? 1 : 2 };
  const chunks = columnChunkRanges(metadata, size, metadataLength, {});
  const plan = planRead({ metadata, size, chunks, columns: (chunks[0] ?? []).map((c) => c.column), held }, planSelection(s));
  return { bytesNeeded: footer + plan.bytesNeeded, floorRoundTrips: plan.ranges.length === 0 ? 1 : 2 };
}
