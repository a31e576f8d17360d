/**
 * Just enough DER to read what TLS authentication needs from an X.509
 * certificate: the subject as encoded (attribute order and multi-valued RDNs
 * matter to nats-server's user mapping, and Node only offers a re-formatted
 * subject string), the subjectAltName entries, and the SubjectPublicKeyInfo
 * bytes that pinned certificates are hashed from.
 */

/** One tag-length-value: `tag` is the identifier octet, the content is buf[start, end). */
interface Tlv {
  tag: number;
  /** Where the identifier octet is. */
  head: number;
  start: number;
  end: number;
}

export class DerError extends Error {
  constructor(message: string) {
    super(`malformed certificate: ${message}`);
    this.name = 'DerError';
  }
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const BOOLEAN = 0x01;
const OCTET_STRING = 0x04;
const CONTEXT_0 = 0xa0;
const CONTEXT_3 = 0xa3;

/** Universal string tags Go's x509 parser turns into strings. */
const UTF8_STRING = 0x0c;
const NUMERIC_STRING = 0x12;
const PRINTABLE_STRING = 0x13;
const T61_STRING = 0x14;
const IA5_STRING = 0x16;
const BMP_STRING = 0x1e;

/** GeneralName choices (context-specific, primitive) in subjectAltName. */
const SAN_EMAIL = 0x81;
const SAN_DNS = 0x82;
const SAN_URI = 0x86;

const OID_SUBJECT_ALT_NAME = '2.5.29.17';

function readTlv(buf: Buffer, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new DerError('truncated element');
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used in certificates');
  let len = buf[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length encoding');
    if (start + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError('element longer than its container');
  return { tag, head: off, start, end };
}

function expect(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new DerError(`expected ${what}`);
  return t;
}

/** The elements inside a constructed element. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.start;
  while (off < parent.end) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

function decodeOid(buf: Buffer, t: Tlv): string {
  expect(t, OID, 'an object identifier');
  if (t.end === t.start) throw new DerError('empty object identifier');
  const first = buf[t.start];
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    v = v * 128 + (buf[i] & 0x7f);
    if ((buf[i] & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  // The first arc pair is packed into one number (40 * X + Y).
  const head = first >= 80 ? [2, parts[0] - 80] : [Math.floor(parts[0] / 40), parts[0] % 40];
  return [...head, ...parts.slice(1)].join('.');
}

/** A directory string's text, or null for value types that are not strings. */
function decodeString(buf: Buffer, t: Tlv): string | null {
  const bytes = buf.subarray(t.start, t.end);
  switch (t.tag) {
    case UTF8_STRING:
    case PRINTABLE_STRING:
    case IA5_STRING:
    case NUMERIC_STRING:
    // Go keeps T61String bytes as they are; read as UTF-8 they compare equal to configured names.
    case T61_STRING:
      return bytes.toString('utf8');
    case BMP_STRING: {
      let n = bytes.length;
      if (n % 2 !== 0) throw new DerError('odd-length BMPString');
      // Go drops a trailing NUL terminator.
      if (n >= 2 && bytes[n - 1] === 0 && bytes[n - 2] === 0) n -= 2;
      let s = '';
      for (let i = 0; i < n; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
      return s;
    }
    default:
      return null;
  }
}

/** One attribute of a relative distinguished name. */
export interface Attribute {
  /** Dotted object identifier, e.g. "2.5.4.3" for CN. */
  oid: string;
  /** The value when it is a string type (null otherwise). */
  value: string | null;
}

/** What the TLS layer reads from a certificate. */
export interface CertificateFields {
  /** Subject RDNs in encoded order (most significant first); each RDN in encoded order. */
  subject: Attribute[][];
  /** DER of the SubjectPublicKeyInfo. */
  spki: Buffer;
  emails: string[];
  dnsNames: string[];
  uris: string[];
}

function readName(buf: Buffer, t: Tlv): Attribute[][] {
  expect(t, SEQUENCE, 'a Name');
  return children(buf, t).map((rdn) => {
    expect(rdn, SET, 'a relative distinguished name');
    return children(buf, rdn).map((atv) => {
      const [type, value] = children(buf, expect(atv, SEQUENCE, 'an attribute'));
      if (type === undefined || value === undefined) throw new DerError('incomplete attribute');
      return { oid: decodeOid(buf, type), value: decodeString(buf, value) };
    });
  });
}

function readSubjectAltName(buf: Buffer, octets: Tlv, out: CertificateFields): void {
  const names = readTlv(buf, octets.start, octets.end);
  for (const n of children(buf, expect(names, SEQUENCE, 'GeneralNames'))) {
    const text = buf.toString('latin1', n.start, n.end);
    if (n.tag === SAN_EMAIL) out.emails.push(text);
    else if (n.tag === SAN_DNS) out.dnsNames.push(text);
    else if (n.tag === SAN_URI) out.uris.push(text);
  }
}

/** Reads the subject, SANs and public key info of a DER certificate; throws DerError. */
export function readCertificate(der: Buffer): CertificateFields {
  const cert = expect(readTlv(der, 0, der.length), SEQUENCE, 'a certificate');
  const [tbs] = children(der, cert);
  if (tbs === undefined) throw new DerError('empty certificate');
  const fields = children(der, expect(tbs, SEQUENCE, 'the to-be-signed certificate'));
  // version is optional ([0] EXPLICIT); the rest have fixed positions after it.
  let i = fields[0]?.tag === CONTEXT_0 ? 1 : 0;
  i += 3; // serialNumber, signature algorithm, issuer
  const validity = fields[i++];
  const subject = fields[i++];
  const spki = fields[i++];
  if (validity === undefined || subject === undefined || spki === undefined) throw new DerError('missing fields');
  const out: CertificateFields = {
    subject: readName(der, subject),
    spki: der.subarray(expect(spki, SEQUENCE, 'SubjectPublicKeyInfo').head, spki.end),
    emails: [],
    dnsNames: [],
    uris: [],
  };
  for (; i < fields.length; i++) {
    if (fields[i].tag !== CONTEXT_3) continue;
    const [list] = children(der, fields[i]);
    if (list === undefined) continue;
    for (const ext of children(der, expect(list, SEQUENCE, 'extensions'))) {
      const parts = children(der, expect(ext, SEQUENCE, 'an extension'));
      if (parts.length < 2 || decodeOid(der, parts[0]) !== OID_SUBJECT_ALT_NAME) continue;
      const value = parts[1].tag === BOOLEAN ? parts[2] : parts[1];
      if (value !== undefined) readSubjectAltName(der, expect(value, OCTET_STRING, 'an extension value'), out);
    }
  }
  return out;
}
