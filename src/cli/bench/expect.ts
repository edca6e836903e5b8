/** What a read must cost at least: the bytes it needs and the round trips of the floor. */
import { DEFAULT_FOOTER_WINDOW } from '../../parquet/footer.js';
import { columnChunkRanges } from '../../parquet/metadata.js';
import { planRead } from '../../parquet/planner.js';
import { planSelection, type FileLayout, type ReadSpec } from './readers.js';

export interface Expectation {
  /** The footer plus the planned column data (pages, when a page index prunes them). */
  bytesNeeded: number;
  /** 1 when everything fits the open's tail window, else 2 (the tail, then one parallel wave). */
  floorRoundTrips: number;
}

/** The floor for reading `s` from a file laid out as `layout`, with an open of `window` bytes. */
export function expectation(layout: FileLayout, s: ReadSpec, window = DEFAULT_FOOTER_WINDOW): Expectation {
  const { metadata, size, metadataLength } = layout;
  const footer = metadataLength + 8;
  const held = { offset: Math.max(0, size - window), length: Math.min(size, window) };
  if (s.metadataOnly) return { bytesNeeded: footer, floorRoundTrips: footer <= window ? 1 : 2 };
  const chunks = columnChunkRanges(metadata, size, metadataLength, {});
  const plan = planRead({ metadata, size, chunks, columns: (chunks[0] ?? []).map((c) => c.column), held }, planSelection(s));
  return { bytesNeeded: footer + plan.bytesNeeded, floorRoundTrips: plan.ranges.length === 0 ? 1 : 2 };
}
