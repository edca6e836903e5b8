/**
 * Where an S3 backend's credentials come from: explicit keys, a caller's provider function, the AWS
 * default chain, or none (anonymous). Each source describes itself in words for error messages
 * ("explicit credentials", "credentials from environment"), never by the secret or the token.
 */
import { ReaderError, type ErrorContext } from '../../errors.js';
import type { S3Credentials } from './signer.js';
import { runtime } from '../../runtime.js';

/**
 * Temporary credentials are refreshed when they expire within this margin: a request signed now must
 * still be valid when S3 checks it (after queueing and a slow upload), and 5 minutes is the margin the
 * AWS SDKs use (`credentialsTreatedAsExpired`), so we never hand out keys the SDK itself would renew.
 */
export const S3_CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;

/** Credentials, or a function that fetches (and may renew) them. */
export type S3CredentialsInput = S3Credentials | (() => Promise<S3Credentials>);

export interface CredentialSource {
  /** `explicit credentials`, `anonymous (unsigned requests)`, `credentials from environment`, ... */
  describe(): string;
  /** The credentials to sign with; undefined for anonymous access. Cached until near expiry. */
  get(context?: ErrorContext): Promise<S3Credentials | undefined>;
  /** Forgets cached credentials (after S3 said ExpiredToken); the next `get` fetches anew. */
  invalidate(): void;
  /** Whether fetching again can give different credentials (a provider, the default chain). */
  readonly refreshable: boolean;
}

/** What loads the default chain; a dynamic import so explicit or anonymous users never load it. */
export type ChainLoader = () => Promise<() => Promise<S3Credentials>>;

export interface CredentialSourceOptions {
  credentials?: S3CredentialsInput;
  /** Added to explicit credentials that have none of their own. */
  sessionToken?: string;
  anonymous?: boolean;
  /** Replaces the default chain loader (tests). */
  loadChain?: ChainLoader;
  /** Clock (tests). */
  now?: () => number;
}

/** The chain the Node entry installs; elsewhere there is none (pass credentials, or use presigned URLs). */
const defaultChainLoader: ChainLoader = async () => {
  if (!runtime.credentialChain) {
    throw new ReaderError(
      'PermissionDenied',
      'the AWS default credential chain needs Node: pass s3Backend({ credentials }) (or a provider function), anonymous: true, or read presigned URLs with fetchBackend',
      {},
      { code: 'CREDENTIALS_MISSING' },
    );
  }
  return runtime.credentialChain();
};

/** Names the provider that produced SDK credentials (the SDK tags them with `$source`). */
function describeChainResult(creds: S3Credentials): string {
  const tags = Object.keys((creds as { $source?: Record<string, unknown> }).$source ?? {}).join(' ');
  if (/WEB_ID/.test(tags)) return 'web identity token credentials';
  if (/ENV_VARS/.test(tags)) return 'credentials from environment';
  if (/SSO/.test(tags)) return 'SSO credentials';
  if (/PROCESS/.test(tags)) return 'credential_process credentials';
  if (/PROFILE/.test(tags)) return 'credentials from shared config profile';
  if (/HTTP|CONTAINER/.test(tags)) return 'container credentials';
  if (/IMDS/.test(tags)) return 'instance metadata credentials';
  return 'credentials from the default AWS chain';
}

function checkCredentials(creds: unknown, what: string, context: ErrorContext): S3Credentials {
  const c = creds as Partial<S3Credentials> | undefined;
  if (!c || typeof c.accessKeyId !== 'string' || !c.accessKeyId || typeof c.secretAccessKey !== 'string' || !c.secretAccessKey) {
    throw new ReaderError('InvalidInput', `${what} need a non-empty accessKeyId and secretAccessKey`, context, { code: 'INVALID_ARGUMENT' });
  }
  return c as S3Credentials;
}

/**
 * Builds the credential source for an S3 backend:
 * - `anonymous: true` → unsigned requests (public buckets);
 * - `credentials` object → used as given (plus `sessionToken`);
 * - `credentials` function → called, cached, called again when the result nears its `expiration`;
 * - nothing → the AWS default chain (env, shared config/profile, SSO, web identity, container,
 *   instance metadata), loaded on first use, cached and refreshed the same way.
 */
export function createCredentialSource(opts: CredentialSourceOptions = {}): CredentialSource {
  const now = opts.now ?? Date.now;
  if (opts.anonymous) {
    if (opts.credentials) throw new ReaderError('InvalidInput', 'anonymous: true and credentials are mutually exclusive', {}, { code: 'INVALID_ARGUMENT' });
    return { describe: () => 'anonymous (unsigned requests)', get: async () => undefined, invalidate: () => undefined, refreshable: false };
  }
  const given = opts.credentials;
  if (given !== undefined && typeof given !== 'function') {
    const fixed = checkCredentials(given, 'explicit credentials', {});
    const creds: S3Credentials = { ...fixed };
    if (!creds.sessionToken && opts.sessionToken) creds.sessionToken = opts.sessionToken;
    return { describe: () => 'explicit credentials', get: async () => creds, invalidate: () => undefined, refreshable: false };
  }

  const fromChain = given === undefined;
  const loadChain = opts.loadChain ?? defaultChainLoader;
  let provider: (() => Promise<S3Credentials>) | undefined = given;
  let cached: S3Credentials | undefined;
  let pending: Promise<S3Credentials> | undefined;
  let label = fromChain ? 'credentials from the default AWS chain' : 'credentials from the provider function';

  const fresh = (c: S3Credentials) => c.expiration === undefined || c.expiration.getTime() - now() > S3_CREDENTIAL_REFRESH_MARGIN_MS;

  async function fetchCredentials(context: ErrorContext): Promise<S3Credentials> {
    try {
      provider ??= await loadChain();
      const creds = checkCredentials(await provider(), label, context);
      if (fromChain) label = describeChainResult(creds);
      return creds;
    } catch (err) {
      if (err instanceof ReaderError) throw err.withContext(context);
      const why = err instanceof Error ? err.message : String(err);
      const hint = fromChain ? ' (set credentials, or anonymous: true for a public bucket)' : '';
      throw new ReaderError('PermissionDenied', `cannot get ${label}: ${why}${hint}`, { ...context, credentials: label }, { code: 'CREDENTIALS_MISSING', cause: err });
    }
  }

  return {
    describe: () => label,
    refreshable: true,
    invalidate() {
      cached = undefined;
    },
    async get(context = {}) {
      if (cached && fresh(cached)) return cached;
      // One fetch at a time: concurrent requests share it instead of stampeding the chain (IMDS).
      pending ??= fetchCredentials(context).finally(() => {
        pending = undefined;
      });
      const creds = await pending;
      cached = creds;
      return creds;
    },
  };
}
