/**
 * The accounts the cluster import tests share: EXP exports streams and
 * services, IMP imports them (same subject, prefix, reordering mapping,
 * service under another name, wildcard service). The same definitions as
 * Natter options and as nats-server configuration text, so mixed clusters
 * agree on them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatterNode } from './helpers.js';
import { client } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

export const ACCOUNTS = {
  EXP: {
    users: [{ user: 'exp', password: 'p' }],
    exports: [
      { stream: 'news.>' },
      { stream: 'feed.*' },
      { stream: 'alerts.*.*' },
      { service: 'echo' },
      { service: 'svc.>' },
    ],
  },
  IMP: {
    users: [{ user: 'imp', password: 'p' }],
    imports: [
      { stream: { account: 'EXP', subject: 'news.>' } },
      { stream: { account: 'EXP', subject: 'feed.*' }, prefix: 'pfx' },
      { stream: { account: 'EXP', subject: 'alerts.*.*' }, to: 'warn.$2.$1' },
      { service: { account: 'EXP', subject: 'echo' }, to: 'imp.echo' },
      { service: { account: 'EXP', subject: 'svc.>' } },
    ],
  },
};

export const ACCOUNTS_CONF = `accounts {
  EXP: {
    users: [{user: exp, password: p}]
    exports: [
      {stream: "news.>"}
      {stream: "feed.*"}
      {stream: "alerts.*.*"}
      {service: "echo"}
      {service: "svc.>"}
    ]
  }
  IMP: {
    users: [{user: imp, password: p}]
    imports: [
      {stream: {account: EXP, subject: "news.>"}}
      {stream: {account: EXP, subject: "feed.*"}, prefix: "pfx"}
      {stream: {account: EXP, subject: "alerts.*.*"}, to: "warn.$2.$1"}
      {service: {account: EXP, subject: "echo"}, to: "imp.echo"}
      {service: {account: EXP, subject: "svc.>"}}
    ]
  }
}`;

export function exporter(url: string): Promise<NatsConnection> {
  return client(url, { user: 'exp', pass: 'p' });
}

export function importer(url: string): Promise<NatsConnection> {
  return client(url, { user: 'imp', pass: 'p' });
}

/** Waits until `node` has heard from `routes` route(s) of interest in `account` on "subject[ queue]". */
export async function waitForAccountInterest(node: NatterNode, account: string, entry: string, routes = 1): Promise<void> {
  await waitUntil(() => {
    let seen = 0;
    for (const r of node.cluster.routes()) {
      if (r.subscriptions.some((s) => s.account === account && (s.queue === null ? s.subject : `${s.subject} ${s.queue}`) === entry)) seen++;
    }
    return seen >= routes;
  }, 3000, `${routes} route(s) on ${node.name} with interest in ${account} "${entry}"`);
}

/** What routes told `node` about `account`, as "subject[ queue]" entries, sorted. */
export function accountInterest(node: NatterNode, account: string): string[] {
  const out = new Set<string>();
  for (const r of node.cluster.routes()) {
    for (const s of r.subscriptions) if (s.account === account) out.add(s.queue === null ? s.subject : `${s.subject} ${s.queue}`);
  }
  return [...out].sort();
}
