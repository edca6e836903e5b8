/**
 * The benchmark's object server in its own process, so the readers' CPU work (decoding) never delays
 * the server's responses and the modelled TTFB and bandwidth stay honest. Driven over IPC by
 * bench/server-client.ts.
 */
import { readFile } from 'node:fs/promises';
import { ObjectServer, type ObjectServerOptions } from './object-server.js';

type Command =
  | { id: number; op: 'start'; options: ObjectServerOptions }
  | { id: number; op: 'put'; key: string; file: string; copies?: number }
  | { id: number; op: 'log' }
  | { id: number; op: 'reset' }
  | { id: number; op: 'stop' };

let server: ObjectServer | undefined;
const files = new Map<string, Uint8Array>();

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'start':
      server = await new ObjectServer(cmd.options).start();
      return server.url;
    case 'put': {
      let bytes = files.get(cmd.file);
      if (!bytes) {
        bytes = new Uint8Array(await readFile(cmd.file));
        files.set(cmd.file, bytes);
      }
      // Copies share one buffer: 2,000 keys of the same file cost its size once.
      if (cmd.copies === undefined) server?.put(cmd.key, bytes);
      else for (let i = 0; i < cmd.copies; i++) server?.put(cmd.key.replace('{i}', String(i)), bytes);
      return null;
    }
    case 'log':
      return server?.requests ?? [];
    case 'reset':
      server?.resetLog();
      return null;
    case 'stop':
      await server?.stop();
      // Exit once the reply is out (process.send is asynchronous).
      setTimeout(() => process.exit(0), 50);
      return null;
  }
}

process.on('message', (cmd: Command) => {
  if (process.env.BRR_DEBUG) process.stderr.write(`child got ${cmd.op}\n`);
  handle(cmd).then(
    (result) => process.send?.({ id: cmd.id, result }),
    (err: unknown) => process.send?.({ id: cmd.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
