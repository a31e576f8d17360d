/**
 * `push`: sends account JWTs to a running server as claim updates
 * (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE`, the JWT as payload), connected as
 * the system account's user, and prints each server reply. A reply with an
 * error, or none at all, makes the command fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { COMMON_FLAGS, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import type { Store } from './store.js';
import { parseCount } from './values.js';

interface UpdateReply {
  readonly data?: { readonly code?: number; readonly message?: string; readonly account?: string };
  readonly error?: { readonly code?: number; readonly description?: string; readonly account?: string };
}

/** The system account's user creds: --creds, else the first user of the system account with creds in the store. */
function systemCreds(store: Store, o: string, flag: string | undefined): string {
  if (flag !== undefined) {
    if (!existsSync(flag)) throw new AuthCliError(`--creds ${flag} does not exist`);
    return flag;
  }
  const op = store.readJwt(store.operatorJwtPath(o));
  const sys = op.nats.system_account;
  if (typeof sys !== 'string' || sys === '') throw new AuthCliError(`operator ${o} names no system account; give --creds`);
  const { name } = store.findAccount(o, sys);
  const found = store.users(o, name).map((u) => store.credsPath(o, name, u)).find((p) => existsSync(p));
  if (found !== undefined) return found;
  throw new AuthCliError(`no creds for a user of the system account ${name} in the store; give --creds`);
}

export const PUSH: CommandDef = {
  words: 'push',
  summary: 'send account JWTs to a running server ($SYS claim updates)',
  flags: {
    ...COMMON_FLAGS,
    server: { kind: 'string', short: 's', help: 'server URL (default nats://127.0.0.1:4222)' },
    account: { kind: 'list', short: 'a', help: 'account to push (name or public key); repeatable' },
    all: { kind: 'boolean', short: 'A', help: 'push every account' },
    creds: { kind: 'string', help: "system user creds (default: the store's sys user)" },
    timeout: { kind: 'string', help: 'seconds to wait for each reply (default 5)' },
  },
  async run(ctx) {
    const o = ctx.operator();
    const names = ctx.args.bool('all') ? ctx.store.accounts(o) : ctx.args.list('account');
    if (names.length === 0) throw new AuthCliError('name the accounts to push with -a ACCOUNT, or use --all');
    const accounts = names.map((n) => ctx.store.findAccount(o, n));
    const credsPath = systemCreds(ctx.store, o, ctx.args.string('creds'));
    const timeoutMs = parseCount('timeout', ctx.args.string('timeout') ?? '5') * 1000;
    const server = ctx.args.string('server') ?? 'nats://127.0.0.1:4222';
    // Loaded here, not at the top: the client library doubles the start-up time of every other command.
    const { connect, credsAuthenticator } = await import('@nats-io/transport-node');
    let nc;
    try {
      nc = await connect({
        servers: server,
        authenticator: credsAuthenticator(readFileSync(credsPath)),
        name: 'natter auth push',
        reconnect: false,
        timeout: timeoutMs,
      });
    } catch (e) {
      throw new AuthCliError(`cannot connect to ${server} as the system user: ${(e as Error).message}`);
    }
    let failed = 0;
    try {
      for (const { name, jwt } of accounts) {
        const subject = `$SYS.REQ.ACCOUNT.${jwt.sub}.CLAIMS.UPDATE`;
        let text: string;
        try {
          const msg = await nc.request(subject, jwt.token, { timeout: timeoutMs });
          text = msg.string();
        } catch (e) {
          failed++;
          ctx.note(`[ERR ] ${name}: no reply to ${subject}: ${(e as Error).message}`);
          continue;
        }
        let reply: UpdateReply = {};
        try {
          reply = JSON.parse(text) as UpdateReply;
        } catch {
          // not JSON: printed as it is below, and counted as a failure
        }
        const ok = reply.error === undefined && reply.data !== undefined && (reply.data.code ?? 200) < 400;
        if (!ok) failed++;
        ctx.out(`${name} ${jwt.sub}: ${ok ? (reply.data?.message ?? 'updated') : (reply.error?.description ?? text)}\n`);
        ctx.note(`${ok ? '[ OK ]' : '[ERR ]'} ${text}`);
      }
    } finally {
      await nc.close();
    }
    if (failed > 0) throw new AuthCliError(`${failed} of ${accounts.length} account(s) not updated`);
  },
};
