/** waitUntil with a failure message built when it fails, so it can show the last state seen. */
import { waitUntil } from '../helpers/wait.js';

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string, stepMs = 5): Promise<void> {
  try {
    await waitUntil(cond, timeoutMs, 'it', stepMs);
  } catch (e) {
    if (!(e as Error).message.startsWith('timed out after')) throw e;
    throw new Error(`timed out after ${timeoutMs}ms waiting for ${what()}`);
  }
}
