#!/usr/bin/env node
/**
 * The credentials provisioner of the KubeCon 2020 chat: a service in the
 * ADMIN account that answers requests on `chat.req.access` (payload: a user
 * name) with a creds file for a new CHAT user, minted on the spot with the
 * CHAT account's signing key. It also follows `chat.KUBECON.online`
 * (imported from CHAT) to know who is online.
 *
 *   node provisioner.mjs --server nats://127.0.0.1:4222 \
 *     --creds <store>/creds/KO/ADMIN/chat-access.creds \
 *     --account <CHAT account public key> --sk <CHAT signing key .nk file>
 *
 * Each reply is the creds file; the minted user's public key is announced
 * on `chat.req.provisioned` so an operator can revoke it later.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { fromSeed } from '@nats-io/nkeys';
import { encodeUser, newUser } from '../../dist/src/jwt/encode.js';
import { formatCreds } from '../../dist/src/jwt/creds.js';

/** What a chat user may do: talk in the KubeCon rooms, say it is online, get replies. */
export const CHAT_USER_PERMISSIONS = {
  pub: { allow: ['chat.KUBECON.>', 'chat.req.access', '_INBOX.>'] },
  sub: { allow: ['chat.KUBECON.>', '_INBOX.>'] },
};

/** A user name: short, printable, no subject or JSON tricks. */
const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Starts the provisioner; resolves once it listens. `signingKeySeed` is the
 * CHAT account signing key's seed (SA...), `chatAccount` the CHAT account's
 * public key (the minted users' issuer_account).
 */
export async function startProvisioner({ servers, creds, chatAccount, signingKeySeed, ttlSeconds = 0, log = () => {} }) {
  const sk = fromSeed(new TextEncoder().encode(signingKeySeed.trim()));
  const nc = await connect({ servers, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), name: 'chat-access provisioner' });
  const online = new Set();
  nc.subscribe('chat.KUBECON.online', {
    callback: (err, m) => {
      if (err === null) online.add(m.string());
    },
  });
  nc.subscribe('chat.req.access', {
    callback: (err, m) => {
      if (err !== null || !m.reply) return;
      const name = m.string().trim();
      if (!USER_NAME.test(name)) {
        m.respond(`-ERR invalid user name ${JSON.stringify(name)}`);
        return;
      }
      const user = newUser();
      const std = { name, ...(ttlSeconds > 0 ? { exp: Math.floor(Date.now() / 1000) + ttlSeconds } : {}) };
      const jwt = encodeUser(user.pub, sk, { ...CHAT_USER_PERMISSIONS, issuer_account: chatAccount }, std);
      m.respond(formatCreds(jwt, user.seed));
      nc.publish('chat.req.provisioned', JSON.stringify({ name, user: user.pub }));
      log(`provisioned ${name} as ${user.pub}`);
    },
  });
  await nc.flush();
  return {
    /** Names announced on chat.KUBECON.online so far. */
    online: () => [...online].sort(),
    close: () => nc.close(),
  };
}

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const p = await startProvisioner({
    servers: flag('server'),
    creds: readFileSync(flag('creds'), 'utf8'),
    chatAccount: flag('account'),
    signingKeySeed: readFileSync(flag('sk'), 'utf8'),
    log: (s) => console.log(s),
  });
  console.log('provisioner listening on chat.req.access');
  process.once('SIGINT', () => void p.close());
  process.once('SIGTERM', () => void p.close());
}
