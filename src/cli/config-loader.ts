/**
 * The bridge to the configuration file reader. It is loaded on first use:
 * most runs (tests, `--version`, `--signal`) never read a config file, and
 * this keeps the parser off their start-up path.
 */
import type { ServerOptions } from '../server/options.js';

export interface LoadedConfig {
  options: Partial<ServerOptions>;
  /** Notices that do not stop the server (logged as warnings). */
  warnings: string[];
}

/** Reads and maps a config file; throws with a `file:line:col: problem` message. */
export type ConfigLoader = (file: string) => LoadedConfig;

let cached: ConfigLoader | undefined;

export async function getConfigLoader(): Promise<ConfigLoader> {
  if (cached === undefined) {
    const { loadConfigFile } = await import('../config/options-from-config.js');
    cached = (file: string): LoadedConfig => loadConfigFile(file);
  }
  return cached;
}
