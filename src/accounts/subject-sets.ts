/**
 * Relations between subjects that may both contain wildcards, with the exact
 * rules nats-server applies to exports, imports and permissions.
 */

/**
 * Is every subject `subject` can stand for also covered by `test`? Both may
 * hold wildcards: `foo.*` is a subset of `>`, `*.*` and `foo.*`, not of
 * `foo.bar`; `foo.>` is a subset of `foo.>` and `>` but not of `foo.*`.
 */
export function isSubsetMatch(subject: string, test: string): boolean {
  return tokensSubset(subject.split('.'), test.split('.'));
}

function tokensSubset(tokens: readonly string[], test: readonly string[]): boolean {
  for (let i = 0; i < test.length; i++) {
    if (i >= tokens.length) return false;
    const t2 = test[i];
    if (t2 === '') return false;
    if (t2 === '>') return true;
    const t1 = tokens[i];
    if (t1 === '' || t1 === '>') return false;
    if (t1 === '*') {
      if (t2 !== '*') return false;
      continue;
    }
    if (t2 !== '*' && t1 !== t2) return false;
  }
  return tokens.length === test.length;
}

/** Could some literal subject match both `a` and `b`? */
export function subjectsCollide(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = a.split('.');
  const tb = b.split('.');
  const wa = wildcards(ta);
  const wb = wildcards(tb);
  const literalA = !wa.pwc && !wa.fwc;
  const literalB = !wb.pwc && !wb.fwc;
  if (literalA && literalB) return false;
  if (literalA) return tokensSubset(ta, tb);
  if (literalB) return tokensSubset(tb, ta);
  // Both have wildcards. Without '>' on the shorter side the lengths must agree.
  if (ta.length !== tb.length) {
    if ((ta.length < tb.length && !wa.fwc) || (tb.length < ta.length && !wb.fwc)) return false;
  }
  const stop = Math.min(ta.length, tb.length);
  for (let i = 0; i < stop; i++) {
    if (!tokensCanMatch(ta[i], tb[i])) return false;
  }
  return true;
}

function wildcards(tokens: readonly string[]): { pwc: boolean; fwc: boolean } {
  let pwc = false;
  let fwc = false;
  for (const t of tokens) {
    if (t === '*') pwc = true;
    else if (t === '>') fwc = true;
  }
  return { pwc, fwc };
}

function tokensCanMatch(a: string, b: string): boolean {
  if (a === '*' || a === '>' || b === '*' || b === '>') return true;
  return a === b;
}
