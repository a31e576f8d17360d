/**
 * Armoured ("decorated") JWT and creds files, as nsc writes them:
 *
 *   -----BEGIN NATS USER JWT-----
 *   eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
 *   ------END NATS USER JWT------
 *
 *   ************************* IMPORTANT *************************
 *   NKEY Seed printed below can be used to sign and prove identity.
 *   ...
 *   -----BEGIN USER NKEY SEED-----
 *   SUAM...
 *   ------END USER NKEY SEED------
 *
 * Text outside the blocks is ignored. Blocks are matched by their labels,
 * so a creds file with the blocks swapped, missing or unterminated is an
 * error that says which.
 */
import { JwtError } from './jwt.js';

export interface ArmouredBlock {
  /** The text between the dashes after BEGIN, e.g. "NATS USER JWT". */
  readonly label: string;
  readonly content: string;
}

export interface UserCreds {
  readonly jwt: string;
  /** The user's nkey seed (SU...). */
  readonly seed: string;
}

export const USER_JWT_LABEL = 'NATS USER JWT';
export const USER_SEED_LABEL = 'USER NKEY SEED';

const BEGIN = /^\s*-{3,}\s*BEGIN ([^-]*?)\s*-{3,}\s*$/;
const END = /^\s*-{3,}\s*END ([^-]*?)\s*-{3,}\s*$/;
/** What may stand between the armour lines (nats-io/jwt's `[\w\-.=]+`). */
const CONTENT = /^[\w\-.=]+$/;
/** 'S', the key type, then 56 base32 characters: a seed is 58 characters. */
const USER_SEED = /^SU[A-Z2-7]{56}$/;

/** Every armoured block in `text`, in order; throws JwtError on a malformed one. */
export function armouredBlocks(text: string): ArmouredBlock[] {
  const lines = text.split(/\r?\n/);
  const out: ArmouredBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]);
    if (begin === null) continue;
    const label = begin[1];
    const content = (lines[i + 1] ?? '').trim();
    const end = END.exec(lines[i + 2] ?? '');
    if (end === null || end[1] !== label) throw new JwtError(`the ${label} block has no END ${label} line after its one content line`);
    if (!CONTENT.test(content)) throw new JwtError(`the ${label} block does not hold a JWT or key`);
    out.push({ label, content });
    i += 2;
  }
  return out;
}

/**
 * The JWT of an operator (or other) JWT file: the first armoured block
 * whatever its label, or the whole text when it has no armour (what
 * nats-server's ParseDecoratedJWT does).
 */
export function parseDecoratedJwt(text: string): string {
  const blocks = armouredBlocks(text);
  return blocks.length === 0 ? text.trim() : blocks[0].content;
}

/** The user JWT and seed of a creds file; throws JwtError saying what is wrong. */
export function parseCreds(text: string): UserCreds {
  const blocks = armouredBlocks(text);
  const jwt = blocks.find((b) => b.label === USER_JWT_LABEL);
  const seed = blocks.find((b) => b.label === USER_SEED_LABEL);
  if (jwt === undefined) throw new JwtError(`creds have no ${USER_JWT_LABEL} block`);
  if (seed === undefined) throw new JwtError(`creds have no ${USER_SEED_LABEL} block`);
  if (jwt.content.split('.').length !== 3) throw new JwtError(`the ${USER_JWT_LABEL} block does not hold a JWT`);
  if (!USER_SEED.test(seed.content)) throw new JwtError(`the ${USER_SEED_LABEL} block does not hold a user seed`);
  return { jwt: jwt.content, seed: seed.content };
}

/** A creds file in nsc's layout. */
export function formatCreds(jwt: string, seed: string): string {
  return `-----BEGIN ${USER_JWT_LABEL}-----
${jwt}
------END ${USER_JWT_LABEL}------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN ${USER_SEED_LABEL}-----
${seed}
------END ${USER_SEED_LABEL}------

*************************************************************
`;
}
