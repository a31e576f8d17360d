/**
 * Subject rewriting for imports: a source pattern with `*` and `>`
 * wildcards, and a destination that refers to the source's `*` tokens by
 * position (`$1`, `{{wildcard(1)}}`) and may end with `>` when the source
 * does. `orders.*.>` to `acme.$1.>` turns `orders.eu.new.x` into
 * `acme.eu.new.x`. Error texts are nats-server's.
 */
import { isValidSubject } from '../subjects/validate.js';

const DOLLAR = /^\$(\d+)$/;
const MUSTACHE = /^\{\{\s*(\w+)\s*\((.*)\)\s*\}\}$/;

type DestToken = { readonly literal: string } | { readonly wildcard: number };

export class SubjectTransform {
  readonly source: string;
  readonly destination: string;
  private readonly srcTokens: readonly string[];
  /** Index in the source tokens of each `*`, in order. */
  private readonly pwcIndex: readonly number[];
  private readonly srcFwc: boolean;
  private readonly dest: readonly DestToken[];
  private readonly destFwc: boolean;

  private constructor(source: string, destination: string, dest: readonly DestToken[], destFwc: boolean) {
    this.source = source;
    this.destination = destination;
    this.srcTokens = source.split('.');
    this.pwcIndex = this.srcTokens.flatMap((t, i) => (t === '*' ? [i] : []));
    this.srcFwc = this.srcTokens[this.srcTokens.length - 1] === '>';
    this.dest = dest;
    this.destFwc = destFwc;
  }

  /**
   * A transform from `source` to `destination`, or the reason there is
   * none. The destination may not contain `*` (callers turn a `*` into its
   * positional placeholder first, see tokenizeWildcards).
   */
  static create(source: string, destination: string): SubjectTransform | string {
    // Mapping functions may hold spaces (`{{ wildcard(1) }}`); they are checked below.
    const plainDest = destination.split('.').map((t) => (MUSTACHE.test(t) ? 'f' : t)).join('.');
    if (!isValidSubject(source) || !isValidSubject(plainDest)) return 'invalid subject';
    const stoks = source.split('.');
    const npwcs = stoks.filter((t) => t === '*').length;
    const srcFwc = stoks[stoks.length - 1] === '>';
    const dtoks = destination.split('.');
    const destFwc = dtoks[dtoks.length - 1] === '>';
    if (dtoks.includes('*') || srcFwc !== destFwc) return 'invalid subject';
    const dest: DestToken[] = [];
    let placeholders = 0;
    for (const t of destFwc ? dtoks.slice(0, -1) : dtoks) {
      const index = placeholderIndex(t);
      if (typeof index === 'string') return index;
      if (index === null) {
        dest.push({ literal: t });
        continue;
      }
      if (npwcs === 0 && !srcFwc) {
        // Without wildcards in the source nothing is substituted, as in nats-server.
        dest.push({ literal: t });
        continue;
      }
      if (index < 1 || index > npwcs) {
        return `invalid mapping destination: wildcard index out of range in ${t}: [${index}]`;
      }
      placeholders++;
      dest.push({ wildcard: index });
    }
    if (placeholders < npwcs) {
      return `invalid mapping destination: not using all of the token wildcard(s) in ${destination}`;
    }
    return new SubjectTransform(source, destination, dest, destFwc);
  }

  /** The destination subject for a literal subject, or null when it does not match. */
  apply(subject: string): string | null {
    const tokens = subject.split('.');
    if (!this.tokensMatch(tokens)) return null;
    const out: string[] = [];
    for (const d of this.dest) {
      out.push('literal' in d ? d.literal : tokens[this.pwcIndex[d.wildcard - 1]]);
    }
    if (this.destFwc) {
      for (let i = this.srcTokens.length - 1; i < tokens.length; i++) out.push(tokens[i]);
    }
    return out.join('.');
  }

  private tokensMatch(tokens: readonly string[]): boolean {
    const s = this.srcTokens;
    if (this.srcFwc ? tokens.length < s.length : tokens.length !== s.length) return false;
    const fixed = this.srcFwc ? s.length - 1 : s.length;
    for (let i = 0; i < fixed; i++) {
      if (s[i] !== '*' && s[i] !== tokens[i]) return false;
    }
    return true;
  }
}

/** `$N` or `{{wildcard(N)}}`: N; another token: null; an unusable function: why. */
function placeholderIndex(token: string): number | null | string {
  const dollar = DOLLAR.exec(token);
  if (dollar !== null) return Number(dollar[1]);
  const m = MUSTACHE.exec(token);
  if (m === null) return null;
  if (m[1].toLowerCase() !== 'wildcard') {
    return `invalid mapping destination: function ${m[1]} is not supported by this Natter version in ${token}`;
  }
  const arg = m[2].trim();
  if (arg === '') return `invalid mapping destination: not enough arguments passed to the function in ${token}`;
  if (arg.includes(',')) return `invalid mapping destination: too many arguments passed to the function in ${token}`;
  if (!/^\d+$/.test(arg)) {
    return `invalid mapping destination: function argument is invalid or in the wrong format in ${token}`;
  }
  return Number(arg);
}

/** `foo.*.*` becomes `foo.$1.$2`: a pattern's wildcards as positional placeholders. */
export function tokenizeWildcards(subject: string): string {
  let n = 0;
  return subject.split('.').map((t) => (t === '*' ? `$${++n}` : t)).join('.');
}

/** `foo.$1.$2` becomes `foo.*.*`; also returns the placeholders in order. */
export function untokenizeWildcards(subject: string): { subject: string; placeholders: string[] } {
  const placeholders: string[] = [];
  const out = subject.split('.').map((t) => {
    if (t.length > 1 && t[0] === '$' && t[1] >= '1' && t[1] <= '9') {
      placeholders.push(t);
      return '*';
    }
    return t;
  });
  return { subject: out.join('.'), placeholders };
}
