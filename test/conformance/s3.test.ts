/**
 * The conformance suite over S3 on a real moto server with signature checking on (auth mode): every
 * request the backend sends must carry a valid SigV4 signature from the IAM key moto issued.
 * Three fixtures: path-style addressing with objects uploaded by our own signed PUT; the same over
 * https (moto's self-signed certificate); virtual-hosted addressing (`bucket.localhost:port`) with
 * objects uploaded by boto3.
 */
import { describe } from 'vitest';
import { Agent } from 'undici';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { requireMotoInCi, startMoto } from '../support/moto.js';
import { describeConformance } from './suite.js';

const ok = requireMotoInCi('test/conformance/s3.test.ts');

/** Resolves every host name to 127.0.0.1, so `bucket.localhost` reaches moto (virtual-hosted addressing). */
export function loopbackDispatcher(): Agent {
  return new Agent({
    connect: {
      lookup: (_host: string, _opts: unknown, cb: (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void) =>
        cb(null, [{ address: '127.0.0.1', family: 4 }]),
    },
  });
}

describe.skipIf(!ok)('s3 over moto', () => {
  describeConformance('s3 (moto, no auth: listing by prefixes with / and =)', async () => {
    const moto = await startMoto();
    await moto.createBucket('open');
    return {
      backend: s3Backend({ bucket: 'open', endpoint: moto.endpoint, region: moto.region, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'unchecked' }, env: {} }),
      kind: 's3',
      put: async (key, data) => void (await moto.put('open', key, data)),
      pathOf: (key) => key,
      teardown: () => moto.stop(),
    };
  });

  describeConformance('s3 (moto, auth)', async () => {
    const moto = await startMoto({ auth: true });
    await moto.createBucket('conformance');
    return {
      backend: s3Backend({
        bucket: 'conformance',
        endpoint: moto.endpoint,
        region: moto.region,
        credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
        env: {},
      }),
      kind: 's3',
      slashInQueryRejected: true,
      put: async (key, data) => void (await moto.put('conformance', key, data)),
      pathOf: (key) => key,
      teardown: () => moto.stop(),
    };
  });

  describeConformance('s3 (moto, auth, https endpoint)', async () => {
    const moto = await startMoto({ auth: true, ssl: true });
    await moto.createBucket('tls');
    const backend = s3Backend({
      bucket: 'tls',
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
      dispatcher: moto.dispatcher,
      env: {},
    });
    if (!backend.endpoint.startsWith('https://') || !backend.pathStyle) throw new Error('expected an https endpoint, path style');
    return {
      backend,
      kind: 's3',
      slashInQueryRejected: true,
      put: async (key, data) => void (await moto.put('tls', key, data)),
      pathOf: (key) => key,
      teardown: () => moto.stop(),
    };
  });

  describeConformance('s3 (moto, auth, virtual-hosted, boto3 uploads)', async () => {
    const moto = await startMoto({ auth: true });
    await moto.putWithBoto3('vhost', [], true);
    const dispatcher = loopbackDispatcher();
    const backend = s3Backend({
      bucket: 'vhost',
      endpoint: `http://localhost:${moto.port}`,
      forcePathStyle: false,
      region: moto.region,
      credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
      dispatcher,
      env: {},
    });
    if (backend.pathStyle) throw new Error('expected virtual-hosted addressing');
    return {
      backend,
      kind: 's3',
      slashInQueryRejected: true,
      put: async (key, data) => void (await moto.putWithBoto3('vhost', [{ key, data }])),
      pathOf: (key) => key,
      teardown: async () => {
        await dispatcher.close();
        await moto.stop();
      },
    };
  });
});
