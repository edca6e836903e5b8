import { ReaderError, type ErrorContext } from '../../errors.js';

/** The memory backend's only failures are its own; this keeps one mapping per backend. */
export function mapMemoryError(kind: 'NotFound' | 'ConditionNotMatch', context: ErrorContext): ReaderError {
  return kind === 'NotFound'
    ? new ReaderError('NotFound', 'object not found', context, { code: 'NOT_FOUND' })
    : new ReaderError('ConditionNotMatch', 'object changed: its ETag no longer matches If-Match', context, { code: 'ETAG_CHANGED' });
}
