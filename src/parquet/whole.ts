/**
 * Whole reads: what counts as one (no selection), and `readBatches()` of the whole file or of a
 * projection in one wave when what the open does not hold fits the budget comfortably. (The open's
 * side of whole reads, `expect: 'whole'`, is `openWindow` in open.ts.)
 */
import type { RecordBatch } from 'apache-arrow';
import { DEFAULT_MAX_MEMORY } from '../buffer-reader/pool.js';
import { ReaderError } from '../errors.js';
import { Deadline } from '../layers/timeouts.js';
import { DEFAULT_DECODE_TIMEOUT_MS, readBatches, type ReadTableOptions } from './decode.js';
import type { BoundFile } from './open.js';
import type { PlanSelection, ReadPlan } from './planner.js';

/**
 * Share of the reader's memory budget up to which `readBatches()` without a filter fetches every
 * byte of its selection the open does not hold in one wave before its first batch (32 MiB of the
 * default 128 MiB): one round trip instead of one per row group (a 1.1 MB file of 75 row groups
 * after a plain open: 26 round trips), while the budget keeps those bytes with room for the
 * decoder's copies and read-ahead. Larger selections stream row group by row group, as filtered
 * reads do.
 */
export const WHOLE_BATCHES_BUDGET_SHARE = 0.25;

/** Whether a selection reads every byte: no columns, row groups or filter. */
export function isWholeRead(selection: Pick<PlanSelection, 'columns' | 'rowGroups' | 'filter'>): boolean {
  return !selection.columns && !selection.rowGroups && !selection.filter;
}

/**
 * The one wave `readBatches` fetches before its first batch: for a whole read, the plan `readTable`
 * makes (every byte, the page index and the leading magic); for a projection (columns and/or row
 * groups, no filter), the union of the per-row-group plans it then makes (the selected chunks and the
 * page index). A filter's row groups are known only once it is prepared (inside `readBatches`): none.
 */
export function batchesWave(bound: Pick<BoundFile, 'plan'>, opts: ReadTableOptions): ReadPlan | undefined {
  if (opts.filter) return undefined;
  if (isWholeRead(opts)) return bound.plan({ pages: false, pageIndex: true, leadingMagic: true });
  return bound.plan({ ...(opts.columns ? { columns: opts.columns } : {}), ...(opts.rowGroups ? { rowGroups: opts.rowGroups } : {}), pageIndex: true });
}

/**
 * `readBatches` of a bound file; without a filter and with the missing bytes within
 * WHOLE_BATCHES_BUDGET_SHARE of the budget, those bytes come first in one wave (`batchesWave`), so
 * the per-row-group plans find them held: one round trip after the open, not one per row group the
 * open does not hold. The wave is part of the first `next()`: a changed object found there is found
 * before anything is yielded.
 */
export async function* batchesOf(bound: BoundFile, opts: ReadTableOptions): AsyncGenerator<RecordBatch> {
  const plan = batchesWave(bound, opts);
  const budget = bound.reader.caps().maxMemory ?? DEFAULT_MAX_MEMORY;
  if (plan && plan.bytesToFetch > 0 && plan.bytesToFetch <= WHOLE_BATCHES_BUDGET_SHARE * budget) {
    const context = { backend: bound.backend.kind, op: 'read', path: bound.path };
    // The caller's signal and time limit hold for the wave as for each decode after it.
    const guard = new Deadline(context, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      timeoutMs: opts.timeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS,
      timeoutError: (ms) => new ReaderError('Timeout', `reading the selection did not finish within ${ms} ms`, context, { code: 'DECODER_TIMEOUT' }),
    });
    try {
      await guard.race(bound.prefetch(plan));
    } finally {
      guard.dispose();
    }
  }
  yield* readBatches(bound, opts);
}
