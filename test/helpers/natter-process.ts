/** Starts ./natter-child.js as a forked process and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StartOptions } from '../../src/index.js';
import type { ChildStats } from './natter-child.js';
import { trackChild } from './children.js';

export interface NatterProcess {
  readonly port: number;
  readonly proc: ChildProcess;
  /** Set once the process exited: how, and its stderr. */
  exited(): { code: number | null; signal: string | null; stderr: string } | null;
  stats(timeoutMs?: number): Promise<ChildStats>;
  stop(): Promise<void>;
}

export async function startNatterProcess(opts: StartOptions = {}): Promise<NatterProcess> {
  const script = fileURLToPath(new URL('./natter-child.js', import.meta.url));
  const proc = fork(script, [JSON.stringify(opts)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  trackChild(proc);
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exit: { code: number | null; signal: string | null; stderr: string } | null = null;
  const gone = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exit = { code, signal, stderr };
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('Natter child did not start')), 10000);
    proc.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve(m.port as number);
      }
    });
    void gone.then(() => {
      clearTimeout(t);
      reject(new Error(`Natter child exited: ${JSON.stringify(exit)}`));
    });
  });
  let nextId = 1;
  return {
    port,
    proc,
    exited: () => exit,
    stats: (timeoutMs = 5000) =>
      new Promise<ChildStats>((resolve, reject) => {
        if (exit) return reject(new Error(`Natter child exited: ${JSON.stringify(exit)}`));
        const id = nextId++;
        const t = setTimeout(() => {
          proc.off('message', on);
          reject(new Error(`Natter child did not answer a stats request within ${timeoutMs}ms (event loop blocked?)`));
        }, timeoutMs);
        const on = (m: { type: string; id?: number } & ChildStats): void => {
          if (m.type === 'stats' && m.id === id) {
            clearTimeout(t);
            proc.off('message', on);
            resolve(m);
          }
        };
        proc.on('message', on);
        proc.send({ type: 'stats', id });
      }),
    stop: async () => {
      if (exit) return;
      proc.send({ type: 'stop' });
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    },
  };
}
