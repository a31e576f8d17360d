import type { TlsInfoFields } from './client-listener.js';
import type { ServerOptions } from './options.js';
import { NATTER_VERSION, PROTO_VERSION, SERVER_VERSION } from './version.js';

/** What the INFO line states about the server; gathered again whenever one of them changes. */
export interface InfoFacts {
  readonly id: string;
  readonly name: string;
  readonly options: ServerOptions;
  /** The bound client port. */
  readonly port: number;
  /** Clients must bring credentials. */
  readonly authRequired: boolean;
  readonly tls: TlsInfoFields;
  /** JetStream's domain ('' for none) when JetStream is on; null when it is off. */
  readonly jetstreamDomain: string | null;
}

/**
 * The INFO line clients are greeted with, in nats-server's key order. The
 * server-wide part is built once per change; each connection adds its
 * own fields.
 */
export class InfoLine {
  /** The server-wide JSON object without its closing brace. */
  private prefix = '';
  private maxPayload = 0;
  /** `,"cluster":...,"connect_urls":[...]`; empty when not clustered. */
  private cluster = '';

  build(f: InfoFacts): void {
    const o = f.options;
    const info: Record<string, unknown> = {
      server_id: f.id,
      server_name: f.name,
      version: SERVER_VERSION,
      proto: PROTO_VERSION,
      go: `node${process.versions.node}`,
      host: o.host,
      port: f.port,
      headers: !o.no_header_support,
    };
    if (f.authRequired) info.auth_required = true;
    Object.assign(info, f.tls);
    info.max_payload = o.max_payload;
    if (f.jetstreamDomain !== null) {
      info.jetstream = true;
      // nats-server writes the domain after the per-client fields; clients read it by name.
      if (f.jetstreamDomain !== '') info.domain = f.jetstreamDomain;
    }
    info.natter_version = NATTER_VERSION;
    this.prefix = JSON.stringify(info).slice(0, -1);
    this.maxPayload = o.max_payload;
  }

  /** The cluster's name ('' for none) and the client URLs of the routed servers, for clients to fail over to. */
  setCluster(name: string, connectURLs: readonly string[]): void {
    this.cluster = (name !== '' ? `,"cluster":${JSON.stringify(name)}` : '') +
      (connectURLs.length > 0 ? `,"connect_urls":${JSON.stringify(connectURLs)}` : '');
  }

  /**
   * The line for a connection (cid 0: the shared part, for async INFO
   * updates); `maxPayload` replaces the server's for a client whose user or
   * account has a lower limit; `lameDuck` adds `"ldm":true`.
   */
  forConnection(cid: number, ip: string, nonce: string | null, maxPayload: number | null, lameDuck: boolean): string {
    let s = this.prefix;
    if (maxPayload !== null) s = s.replace(`"max_payload":${this.maxPayload}`, `"max_payload":${maxPayload}`);
    if (cid !== 0) s += `,"client_id":${cid},"client_ip":${JSON.stringify(ip)}`;
    if (nonce !== null) s += `,"nonce":${JSON.stringify(nonce)}`;
    s += this.cluster;
    if (lameDuck) s += ',"ldm":true';
    return `INFO ${s}} \r\n`;
  }
}
