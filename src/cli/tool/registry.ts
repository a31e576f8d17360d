/**
 * The `natter` command families, each loaded only when it is used: `pub`
 * does not pay for loading the JetStream, KV and object store clients.
 */
import type { ToolCommand } from './command.js';

export interface CommandFamily {
  readonly name: string;
  readonly summary: string;
  load(): Promise<readonly ToolCommand[]>;
}

export const FAMILIES: readonly CommandFamily[] = [
  { name: 'pub', summary: 'publish messages', load: async () => [(await import('./messaging.js')).PUB] },
  { name: 'sub', summary: 'subscribe and print messages', load: async () => [(await import('./messaging.js')).SUB] },
  { name: 'req', summary: 'send a request, print the reply', load: async () => [(await import('./messaging.js')).REQ] },
  { name: 'reply', summary: 'answer requests (echo, a body or a command)', load: async () => [(await import('./messaging.js')).REPLY] },
  { name: 'bench', summary: 'measure pub/sub, request/reply, JetStream and KV throughput', load: async () => (await import('./bench.js')).BENCH_COMMANDS },
  { name: 'stream', summary: 'JetStream streams', load: async () => (await import('./stream.js')).STREAM_COMMANDS },
  { name: 'consumer', summary: 'JetStream consumers', load: async () => (await import('./consumer.js')).CONSUMER_COMMANDS },
  { name: 'kv', summary: 'key/value buckets', load: async () => (await import('./kv.js')).KV_COMMANDS },
  { name: 'obj', summary: 'object stores', load: async () => (await import('./obj.js')).OBJ_COMMANDS },
  { name: 'server', summary: 'server info, ping, list and monitoring checks', load: async () => (await import('./server-cmd.js')).SERVER_COMMANDS },
  { name: 'context', summary: 'saved connection settings', load: async () => (await import('./context.js')).CONTEXT_COMMANDS },
];

export async function loadAllCommands(): Promise<ToolCommand[]> {
  return (await Promise.all(FAMILIES.map((f) => f.load()))).flat();
}
