/**
 * Partition values as apache-arrow columns: each file's batches get one constant column per
 * partition field. apache-arrow is loaded on first use (hyparquet-only users never load it).
 */
import type { DataType, RecordBatch, Schema, Table } from 'apache-arrow';
import type { PartitionSchema, PartitionType, PartitionValue } from './hive.js';

type Arrow = typeof import('apache-arrow');

const INT32_MAX = 2 ** 31 - 1;

/** The arrow column type of a partition field (JSON-friendly, so a split can carry it). */
export type PartitionColumnType = 'int32' | 'int64' | 'date' | 'string';

/** Per partition field: Int32 (Int64 when some value of the dataset needs it), DateDay, Utf8. */
export function partitionColumnTypes(partitions: PartitionSchema, values: readonly Record<string, PartitionValue>[]): Record<string, PartitionColumnType> {
  const kinds: Record<PartitionType, (name: string) => PartitionColumnType> = {
    int: (name) => (values.every((v) => v[name] === null || Math.abs(v[name] as number) <= INT32_MAX) ? 'int32' : 'int64'),
    date: () => 'date',
    string: () => 'string',
  };
  return Object.fromEntries(partitions.fields.map((f) => [f.name, kinds[f.type](f.name)]));
}

/** The apache-arrow types of partition columns. */
export function arrowTypes(arrow: Arrow, kinds: Readonly<Record<string, PartitionColumnType>>): Map<string, DataType> {
  const make: Record<PartitionColumnType, () => DataType> = {
    int32: () => new arrow.Int32(),
    int64: () => new arrow.Int64(),
    date: () => new arrow.DateDay(),
    string: () => new arrow.Utf8(),
  };
  return new Map(Object.entries(kinds).map(([name, kind]) => [name, make[kind]()]));
}

function constant(arrow: Arrow, type: DataType, value: PartitionValue, length: number) {
  const v = value !== null && arrow.DataType.isInt(type) && (type as { bitWidth: number }).bitWidth === 64 ? BigInt(value as number) : value;
  return arrow.vectorFromArray(Array.from({ length }, () => v), type).data[0];
}

/** `batch` with a constant column per partition field in `names`, after the file's columns. */
export function withPartitions(arrow: Arrow, batch: RecordBatch, names: readonly string[], types: Map<string, DataType>, values: Readonly<Record<string, PartitionValue>>): RecordBatch {
  if (names.length === 0) return batch;
  const children: Record<string, unknown> = {};
  batch.schema.fields.forEach((f, i) => {
    children[f.name] = batch.getChildAt(i)?.data[0];
  });
  for (const name of names) children[name] = constant(arrow, types.get(name) as DataType, values[name] ?? null, batch.numRows);
  return new arrow.RecordBatch(children as unknown as ConstructorParameters<typeof arrow.RecordBatch>[0]);
}

/** A table with the partition columns added to every batch. */
export function tableWithPartitions(arrow: Arrow, table: Table, names: readonly string[], types: Map<string, DataType>, values: Readonly<Record<string, PartitionValue>>): Table {
  if (names.length === 0) return table;
  const batches = table.batches.map((b) => withPartitions(arrow, b, names, types, values));
  if (batches.length === 0) {
    const fields = [...table.schema.fields, ...names.map((n) => new arrow.Field(n, types.get(n) as DataType, true))];
    return new arrow.Table(new arrow.Schema(fields) as Schema);
  }
  return new arrow.Table(batches);
}

/** Tables of one schema, concatenated (an empty list gives an empty table). */
export function concatTables(arrow: Arrow, tables: readonly Table[]): Table {
  const nonEmpty = tables.filter((t) => t.batches.length > 0);
  if (nonEmpty.length === 0) return tables[0] ?? new arrow.Table();
  const [first, ...rest] = nonEmpty as [Table, ...Table[]];
  return first.concat(...rest);
}
