/**
 * A dataset's plan: the per-file plans of `ParquetSource.plan` (the one planner) summed, with what
 * the open cost (LIST pages, footer GETs). Pure: from plans to numbers.
 */
import { S3_GET_PRICE_USD, type ReadPlan } from '../parquet/planner.js';
import type { DatasetOpenStats } from './dataset.js';

/** S3 Standard LIST price: $0.005 per 1,000 requests (us-east-1), 12.5× a GET. */
export const S3_LIST_PRICE_USD = 0.005 / 1000;

export interface DatasetPlan {
  /** Files the selection reads. */
  files: number;
  /** Files dropped by partition values: at the open (no footer fetched) plus by this selection's filter. */
  prunedFiles: number;
  rowGroups: number;
  /** Row groups dropped by statistics. */
  prunedRowGroups: number;
  /** What the open cost: LIST pages (or the manifest GET) and footer GETs. */
  open: { listRequests: number; footerRequests: number; roundTrips: number };
  /** Data GETs the reads will make. */
  dataRequests: number;
  /** LIST + footer GETs + data GETs. */
  requests: number;
  /** Data bytes to fetch. */
  bytes: number;
  /**
   * Round trips of the reads: each file's data waves, `readConcurrency` files at a time (an estimate:
   * files finish at different times).
   */
  roundTrips: number;
  /** The LISTs and every GET (footers and data) on S3 Standard. */
  s3CostUsd: number;
  /** Each file's own plan. */
  perFile: { path: string; plan: ReadPlan }[];
}

export function sumPlans(
  perFile: { path: string; plan: ReadPlan }[],
  prunedNow: number,
  open: DatasetOpenStats,
  opts: { footerConcurrency: number; readConcurrency: number },
): DatasetPlan {
  let rowGroups = 0;
  let prunedRowGroups = 0;
  let dataRequests = 0;
  let bytes = 0;
  let fileTrips = 0;
  for (const { plan } of perFile) {
    rowGroups += plan.rowGroups.length;
    prunedRowGroups += plan.prunedRowGroups.length;
    dataRequests += plan.requestCount;
    bytes += plan.bytesToFetch;
    fileTrips += plan.roundTrips;
  }
  const openTrips = open.listRequests + Math.ceil(open.footerRequests / Math.max(1, opts.footerConcurrency));
  return {
    files: perFile.length,
    prunedFiles: open.prunedFiles + prunedNow,
    rowGroups,
    prunedRowGroups,
    open: { listRequests: open.listRequests, footerRequests: open.footerRequests, roundTrips: openTrips },
    dataRequests,
    requests: open.listRequests + open.footerRequests + dataRequests,
    bytes,
    roundTrips: Math.ceil(fileTrips / Math.max(1, opts.readConcurrency)),
    s3CostUsd: open.listRequests * S3_LIST_PRICE_USD + (open.footerRequests + dataRequests) * S3_GET_PRICE_USD,
    perFile,
  };
}
