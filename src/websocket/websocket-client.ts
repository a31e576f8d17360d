/**
 * A client connection over websocket: an ordinary Client (same parser,
 * outbound queue, auth, permissions, pings, slow-consumer handling, /connz,
 * tracing) on a WebsocketTransport, with what nats-server does differently
 * for this connection type: the `wid:` log prefix (with the X-Forwarded-For
 * address), the WEBSOCKET connection type for allowed_connection_types, and
 * the JWT of the upgrade request's cookie.
 */
import type { Account } from '../accounts/account.js';
import { Client, type ClientHost, type ConnectionAuth } from '../server/client.js';
import type { WebsocketTransport } from './transport.js';

/** What the upgrade request told about the client. */
export interface UpgradeFacts {
  readonly cookieJwt: string | null;
  readonly forwardedFor: string | null;
}

export class WebsocketClient extends Client {
  readonly transport: WebsocketTransport;
  /** The value of the `jwt_cookie` cookie the upgrade request carried, or null. */
  readonly cookieJwt: string | null;
  /** The client address a proxy put in X-Forwarded-For (a valid IP), shown in the log prefix; or null. */
  readonly forwardedFor: string | null;

  constructor(host: ClientHost, transport: WebsocketTransport, cid: number, account: Account, auth: ConnectionAuth, upgrade: UpgradeFacts) {
    super(host, transport, cid, account, auth);
    this.transport = transport;
    this.cookieJwt = upgrade.cookieJwt;
    this.forwardedFor = upgrade.forwardedFor;
    transport.closeReason = () => this.closeReason;
  }

  override connectionType(): string {
    return 'WEBSOCKET';
  }

  /** nats-server's log prefix for a websocket client: `127.0.0.1:54321 - wid:5`, after a proxy, `10.1.2.3/127.0.0.1:54321 - wid:5`. */
  override label(): string {
    const via = this.forwardedFor === null ? '' : `${this.forwardedFor.includes(':') ? `[${this.forwardedFor}]` : this.forwardedFor}/`;
    return `${via}${this.host}:${this.port} - wid:${this.cid}`;
  }
}
