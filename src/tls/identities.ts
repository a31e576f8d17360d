/**
 * The identities a client certificate offers to `verify_and_map`, as the
 * strings nats-server compares with configured user names:
 *
 * - SAN emails, DNS names and URIs, as written in the certificate;
 * - the subject in Go's `pkix.Name.ToRDNSequence().String()` form. That form
 *   is not the certificate's own order: Go rebuilds the sequence from the
 *   standard attributes in a fixed order (C, ST, L, STREET, POSTALCODE, O, OU,
 *   CN, SERIALNUMBER), merges repeated attributes into one multi-valued RDN,
 *   drops every other attribute type, and prints it last-first. A cfssl or
 *   `openssl -subj /OU=CNCF/CN=nats.io` certificate prints `CN=nats.io,OU=CNCF`;
 * - the same string with `,DC=...` appended when the subject has domain components;
 * - the subject parsed as nats-server's LDAP DN code reads the raw subject,
 *   which configured names are compared with as distinguished names
 *   (attribute types case-insensitive, RDNs in order, then in any order).
 *
 * `tlsMapUsername` applies nats-server's order of those checks.
 */
import { X509Certificate } from 'node:crypto';
import { readCertificate, type Attribute } from './der.js';

/** Attribute names Go's pkix package prints (others print as dotted OIDs, which nats-server never matches). */
const GO_STANDARD: ReadonlyMap<string, string> = new Map([
  ['2.5.4.6', 'C'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.7', 'L'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.17', 'POSTALCODE'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.3', 'CN'],
  ['2.5.4.5', 'SERIALNUMBER'],
]);

/** The order `ToRDNSequence` emits the standard attributes in (it prints them reversed). */
const GO_SEQUENCE_ORDER = ['2.5.4.6', '2.5.4.8', '2.5.4.7', '2.5.4.9', '2.5.4.17', '2.5.4.10', '2.5.4.11', '2.5.4.3', '2.5.4.5'];

/** Attributes that hold one value in Go's parsed name: the last one in the certificate wins. */
const SINGLE_VALUED = new Set(['2.5.4.3', '2.5.4.5']);

const OID_DOMAIN_COMPONENT = '0.9.2342.19200300.100.1.25';

/** Attribute types nats-server's DN parser knows; a subject with any other type is not a DN to it. */
const LDAP_TYPES: ReadonlyMap<string, string> = new Map([...GO_STANDARD, [OID_DOMAIN_COMPONENT, 'DC']]);

/** A distinguished name: RDNs most specific first (RFC 4514 order), each a set of type=value pairs. */
export type DistinguishedName = ReadonlyArray<ReadonlyArray<{ readonly type: string; readonly value: string }>>;

export interface CertIdentities {
  /** SAN rfc822Name entries, in certificate order. */
  readonly emails: readonly string[];
  /** SAN dNSName entries, in certificate order. */
  readonly dnsNames: readonly string[];
  /** SAN URI entries, in certificate order. */
  readonly uris: readonly string[];
  /** Go's RDN sequence string of the subject, e.g. `CN=nats.io,OU=CNCF` (may be ''). */
  readonly subject: string;
  /** `subject` followed by the subject's domain components (`,DC=nats,DC=io`), or null without any. */
  readonly subjectWithDomainComponents: string | null;
  /** The raw subject as nats-server's DN matcher reads it, or null when it holds attribute types that matcher refuses. */
  readonly dn: DistinguishedName | null;
}

/** Go's escaping in RDNSequence.String(). */
function escapeValue(v: string): string {
  let out = '';
  // Go tests the position in bytes: "first" is offset 0, "last" is the final byte.
  const lastByte = Buffer.byteLength(v) - 1;
  let offset = 0;
  for (const ch of v) {
    let escape = false;
    switch (ch) {
      case ',':
      case '+':
      case '"':
      case '\\':
      case '<':
      case '>':
      case ';':
        escape = true;
        break;
      case ' ':
        escape = offset === 0 || offset === lastByte;
        break;
      case '#':
        escape = offset === 0;
        break;
    }
    out += escape ? '\\' + ch : ch;
    offset += Buffer.byteLength(ch);
  }
  return out;
}

function goSubjectString(subject: Attribute[][]): string {
  const values = new Map<string, string[]>();
  for (const rdn of subject) {
    for (const a of rdn) {
      if (a.value === null || !GO_STANDARD.has(a.oid)) continue;
      if (SINGLE_VALUED.has(a.oid)) values.set(a.oid, [a.value]);
      else values.set(a.oid, [...(values.get(a.oid) ?? []), a.value]);
    }
  }
  const sequence: string[] = [];
  for (const oid of GO_SEQUENCE_ORDER) {
    const vs = values.get(oid);
    // Go leaves out an empty CN or serial number, but keeps empty strings in the list attributes.
    if (vs === undefined || (SINGLE_VALUED.has(oid) && vs[0] === '')) continue;
    const name = GO_STANDARD.get(oid) ?? oid;
    sequence.push(vs.map((v) => `${name}=${escapeValue(v)}`).join('+'));
  }
  return sequence.reverse().join(',');
}

function domainComponents(subject: Attribute[][]): string[] {
  const dcs: string[] = [];
  for (const rdn of subject) {
    for (const a of rdn) if (a.oid === OID_DOMAIN_COMPONENT && a.value !== null) dcs.push(`DC=${a.value}`);
  }
  return dcs;
}

/** nats-server's reading of the raw subject: reversed, each RDN reversed, known types only. */
function ldapDn(subject: Attribute[][]): DistinguishedName | null {
  const out: Array<Array<{ type: string; value: string }>> = [];
  for (let i = subject.length - 1; i >= 0; i--) {
    const rdn = subject[i];
    if (rdn.length === 0) continue;
    const attrs: Array<{ type: string; value: string }> = [];
    for (let j = rdn.length - 1; j >= 0; j--) {
      const type = LDAP_TYPES.get(rdn[j].oid);
      const value = rdn[j].value;
      if (type === undefined || value === null) return null;
      attrs.push({ type, value });
    }
    out.push(attrs);
  }
  return out;
}

/** The verify_and_map identities of a certificate (DER bytes or a Node X509Certificate). */
export function certIdentities(cert: X509Certificate | Buffer): CertIdentities {
  const f = readCertificate(cert instanceof X509Certificate ? cert.raw : cert);
  const subject = goSubjectString(f.subject);
  const dcs = domainComponents(f.subject);
  return {
    emails: f.emails,
    dnsNames: f.dnsNames,
    uris: f.uris,
    subject,
    subjectWithDomainComponents: dcs.length > 0 ? [subject, ...dcs].join(',') : null,
    dn: ldapDn(f.subject),
  };
}

/**
 * Parses a configured user name as a distinguished name the way nats-server
 * does (`CN=nats.io,OU=CNCF`, `+` for multi-valued RDNs, backslash escapes
 * including `\2C` hex pairs). Returns null for text that is not a DN.
 */
export function parseDistinguishedName(text: string): DistinguishedName | null {
  const dn: Array<Array<{ type: string; value: string }>> = [];
  let rdn: Array<{ type: string; value: string }> = [];
  let type = '';
  let buffer: number[] = [];
  let trailingSpaces = 0;
  let escaping = false;
  const bytes = Buffer.from(text, 'utf8');
  const take = (): string => {
    const s = Buffer.from(buffer.slice(0, buffer.length - trailingSpaces)).toString('utf8');
    buffer = [];
    trailingSpaces = 0;
    return s;
  };
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (escaping) {
      trailingSpaces = 0;
      escaping = false;
      // ' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\' stand for themselves.
      if ([0x20, 0x22, 0x23, 0x2b, 0x2c, 0x3b, 0x3c, 0x3d, 0x3e, 0x5c].includes(c)) {
        buffer.push(c);
        continue;
      }
      const hex = bytes.toString('latin1', i, i + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      buffer.push(parseInt(hex, 16));
      i++;
    } else if (c === 0x5c) {
      trailingSpaces = 0;
      escaping = true;
    } else if (c === 0x3d) {
      type = take();
      // nats-server does not take BER-encoded (#hex) values.
      if (bytes[i + 1] === 0x23) return null;
    } else if (c === 0x2c || c === 0x2b) {
      if (type === '') return null;
      rdn.push({ type, value: take() });
      type = '';
      if (c === 0x2c) {
        dn.push(rdn);
        rdn = [];
      }
    } else if (c === 0x20 && buffer.length === 0) {
      continue;
    } else {
      trailingSpaces = c === 0x20 ? trailingSpaces + 1 : 0;
      buffer.push(c);
    }
  }
  if (buffer.length > 0) {
    if (type === '') return null;
    rdn.push({ type, value: take() });
    dn.push(rdn);
  }
  return dn;
}

type Rdn = DistinguishedName[number];

function sameRdn(a: Rdn, b: Rdn): boolean {
  const has = (set: Rdn, x: Rdn[number]): boolean => set.some((y) => y.type.toLowerCase() === x.type.toLowerCase() && y.value === x.value);
  return a.length === b.length && a.every((x) => has(b, x)) && b.every((x) => has(a, x));
}

/** Same RDNs in the same order (attribute types compared case-insensitively, values exactly). */
export function dnEqual(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.length === b.length && a.every((rdn, i) => sameRdn(rdn, b[i]));
}

/** Same RDNs in any order: what nats-server accepts when a configured DN lists them differently. */
export function dnSameRdns(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameRdn(x, y)));
}

/**
 * Which configured user name a certificate maps to under verify_and_map, in
 * nats-server's order: SAN emails, then SAN DNS names, then SAN URIs (each
 * looked up literally), then the subject as a distinguished name (exact RDN
 * order first, then any order), then the subject string with its domain
 * components, then the subject string alone. `usernames` are the names of the
 * users this connection may log in as. Returns the matching name or null.
 */
export function tlsMapUsername(ids: CertIdentities, usernames: Iterable<string>): string | null {
  const names = new Set(usernames);
  for (const candidate of [...ids.emails, ...ids.dnsNames, ...ids.uris]) {
    if (names.has(candidate)) return candidate;
  }
  if (ids.dn !== null) {
    const parsed: Array<[string, DistinguishedName]> = [];
    for (const name of names) {
      const dn = parseDistinguishedName(name);
      if (dn === null) continue;
      if (dnEqual(dn, ids.dn)) return name;
      parsed.push([name, dn]);
    }
    for (const [name, dn] of parsed) if (dnSameRdns(dn, ids.dn)) return name;
  }
  if (ids.subjectWithDomainComponents !== null && names.has(ids.subjectWithDomainComponents)) return ids.subjectWithDomainComponents;
  return names.has(ids.subject) ? ids.subject : null;
}
