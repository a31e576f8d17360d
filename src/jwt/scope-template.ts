/**
 * Templates in the permissions of a scoped signing key, expanded for each
 * user it issues, as nats-server does (processUserPermissionsTemplate):
 *
 *   {{name()}}             the user JWT's name
 *   {{subject()}}          the user's public key
 *   {{account-name()}}     the account JWT's name
 *   {{account-subject()}}  the account's public key (the user's issuer_account)
 *   {{tag(key)}}           each value of the user's `key:value` tags
 *   {{account-tag(key)}}   each value of the account's `key:value` tags
 *
 * A template must be a whole token ("orders.{{name()}}.>", not
 * "orders-{{name()}}"). Tags yield one subject per value (all combinations
 * when a subject has several); a tag with no value, or an unknown function,
 * makes that subject invalid. Invalid subjects are dropped from allow lists
 * and refuse the user in deny lists; an allow list that ends up empty gains
 * a deny of ">" so it still allows nothing.
 */
import { isValidSubject } from '../subjects/validate.js';
import type { UserPermissionLimits } from './claims.js';

export interface TemplateContext {
  readonly userName: string;
  readonly userKey: string;
  readonly userTags: readonly string[];
  readonly accountName: string;
  readonly accountKey: string;
  readonly accountTags: readonly string[];
}

/** Thrown when a deny list expands to an invalid subject: the user is refused. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const isTemplate = (token: string): boolean => token.startsWith('{{') && token.endsWith('}}');

/** Values of `prefix:value` tags; the prefix is compared in lower case, as nats-server does. */
function tagValues(tags: readonly string[], key: string): string[] {
  const prefix = `${key}:`;
  return tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
}

/** One token: a fixed value, or the list of values a tag function yields. */
function expandToken(token: string, ctx: TemplateContext): string | string[] {
  if (!isTemplate(token)) return token;
  const op = token.slice(2, -2).toLowerCase();
  if (op === 'name()') return ctx.userName;
  if (op === 'subject()') return ctx.userKey;
  if (op === 'account-name()') return ctx.accountName;
  if (op === 'account-subject()') return ctx.accountKey;
  const tag = /^(account-tag|tag)\((.*)\)$/.exec(op);
  if (tag !== null) {
    const values = tagValues(tag[1] === 'tag' ? ctx.userTags : ctx.accountTags, tag[2]);
    // No value leaves an empty token, which makes the subject invalid.
    return values.length === 0 ? '' : values;
  }
  // An unknown function spoils the subject on purpose.
  return ' ';
}

function combinations(tokens: ReadonlyArray<string | string[]>): string[] {
  let out = [''];
  tokens.forEach((t, i) => {
    const choices = typeof t === 'string' ? [t] : t;
    const next: string[] = [];
    for (const prefix of out) for (const c of choices) next.push(i === 0 ? c : `${prefix}.${c}`);
    out = next;
  });
  return out;
}

function expandList(list: readonly string[] | null, ctx: TemplateContext, failOnBad: boolean): string[] | null {
  if (list === null || !list.some((s) => s.split('.').some(isTemplate))) return list === null ? null : [...list];
  const out: string[] = [];
  for (const subject of list) {
    for (const s of combinations(subject.split('.').map((t) => expandToken(t, ctx)))) {
      if (isValidSubject(s)) out.push(s);
      else if (failOnBad) throw new TemplateError('generated invalid subject');
    }
  }
  return out;
}

/** Whether any permission subject of the limits holds a template. */
export function hasTemplates(l: UserPermissionLimits): boolean {
  return [l.pub.allow, l.pub.deny, l.sub.allow, l.sub.deny].some((list) => (list ?? []).some((s) => s.split('.').some(isTemplate)));
}

/** The scope's limits with templates expanded for one user; throws TemplateError to refuse the user. */
export function expandTemplate(l: UserPermissionLimits, ctx: TemplateContext): UserPermissionLimits {
  if (!hasTemplates(l)) return l;
  const subAllow = expandList(l.sub.allow, ctx, false);
  let subDeny = expandList(l.sub.deny, ctx, true);
  const pubAllow = expandList(l.pub.allow, ctx, false);
  let pubDeny = expandList(l.pub.deny, ctx, true);
  if ((l.sub.allow ?? []).length > 0 && (subAllow ?? []).length === 0) subDeny = [...(subDeny ?? []), '>'];
  if ((l.pub.allow ?? []).length > 0 && (pubAllow ?? []).length === 0) pubDeny = [...(pubDeny ?? []), '>'];
  return { ...l, pub: { allow: pubAllow, deny: pubDeny }, sub: { allow: subAllow, deny: subDeny } };
}
