/**
 * S3 ListObjectsV2: the query of one page and the parse of its XML answer. Keys are asked for with
 * `encoding-type=url` (a key may hold characters XML 1.0 cannot carry) and decoded here, as botocore
 * does (`+` is a space, `%XX` a UTF-8 byte).
 */
import { ReaderError, type ErrorContext } from '../../errors.js';
import { LIST_PAGE_SIZE } from '../../list.js';
import type { ListEntry, ListPage, ListPageOptions } from '../../types.js';

/** The decoded query parameters of one ListObjectsV2 request (the signer and the wire encode them). */
export function listQuery(prefix: string, opts: ListPageOptions = {}): Record<string, string> {
  return {
    'list-type': '2',
    'encoding-type': 'url',
    'max-keys': String(LIST_PAGE_SIZE),
    ...(prefix === '' ? {} : { prefix }),
    ...((opts.recursive ?? true) ? {} : { delimiter: '/' }),
    ...(opts.cursor === undefined ? {} : { 'continuation-token': opts.cursor }),
  };
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
}

/** A URL-encoded key as S3 sends it with `encoding-type=url`. */
export function decodeListedKey(raw: string, context: ErrorContext): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (err) {
    throw new ReaderError('Unexpected', `listing holds a key that is not valid URL encoding: ${JSON.stringify(raw.slice(0, 100))}`, context, { code: 'BAD_LISTING', cause: err });
  }
}

/**
 * One page out of a `ListBucketResult`. `Contents` become entries (size, ETag as sent, LastModified);
 * `CommonPrefixes` (non-recursive listings) are not objects and are left out. A truncated page
 * without a `NextContinuationToken` is a broken answer, not the end of the listing.
 */
export function parseListPage(xml: string, context: ErrorContext): ListPage {
  if (!xml.includes('<ListBucketResult')) {
    throw new ReaderError('Unexpected', 'ListObjectsV2 answered without a ListBucketResult', context, { code: 'BAD_LISTING' });
  }
  const encoded = tag(xml, 'EncodingType') === 'url';
  const entries: ListEntry[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const body = m[1] as string;
    const rawKey = tag(body, 'Key');
    const size = Number(tag(body, 'Size'));
    if (rawKey === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new ReaderError('Unexpected', 'ListObjectsV2 entry without a Key or a valid Size', context, { code: 'BAD_LISTING' });
    }
    const etag = tag(body, 'ETag');
    const modified = tag(body, 'LastModified');
    const lastModified = modified ? new Date(modified) : undefined;
    entries.push({
      path: encoded ? decodeListedKey(rawKey, context) : rawKey,
      size,
      ...(etag ? { etag } : {}),
      ...(lastModified && !Number.isNaN(lastModified.getTime()) ? { lastModified } : {}),
    });
  }
  const truncated = tag(xml, 'IsTruncated') === 'true';
  if (!truncated) return { entries };
  const next = tag(xml, 'NextContinuationToken');
  if (!next) throw new ReaderError('Unexpected', 'ListObjectsV2 page is truncated but has no NextContinuationToken', context, { code: 'BAD_LISTING' });
  return { entries, cursor: next };
}
