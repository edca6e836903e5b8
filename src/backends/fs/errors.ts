import { ReaderError, type ErrorContext } from '../../errors.js';

/** Maps a Node fs error (by `code`) to a ReaderError. */
export function mapFsError(err: unknown, context: ErrorContext): ReaderError {
  if (err instanceof ReaderError) return err.withContext(context);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ReaderError('NotFound', 'file not found', context, { code: 'NOT_FOUND', cause: err });
    case 'EACCES':
    case 'EPERM':
      return new ReaderError('PermissionDenied', 'permission denied', context, { code: 'ACCESS_DENIED', cause: err });
    case 'EISDIR':
      return new ReaderError('InvalidInput', 'path is a directory, not a file', context, { code: 'NOT_A_FILE', cause: err });
    case 'ELOOP':
      return new ReaderError('PermissionDenied', 'too many levels of symbolic links', context, { code: 'PATH_ESCAPE', cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EIO':
      return new ReaderError('Unavailable', `file system error ${code}`, context, { code: 'IO_ERROR', cause: err });
    default:
      return new ReaderError('Unexpected', err instanceof Error ? err.message : String(err), context, { code: 'INTERNAL', cause: err });
  }
}
