/** Child processes started by tests are killed when the test process exits, whatever happened. */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function trackChild(p: ChildProcess): void {
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        killAll();
        process.exit(130);
      });
    }
  }
  live.add(p);
  p.once('exit', () => live.delete(p));
}
