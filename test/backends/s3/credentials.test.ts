import { describe, expect, it } from 'vitest';
import { createCredentialSource, S3_CREDENTIAL_REFRESH_MARGIN_MS } from '../../../src/backends/s3/credentials.js';
import type { S3Credentials } from '../../../src/backends/s3/signer.js';
import { ReaderError } from '../../../src/errors.js';

const MIN = 60_000;

function countingProvider(ttlMs: number | undefined, clock: { t: number }) {
  let calls = 0;
  const provider = async (): Promise<S3Credentials> => {
    calls++;
    return {
      accessKeyId: `AKIA${calls}`,
      secretAccessKey: `secret${calls}`,
      ...(ttlMs === undefined ? {} : { expiration: new Date(clock.t + ttlMs) }),
    };
  };
  return { provider, calls: () => calls };
}

describe('createCredentialSource', () => {
  it('uses explicit credentials as given, adds the sessionToken option, never loads the chain', async () => {
    let loads = 0;
    const src = createCredentialSource({
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' },
      sessionToken: 'tok',
      loadChain: async () => {
        loads++;
        throw new Error('not expected');
      },
    });
    expect(await src.get()).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 'tok' });
    expect(src.describe()).toBe('explicit credentials');
    expect(src.refreshable).toBe(false);
    expect(loads).toBe(0);
  });

  it('anonymous gives no credentials and never loads the chain', async () => {
    let loads = 0;
    const src = createCredentialSource({
      anonymous: true,
      loadChain: async () => {
        loads++;
        throw new Error('not expected');
      },
    });
    expect(await src.get()).toBeUndefined();
    expect(src.describe()).toBe('anonymous (unsigned requests)');
    expect(loads).toBe(0);
  });

  it('rejects incomplete explicit credentials and anonymous + credentials as InvalidInput', () => {
    expect(() => createCredentialSource({ credentials: { accessKeyId: '', secretAccessKey: 's' } })).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
    expect(() => createCredentialSource({ anonymous: true, credentials: { accessKeyId: 'a', secretAccessKey: 's' } })).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });

  it('caches a provider result and refreshes it once it is within the refresh margin of expiry', async () => {
    const clock = { t: 1_000_000 };
    const p = countingProvider(60 * MIN, clock);
    const src = createCredentialSource({ credentials: p.provider, now: () => clock.t });
    expect((await src.get())?.accessKeyId).toBe('AKIA1');
    clock.t += 50 * MIN; // 10 minutes left: still fresh
    expect((await src.get())?.accessKeyId).toBe('AKIA1');
    expect(p.calls()).toBe(1);
    clock.t += 6 * MIN; // 4 minutes left: inside the 5-minute margin
    expect(S3_CREDENTIAL_REFRESH_MARGIN_MS).toBe(5 * MIN);
    expect((await src.get())?.accessKeyId).toBe('AKIA2');
    expect(p.calls()).toBe(2);
  });

  it('keeps credentials without an expiration, and fetches again after invalidate()', async () => {
    const clock = { t: 0 };
    const p = countingProvider(undefined, clock);
    const src = createCredentialSource({ credentials: p.provider, now: () => clock.t });
    await src.get();
    clock.t += 365 * 24 * 60 * MIN;
    await src.get();
    expect(p.calls()).toBe(1);
    src.invalidate();
    expect((await src.get())?.accessKeyId).toBe('AKIA2');
  });

  it('shares one fetch among concurrent callers', async () => {
    const clock = { t: 0 };
    const p = countingProvider(60 * MIN, clock);
    const src = createCredentialSource({ credentials: p.provider, now: () => clock.t });
    const all = await Promise.all(Array.from({ length: 20 }, () => src.get()));
    expect(new Set(all.map((c) => c?.accessKeyId))).toEqual(new Set(['AKIA1']));
    expect(p.calls()).toBe(1);
  });

  it('loads the default chain once, on first use, and names the provider that answered', async () => {
    let loads = 0;
    let calls = 0;
    const src = createCredentialSource({
      loadChain: async () => {
        loads++;
        return async () => {
          calls++;
          return Object.assign({ accessKeyId: 'AKIAENV', secretAccessKey: 's' }, { $source: { CREDENTIALS_ENV_VARS: 'g' } });
        };
      },
    });
    expect(loads).toBe(0);
    expect(src.describe()).toBe('credentials from the default AWS chain');
    await src.get();
    await src.get();
    expect([loads, calls]).toEqual([1, 1]);
    expect(src.describe()).toBe('credentials from environment');
  });

  it('turns a chain that finds nothing into PermissionDenied with a hint, and tries again next time', async () => {
    let calls = 0;
    const src = createCredentialSource({
      loadChain: async () => async () => {
        calls++;
        throw new Error('Could not load credentials from any providers');
      },
    });
    const err = await src.get({ backend: 's3', op: 'read', path: 'k' }).then(
      () => undefined,
      (e: unknown) => e as ReaderError,
    );
    expect(err).toBeInstanceOf(ReaderError);
    expect([err?.kind, err?.code]).toEqual(['PermissionDenied', 'CREDENTIALS_MISSING']);
    expect(err?.message).toContain('default AWS chain'); // names the source, and the way out:
    expect(err?.message).toContain('anonymous: true');
    expect(err?.context.path).toBe('k');
    await src.get().catch(() => undefined);
    expect(calls).toBe(2);
  });
});
