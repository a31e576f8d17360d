/**
 * The client URLs a clustered server offers its clients in INFO
 * `connect_urls`: its own and those every routed server reported, each
 * counted per route that reported it (a URL stays while any route still
 * vouches for it).
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log/logger.js';
import type { ServerOptions } from '../server/options.js';
import { joinHostPort } from './config.js';

export class ConnectURLs {
  /** This server's client URLs as host:port, as its route INFO announces them. */
  readonly own: readonly string[];
  private readonly logger: Logger;
  /** Client URLs of routed servers, counted per route that reported them. */
  private readonly remote = new Map<string, number>();
  private reported = false;
  private readonly listeners: Array<() => void> = [];

  constructor(own: readonly string[], logger: Logger) {
    this.own = own;
    this.logger = logger;
  }

  /** Ours and the routed servers'; empty until a route has reported some, as nats-server leaves the field out until then. */
  list(): string[] {
    if (!this.reported) return [];
    const out = [...this.own];
    for (const u of this.remote.keys()) if (!out.includes(u)) out.push(u);
    return out;
  }

  /** Called whenever list() changes: time for an async INFO to clients. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** A route registered and reported its server's client URLs. */
  add(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remote.get(u) ?? 0;
      this.remote.set(u, n + 1);
      if (n === 0) changed = true;
    }
    if (changed) this.changed();
  }

  /** The route that reported them went away, or its server entered lame duck mode. */
  remove(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remote.get(u);
      if (n === undefined) continue;
      if (n <= 1) {
        this.remote.delete(u);
        changed = true;
      } else {
        this.remote.set(u, n - 1);
      }
    }
    if (changed) this.changed();
  }

  private changed(): void {
    this.reported = true;
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.logger.error(`connect_urls listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/**
 * The host:port pairs clients can reach this server at, as nats-server
 * lists them in connect_urls: the advertised address, or the listen
 * address, or for a wildcard listen every non-loopback interface address.
 */
export function ownClientURLs(o: ServerOptions, port: number): string[] {
  if (o.client_advertise !== undefined && o.client_advertise !== '') {
    const adv = o.client_advertise;
    return [/:\d+$/.test(adv) && !adv.endsWith(']') ? adv : joinHostPort(adv.replace(/^\[|\]$/g, ''), port)];
  }
  if (o.host !== '0.0.0.0' && o.host !== '::' && o.host !== '') return [joinHostPort(o.host, port)];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Global unicast only, as nats-server lists them: no loopback, no link-local.
      if (a.internal || /^fe[89ab]/i.test(a.address) || a.address.startsWith('169.254.')) continue;
      out.push(joinHostPort(a.address, port));
    }
  }
  return out;
}
