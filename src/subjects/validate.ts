/**
 * Subject syntax rules, as nats-server applies them: tokens separated by '.',
 * no empty tokens, no whitespace, '*' and '>' are wildcards only when they are
 * a whole token, and '>' only as the last token.
 */

const DOT = 46;
const STAR = 42;
const GT = 62;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 12;
}

/** A subject a subscription may use (wildcards allowed). */
export function isValidSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  let sawFwc = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0 || sawFwc) return false;
      if (len === 1 && subject.charCodeAt(tokenStart) === GT) sawFwc = true;
      tokenStart = i + 1;
    } else if (isSpace(c)) {
      return false;
    }
  }
  return true;
}

/** A subject with no wildcard tokens, as pedantic publishers must use. */
export function isValidLiteralSubject(subject: string): boolean {
  if (!isValidSubject(subject)) return false;
  const n = subject.length;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      if (i - tokenStart === 1) {
        const c = subject.charCodeAt(tokenStart);
        if (c === STAR || c === GT) return false;
      }
      tokenStart = i + 1;
    }
  }
  return true;
}

/** True when some token is exactly '*' or '>'. */
export function subjectHasWildcard(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if ((c === STAR || c === GT) &&
        (i === 0 || subject.charCodeAt(i - 1) === DOT) &&
        (i + 1 === n || subject.charCodeAt(i + 1) === DOT)) {
      return true;
    }
  }
  return false;
}

/** Does literal `subject` match the (possibly wildcard) `filter`? */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const t = f[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return f.length === s.length;
}
