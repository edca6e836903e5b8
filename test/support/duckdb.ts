/**
 * DuckDB as the independent reference for datasets: it writes a hive-partitioned folder
 * (`COPY … PARTITION_BY`) and answers queries on it with `read_parquet(…, hive_partitioning = true)`.
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Runs one query and returns its rows as JSON-friendly objects (BIGINT and DECIMAL as strings). */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Rows of the test dataset: 4,320 rows over 108 partitions (year × day × region), 40 rows (contiguous ids) a file. */
export const HIVE_ROWS = 108 * 40;

/**
 * Writes the test dataset under `dir`: `year=<int>/day=<date>/region=<string>/data_0.parquet`, the
 * region NULL (`__HIVE_DEFAULT_PARTITION__`), `eu`, or `ap west/x=1` (URL-encoded by DuckDB); plus the litter of real writers (`_SUCCESS`, `.crc`) that must be skipped.
 */
export async function writeHiveDataset(dir: string): Promise<void> {
  await duckQuery(
    `COPY (SELECT i AS id, (i * 0.5)::DOUBLE AS value, 'n' || i AS name, 2022 + (f % 3) AS year,
       CAST(DATE '2024-01-01' + INTERVAL ((f // 3) % 12) MONTH AS DATE) AS day,
       [NULL, 'eu', 'ap west/x=1'][1 + (f // 36) % 3] AS region
     FROM (SELECT i, i // 40 AS f FROM range(0, ${HIVE_ROWS}) t(i))) TO '${dir}' (FORMAT parquet, PARTITION_BY (year, day, region))`,
  );
}

/** DuckDB's read of the dataset under `dir`. */
export const hiveSource = (dir: string) => `read_parquet('${dir}/**/*.parquet', hive_partitioning = true)`;
