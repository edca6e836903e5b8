import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ObjectServerOptions, ServerRequestLog } from './object-server.js';

/** The parent's handle on bench/server-process.ts. Timestamps in its log are the child's `performance.now()`. */
export class ServerClient {
  private child: ChildProcess | undefined;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  url = '';

  async start(options: ObjectServerOptions): Promise<this> {
    const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
    const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error));
      else w.resolve(msg.result);
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`object server exited (${code})`));
      this.waiting.clear();
    });
    this.child = child;
    this.url = (await this.call({ op: 'start', options })) as string;
    return this;
  }

  private call(cmd: Record<string, unknown>): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child?.send({ ...cmd, id });
    });
  }

  /** Serves `file` at `key` (`{i}` in the key with `copies` makes many keys of one buffer). */
  async put(key: string, file: string, copies?: number): Promise<void> {
    await this.call({ op: 'put', key, file, ...(copies === undefined ? {} : { copies }) });
  }

  async log(): Promise<ServerRequestLog[]> {
    return (await this.call({ op: 'log' })) as ServerRequestLog[];
  }

  async reset(): Promise<void> {
    await this.call({ op: 'reset' });
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    const exited = child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
    await this.call({ op: 'stop' }).catch(() => undefined);
    this.child = undefined;
    await exited;
  }
}
