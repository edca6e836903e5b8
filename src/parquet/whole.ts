/**
 * Whole reads: what counts as one (no selection), and `readBatches()` of the whole file in one wave
 * when what the open does not hold fits the budget comfortably. (The open's side of whole reads,
 * `expect: 'whole'`, is `openWindow` in open.ts.)
 */
import type { RecordBatch } from 'apache-arrow';
import { DEFAULT_MAX_MEMORY } from '../buffer-reader/pool.js';
import { ReaderError } from '../errors.js';
import { Deadline } from '../layers/timeouts.js';
import { DEFAULT_DECODE_TIMEOUT_MS, readBatches, type ReadTableOptions } from './decode.js';
import type { BoundFile } from './open.js';
import type { PlanSelection } from './planner.js';

/**
 * Share of the reader's memory budget up to which `readBatches()` with no selection fetches every
 * byte the open does not hold in one wave before its first batch (32 MiB of the default 128 MiB):
 * one round trip instead of one per row group (a 1.1 MB file of 75 row groups after a plain open:
 * 26 round trips), while the budget keeps those bytes with room for the decoder's copies and
 * read-ahead. Larger files stream row group by row group, as selections do.
 */
export const WHOLE_BATCHES_BUDGET_SHARE = 0.25;

/** Whether a selection reads every byte: no columns, row groups or filter. */
export function isWholeRead(selection: Pick<PlanSelection, 'columns' | 'rowGroups' | 'filter'>): boolean {
  return !selection.columns && !selection.rowGroups && !selection.filter;
}

/**
 * `readBatches` of a bound file; with no selection and the missing bytes within
 * WHOLE_BATCHES_BUDGET_SHARE of the budget, those bytes come first in one wave (the plan `readTable`
 * makes), so the per-row-group plans find them held. The wave is part of the first `next()`: a
 * changed object found there is found before anything is yielded.
 */
export async function* batchesOf(bound: BoundFile, opts: ReadTableOptions): AsyncGenerator<RecordBatch> {
  if (isWholeRead(opts)) {
    const plan = bound.plan({ pages: false, pageIndex: true, leadingMagic: true });
    const budget = bound.reader.caps().maxMemory ?? DEFAULT_MAX_MEMORY;
    if (plan.bytesToFetch > 0 && plan.bytesToFetch <= WHOLE_BATCHES_BUDGET_SHARE * budget) {
      const context = { backend: bound.backend.kind, op: 'read', path: bound.path };
      // The caller's signal and time limit hold for the wave as for each decode after it.
      const guard = new Deadline(context, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeoutMs: opts.timeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS,
        timeoutError: (ms) => new ReaderError('Timeout', `reading the whole file did not finish within ${ms} ms`, context, { code: 'DECODER_TIMEOUT' }),
      });
      try {
        await guard.race(bound.prefetch(plan));
      } finally {
        guard.dispose();
      }
    }
  }
  yield* readBatches(bound, opts);
}
