/**
 * Counting the peers' requests on our side: a `fetch` that records every request it sends the way
 * `withMetrics` records ours (method, range, status, body bytes, start, first byte, end), so both
 * kinds of reader are measured with one ruler and drawn in one waterfall.
 *
 * hyparquet takes a `fetch` option; parquet-wasm calls the global `fetch` from its WebAssembly glue,
 * so `withGlobalFetch` swaps it in for the duration of one call (readers run one at a time).
 */
import { ReaderError, redactUrl } from '../../errors.js';
import { countRoundTrips, type MetricsSnapshot, type RequestRecord } from '../../layers/metrics.js';
import type { ByteRange } from '../../types.js';

export interface CountingFetch {
  fetch: typeof globalThis.fetch;
  snapshot(): MetricsSnapshot;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` as a ByteRange; undefined for anything else (no range, multi-range). */
export function parseRangeRequest(header: string | null): ByteRange | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b !== '') return { suffix: Number(b) };
  if (a === '') return undefined;
  return b === '' ? { offset: Number(a) } : { offset: Number(a), length: Number(b) - Number(a) + 1 };
}

/**
 * Wraps `inner` (default: the global fetch as it is when this is called). A request counts as a HEAD when its method
 * is HEAD and as a GET otherwise; its body bytes are counted as the caller reads them, and it ends
 * when the body is done, cancelled or failed (a body nobody reads ends at its headers).
 */
export function countingFetch(inner?: typeof globalThis.fetch): CountingFetch {
  // Taken now: inside withGlobalFetch the global is this wrapper itself.
  const send = inner ?? globalThis.fetch.bind(globalThis);
  const records: RequestRecord[] = [];
  const now = () => performance.now();

  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const rangeHeader = request.headers.get('range');
    const range = parseRangeRequest(rangeHeader);
    const rec: RequestRecord = {
      op: request.method === 'HEAD' ? 'HEAD' : 'GET',
      path: redactUrl(request.url),
      ...(range ? { range } : {}),
      ...(rangeHeader ? { rangeHeader } : {}),
      status: 'ok',
      bytes: 0,
      delivered: 0,
      bytesRequested: range && 'suffix' in range ? range.suffix : (range?.length ?? 0),
      start: now(),
      end: 0,
      open: true,
    };
    records.push(rec);
    let res: Response;
    try {
      res = await send(request);
    } catch (err) {
      rec.status = 'Unexpected';
      rec.end = rec.firstByte = now();
      rec.open = false;
      throw err;
    }
    rec.status = res.status;
    rec.firstByte = rec.end = now();
    const finish = () => {
      if (!rec.open) return;
      rec.end = now();
      rec.open = false;
    };
    if (!res.body) {
      finish();
      return res;
    }
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } catch (err) {
          finish();
          throw err;
        }
        if (step.done) {
          finish();
          controller.close();
          return;
        }
        rec.bytes += step.value.byteLength;
        rec.delivered += step.value.byteLength;
        rec.end = now();
        controller.enqueue(step.value);
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    // An open-ended range "requests" what it got, as in withMetrics.
    if (range && !('suffix' in range) && range.length === undefined) rec.bytesRequested = Number(res.headers.get('content-length') ?? 0);
    const counted = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    // A constructed Response has no URL; parquet-wasm's HTTP client parses it (and panics on '').
    Object.defineProperty(counted, 'url', { value: res.url });
    Object.defineProperty(counted, 'redirected', { value: res.redirected });
    return counted;
  };

  return {
    fetch,
    snapshot() {
      const requests = records.map((r) => ({ ...r }));
      const gets = requests.filter((r) => r.op === 'GET').length;
      return {
        gets,
        heads: requests.length - gets,
        lists: 0, // peers read one object: no listing
        bytesRequested: requests.reduce((n, r) => n + r.bytesRequested, 0),
        bytesReceived: requests.reduce((n, r) => n + r.bytes, 0),
        // fetch shows only what the body yields: what crossed the wire and what was delivered are one.
        bytesDelivered: requests.reduce((n, r) => n + r.delivered, 0),
        rangesIgnored: requests.filter((r) => r.rangeIgnored).length,
        roundTrips: countRoundTrips(requests),
        requests,
      };
    },
  };
}

let swapped = false;

/**
 * Runs `fn` with `globalThis.fetch` replaced by `fetch`, then puts the original back. Not reentrant
 * (one global): a second swap while one is active is refused rather than mixing two readers' counts.
 */
export async function withGlobalFetch<T>(fetch: typeof globalThis.fetch | undefined, fn: () => Promise<T>): Promise<T> {
  if (!fetch) return fn();
  if (swapped) throw new ReaderError('Unexpected', 'withGlobalFetch: another reader is already running with a swapped global fetch', {}, { code: 'INTERNAL' });
  const original = globalThis.fetch;
  swapped = true;
  globalThis.fetch = fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = original;
    swapped = false;
  }
}
