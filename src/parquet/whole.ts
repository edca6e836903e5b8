/**
 * Whole reads: what counts as one (no selection), and `readBatches()` of the whole file or of a
 * projection in one wave when what the open does not hold fits the budget comfortably. (The open's
 * side of whole reads, `expect: 'whole'`, is `openWindow` in open.ts.)
 */
import type { RecordBatch } from 'apache-arrow';
import { DEFAULT_MAX_MEMORY } from '../buffer-reader/pool.js';
import { ReaderError } from '../errors.js';
import { Deadline } from '../layers/timeouts.js';
import { DEFAULT_DECODE_TIMEOUT_MS, batchSelection, readBatches, type BatchSelection, type ReadTableOptions } from './decode.js';
import type { BoundFile } from './bound-file.js';
import type { PlanSelection, ReadPlan } from './planner.js';

/**
 * Share of the reader's memory budget up to which `readBatches()` fetches every byte of its
 * selection (with a filter: of the row groups it keeps) the open does not hold in one wave before
 * its first batch (32 MiB of the default 128 MiB): one round trip instead of one per row group (a 1.1 MB file of 75 row groups
 * after a plain open: 26 round trips), while the budget keeps those bytes with room for the
 * decoder's copies and read-ahead. Larger selections stream row group by row group.
 */
export const WHOLE_BATCHES_BUDGET_SHARE = 0.25;

/** Whether a selection reads every byte: no columns, row groups or filter. */
export function isWholeRead(selection: Pick<PlanSelection, 'columns' | 'rowGroups' | 'filter'>): boolean {
  return !selection.columns && !selection.rowGroups && !selection.filter;
}

/**
 * The one wave `readBatches` fetches before its first batch: for a whole read, the plan `readTable`
 * makes (every byte, the page index and the leading magic); otherwise the union of the per-row-group
 * plans it then makes: the selection's columns (with a filter, its columns too) of the row groups
 * left after pruning, and the page index. Undefined when no row group is left.
 */
export function batchesWave(bound: Pick<BoundFile, 'plan'>, opts: ReadTableOptions, selection: BatchSelection): ReadPlan | undefined {
  if (isWholeRead(opts)) return bound.plan({ pages: false, pageIndex: true, leadingMagic: true });
  if (selection.rowGroups.length === 0) return undefined;
  return bound.plan({ ...(selection.columns ? { columns: selection.columns } : {}), rowGroups: selection.rowGroups, pageIndex: true });
}

/**
 * `readBatches` of a bound file; with the missing bytes within WHOLE_BATCHES_BUDGET_SHARE of the
 * budget, those bytes come first in one wave (`batchesWave`), so the per-row-group plans find them
 * held: one round trip after the open, not one per row group the open does not hold (with a filter:
 * per row group it keeps). The wave is part of the first `next()`: a changed object found there is
 * found before anything is yielded.
 */
export async function* batchesOf(bound: BoundFile, opts: ReadTableOptions): AsyncGenerator<RecordBatch> {
  const selection = await batchSelection(bound, opts);
  const plan = batchesWave(bound, opts, selection);
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
  yield* readBatches(bound, opts, selection);
}
