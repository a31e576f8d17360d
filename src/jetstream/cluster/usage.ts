/**
 * Account usage across the cluster. Each server tells the others how many
 * bytes each account's streams hold on it (replicas included, so an R3
 * stream counts three times, as nats-server counts it); every server adds
 * what it heard to its own figures. The account limits (`max_memory`,
 * `max_storage`) and the usage in `$JS.API.INFO` and /jsz then speak of the
 * whole cluster, not of the server that happens to answer.
 *
 * A server sends its figures when they changed (at most every
 * SEND_INTERVAL_MS) and all of them every FULL_INTERVAL_MS, so a server
 * that starts later learns them; figures not refreshed for EXPIRY_MS (a
 * server gone) stop counting.
 */
import type { Account } from '../../accounts/account.js';
import type { ServerCore } from '../../server/core.js';
import type { Subscription } from '../../server/subscription.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';

const USAGE_PREFIX = '$NATTER.JSC.USAGE.';
const SEND_INTERVAL_MS = 1000;
const FULL_INTERVAL_MS = 10_000;
const EXPIRY_MS = 3 * FULL_INTERVAL_MS;

/** One server's figures as sent: account name → [memory bytes, file bytes]. */
type UsageMessage = Record<string, [number, number]>;

export class ClusterUsage {
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;
  /** What was last sent, by account, to send changes only. */
  private sent = new Map<string, string>();
  private lastFull = 0;

  constructor(private readonly core: ServerCore, private readonly sys: Account, private readonly js: JetStream, private readonly selfId: string) {
    this.sub = core.subscribeInternal(sys, USAGE_PREFIX + '*', null, (subject, _reply, hdrLen, msg) => {
      const from = subject.slice(USAGE_PREFIX.length);
      if (from !== this.selfId) this.heard(from, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    });
    this.timer = setInterval(() => this.send(), SEND_INTERVAL_MS);
    this.timer.unref();
    this.send();
  }

  close(): void {
    clearInterval(this.timer);
    this.core.unsubscribeInternal(this.sys, this.sub);
  }

  private send(): void {
    const now = Date.now();
    const full = now - this.lastFull >= FULL_INTERVAL_MS;
    const out: UsageMessage = {};
    let any = false;
    const next = new Map<string, string>();
    for (const jsa of this.js.accounts.values()) {
      const figures: [number, number] = [jsa.localUsed('memory'), jsa.localUsed('file')];
      const key = figures.join(',');
      next.set(jsa.account.name, key);
      if (!full && this.sent.get(jsa.account.name) === key) continue;
      out[jsa.account.name] = figures;
      any = true;
    }
    // An account that went (or emptied) since the last message: say so, once.
    for (const name of this.sent.keys()) {
      if (!next.has(name)) {
        out[name] = [0, 0];
        any = true;
      }
    }
    this.sent = next;
    if (full) this.lastFull = now;
    if (any) this.core.publishInternal(this.sys, USAGE_PREFIX + this.selfId, null, JSON.stringify(out));
  }

  private heard(server: string, payload: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const expires = Date.now() + EXPIRY_MS;
    for (const [name, figures] of Object.entries(msg as Record<string, unknown>)) {
      const jsa: JsAccount | undefined = this.js.accounts.get(name);
      if (jsa === undefined || !Array.isArray(figures)) continue;
      const [memory, file] = figures as unknown[];
      if (typeof memory !== 'number' || typeof file !== 'number') continue;
      jsa.setRemoteUsage(server, memory, file, expires);
    }
  }
}
