/**
 * A presigned GET URL for an S3 object, so the peers (hyparquet, parquet-wasm) can read a private
 * object with their own URL readers, as their users do.
 *
 * TEMPORARY HOME: issue 11 adds `s3Backend(...).presign(key, …)`; when it lands, `presignGet` should
 * call it and this file's signing code goes. Everything else reaches presigning through this one function.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3BackendOptions } from '../../backends/s3/backend.js';
import { createCredentialSource } from '../../backends/s3/credentials.js';
import { S3_SIGNING_SERVICE, Sha256, encodeQuery } from '../../backends/s3/signer.js';
import { objectTarget, resolveS3Location } from '../../backends/s3/url.js';

/**
 * How long a benchmark's presigned URL stays valid: 15 minutes (the AWS SDK presigner's default)
 * covers every reader of a `--runs` series on a slow store; a URL that leaks is dead soon after.
 */
export const BENCH_PRESIGN_SECONDS = 15 * 60;

/**
 * The URL of `key` in `options.bucket`, signed for GET with SigV4 query parameters (the payload
 * unsigned, as S3 presigned URLs are); for `anonymous` access, the plain URL. Only `host` is a signed
 * header, so the reader may add its own `Range`. A HEAD on this URL is refused (403): signatures
 * name the method.
 */
export async function presignGet(options: S3BackendOptions, key: string, expiresInSeconds = BENCH_PRESIGN_SECONDS): Promise<string> {
  const context = { backend: 's3', op: 'presign', path: key, bucket: options.bucket };
  const loc = resolveS3Location(
    {
      bucket: options.bucket,
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
      ...(options.env ? { env: options.env } : {}),
    },
    context,
  );
  const target = objectTarget(loc, key, context);
  const credentials = await createCredentialSource({
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.sessionToken !== undefined ? { sessionToken: options.sessionToken } : {}),
    ...(options.anonymous !== undefined ? { anonymous: options.anonymous } : {}),
    ...(options.loadCredentialChain ? { loadChain: options.loadCredentialChain } : {}),
  }).get(context);
  if (!credentials) return `${target.origin}${target.path}`;
  const signer = new SignatureV4({
    service: S3_SIGNING_SERVICE,
    region: loc.region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const hostname = target.host.replace(/:\d+$/, '');
  const port = /:(\d+)$/.exec(target.host)?.[1];
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: loc.endpoint.protocol,
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: target.path,
      query: {},
      headers: { host: target.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn: expiresInSeconds },
  );
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.query ?? {})) if (typeof v === 'string') query[k] = v;
  return `${target.origin}${target.path}${encodeQuery(query)}`;
}
