export type {
  Backend,
  BackendCapabilities,
  ByteRange,
  ListEntry,
  ListOptions,
  ListPage,
  ListPageOptions,
  ObjectMeta,
  ReadOptions,
  ReadResponse,
  ResolvedRange,
  StatOptions,
  WireRequest,
} from './types.js';
export { versionDifference, type ObjectVersion } from './version.js';
export {
  statOverHttp,
  forgetHeadRefusals,
  headRefused,
  objectMetaFromHeaders,
  HEAD_REFUSED_STATUSES,
  HEAD_REFUSED_MEMORY,
  STAT_RANGE_HEADER,
  type StatOverHttp,
  type StatResponse,
} from './backends/stat.js';
export { ReaderError, isReaderError, hasErrorCode, READER_ERROR_CODES, type ErrorContext, type ReaderErrorCode, type ReaderErrorKind } from './errors.js';
export { collectBody } from './body.js';
export { LIST_PAGE_SIZE, listAll, listFromPages } from './list.js';
export { memoryBackend, type MemoryBackend } from './backends/memory/backend.js';
export type { HttpBackendOptions } from './backends/http/backend.js';
export { fetchBackend, type FetchBackendOptions } from './backends/fetch/backend.js';
export { CORS_EXPOSE_HEADERS } from './backends/fetch/errors.js';
export { backendFromUrl, type BackendAndPath, type BackendFromUrlOptions } from './backends/url.js';
export {
  withMetrics,
  countRoundTrips,
  type Metrics,
  type MetricsSnapshot,
  type MeteredBackend,
  type RequestRecord,
} from './layers/metrics.js';
export { withLimit, type LimitOptions } from './layers/limit.js';
export { withThrottle, type ThrottleOptions } from './layers/throttle.js';
export { RangeReader, RANGE_READER_SKIP_LIMIT, type RangeReaderOptions, type RangeReaderState } from './range-reader/range-reader.js';
export { SeekFrom } from './range-reader/seek-from.js';
export { s3Backend, type PresignOptions, type S3Backend, type S3BackendOptions } from './backends/s3/backend.js';
export { PRESIGN_MAX_EXPIRES_SECONDS } from './backends/s3/signer.js';
export { S3_DEFAULT_REGION, isDnsCompatibleBucket, encodeKey as encodeS3Key } from './backends/s3/url.js';
export { S3_CREDENTIAL_REFRESH_MARGIN_MS, type S3CredentialsInput } from './backends/s3/credentials.js';
export type { S3Credentials } from './backends/s3/signer.js';
export { BufferReader, DEFAULT_CONCURRENCY, type BufferReaderOptions, type BufferReaderStats } from './buffer-reader/buffer-reader.js';
export { BufferPool, DEFAULT_MAX_MEMORY, type BufferPoolOptions, type PoolMemory } from './buffer-reader/pool.js';
export {
  coalesceRanges,
  dropContained,
  mergeRanges,
  planRequests,
  sortRanges,
  splitRange,
  unionRanges,
  type CoalesceOptions,
  type PlanOptions,
  type PlannedRequest,
  type RequestPlan,
  type Span,
} from './buffer-reader/coalesce.js';
export {
  CostModel,
  DEFAULT_BYTES_PER_SECOND,
  DEFAULT_GAP,
  DEFAULT_MAX_RANGE_SIZE,
  DEFAULT_TTFB_MS,
  MAX_IDEAL_REQUEST_SIZE,
  gapFor,
  maxRangeSizeFor,
  type CostModelOptions,
  type CostModelSnapshot,
  type RequestSample,
} from './buffer-reader/cost-model.js';
export { READAHEAD_INITIAL, READAHEAD_MAX } from './buffer-reader/readahead.js';
export { COPY_BELOW_FRACTION } from './buffer-reader/assemble.js';
export {
  openParquet,
  ParquetSource,
  type OpenParquetOptions,
  type ReadExpectation,
  type RowGroupInfo,
} from './parquet/source.js';
export { openWindow } from './parquet/open.js';
export { isWholeRead, WHOLE_BATCHES_BUDGET_SHARE } from './parquet/whole.js';
export {
  planRead,
  DEFAULT_PLAN_CONCURRENCY,
  S3_GET_PRICE_USD,
  type ParquetLayout,
  type PlanOptions as ReadPlanOptions,
  type PlanSelection,
  type ReadPlan,
} from './parquet/planner.js';
export { rowGroupMayMatch, type ColumnFilter, type RowGroupFilter } from './parquet/filter.js';
export { toQueryFilter, toPruningFilter, valueKind, columnKind, type ReadFilter, type ValueKind } from './parquet/row-filter.js';
export { keepMatching, loadHeldIndexes, PAGE_INDEX_RIDE_ALONG_SHARE, type IndexHolder } from './parquet/filtered-read.js';
export { bloomMayMatch, bloomRanges, parseBlooms, type BloomFilter, type BloomIndex, type BloomRange } from './parquet/bloom.js';
export type { RowStages } from './parquet/row-estimate.js';
export { DEFAULT_FOOTER_WINDOW, readTail, type FooterOptions, type Tail } from './parquet/footer.js';
export { columnChunkRanges, type ColumnChunkRange } from './parquet/metadata.js';
export { readFooterLayout, type MetadataLayout, type RowGroupLayout, type ColumnChunkLayout, type ColumnMetaDataLayout, type ThriftInt } from './parquet/footer-layout.js';
export { createMetadataCache, sharedMetadataCache, metadataCacheKey, DEFAULT_METADATA_CACHE_BYTES, type CachedFooter, type MetadataCache } from './parquet/cache.js';
export { DEFAULT_DECODE_TIMEOUT_MS, readBatches, readTable, type DecodeSource, type DecodeTimings, type ReadTableOptions } from './parquet/decode.js';
export { initParquetWasm, type ParquetWasmSource } from './parquet/decode-page.js';
export { toAsyncBuffer } from './adapters/hyparquet.js';
export { toParquetWasmBlob, type BlobLike, type WasmBlobOptions } from './adapters/parquet-wasm.js';
export { arrowFileHandle, type ArrowFileHandle, type SizedReader } from './adapters/arrow-ipc.js';
export type { RandomAccess } from './adapters/random-access.js';
export {
  withRetry,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  RETRY_MAX_ATTEMPTS,
  RETRY_STALL_MS,
  RETRY_TOTAL_MS,
  DNS_RETRIES,
  nextDelay,
  type AttemptHistory,
  type RetryDecision,
  type RetryPolicy,
  type RetryCounters,
  type RetryEvent,
  type RetryOptions,
  type RetryingBackend,
} from './layers/retry.js';
export type { Value as FilterValue } from './parquet/filter.js';
export type { SpreadOptions, WaveMergeOptions } from './buffer-reader/coalesce.js';
export { spreadRequests, mergeForWave } from './buffer-reader/coalesce.js';
export { MIN_SPREAD_PART, SMALL_GAP, minPartFor } from './buffer-reader/cost-model.js';
export type { MemoryBackendOptions } from './backends/memory/backend.js';
export type { Block } from './buffer-reader/pool.js';
export type { ReadObjectsOptions } from './parquet/source.js';
export type { ReaderErrorOptions } from './errors.js';
export type { ChainLoader } from './backends/s3/credentials.js';
export { parsePageIndex, matchingRows, chunkRangesForRows, type PageIndex, type ChunkPageIndex, type RowRanges } from './parquet/page-index.js';
export {
  openDataset,
  Dataset,
  DATASET_READ_CONCURRENCY,
  type DatasetFile,
  type DatasetOpenStats,
  type DatasetSelection,
  type OpenDatasetOptions,
} from './dataset/dataset.js';
export { DATASET_FOOTER_CONCURRENCY, DATASET_FOOTER_WINDOW } from './dataset/footers.js';
export { DATASET_SUFFIX, isDataFile, parseManifest, type DatasetEntry, type DatasetInput } from './dataset/files.js';
export { HIVE_DEFAULT_PARTITION, hiveSegments, type Partitioning, type PartitionSchema, type PartitionType, type PartitionValue } from './dataset/hive.js';
export { S3_LIST_PRICE_USD, type DatasetPlan } from './dataset/plan.js';
export { DEFAULT_SPLIT_BYTES, SPLIT_VERSION, readSplit, readSplitBatches, type DatasetSplit, type ReadSplitOptions, type SplitOptions, type SplitPartition } from './dataset/splits.js';
export type { PartitionColumnType } from './dataset/arrow.js';
export { CONNECTIONS_PER_ORIGIN, READERS_PER_POOL } from './connections.js';
export { planWave, requestCap, type Wave, type WaveCaps } from './buffer-reader/wave.js';
export { mapRequests } from './buffer-reader/coalesce.js';
export { DEFAULT_BATCH_WINDOW_MS } from './buffer-reader/batch.js';
export type { ReadCallOptions } from './buffer-reader/buffer-reader.js';
export type { PlanModel } from './parquet/planner.js';
export { SpanIndex } from './buffer-reader/span-index.js';
export { openAsyncBuffer, openBlob, type DropIn, type DropInAsyncBuffer, type DropInBlob, type OpenBlobOptions } from './parquet/dropin.js';
export { openArrowFileHandle, type OpenArrowOptions, type OpenedArrowFile } from './arrow/open.js';
export { parseArrowFooter, type ArrowFooter } from './arrow/footer.js';
export { readSuffix, extendSuffix, type Suffix } from './parquet/footer.js';
