/**
 * Loads what a `tls` block names: the certificate chain, its private key and
 * the CA bundle. Problems are reported as nats-server reports them (Go's
 * `tls.LoadX509KeyPair` wording under "error parsing X509 certificate/key
 * pair: ..."), with the file named where Go's text would not say which one.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { strerror } from '../log/errno.js';
import { opensslCiphers, opensslCurves, parseTlsBlock, TlsConfigError, type TlsBlockContext, type TlsConfig } from './config.js';

export interface TlsMaterial {
  readonly config: TlsConfig;
  /** The certificate this side presents (the first of cert_file), null without one. */
  readonly certificate: X509Certificate | null;
  /** Options for tls.createServer, https.createServer and setSecureContext. */
  readonly contextOptions: tls.SecureContextOptions;
}

const PAIR = 'error parsing X509 certificate/key pair';

interface PemBlock {
  type: string;
  text: string;
}

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([^-\r\n]+)-----[\s\S]*?-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ type: m[1], text: m[0] });
  return out;
}

/** Go's `open <file>: <reason>` for a file that cannot be read. */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    // Go opens first, then reads: a directory opens fine and fails to read.
    const op = code === 'EISDIR' ? 'read' : 'open';
    throw new TlsConfigError(`${op} ${path}: ${strerror(code) ?? (e as Error).message}`);
  }
}

function loadPair(certFile: string, keyFile: string): { chain: string; key: string; leaf: X509Certificate } {
  let certText: string;
  let keyText: string;
  try {
    certText = readText(certFile);
    keyText = readText(keyFile);
  } catch (e) {
    throw new TlsConfigError(`${PAIR}: ${(e as Error).message}`);
  }
  const fail = (why: string, file: string): TlsConfigError => new TlsConfigError(`${PAIR}: ${why} (${file})`);

  const certBlocks = pemBlocks(certText);
  const certs = certBlocks.filter((b) => b.type === 'CERTIFICATE');
  if (certs.length === 0) {
    if (certBlocks.length === 0) throw fail('tls: failed to find any PEM data in certificate input', `cert_file ${certFile}`);
    if (certBlocks.length === 1 && certBlocks[0].type.endsWith('PRIVATE KEY')) {
      throw fail('tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched', `cert_file ${certFile}`);
    }
    throw fail(`tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${certBlocks.map((b) => b.type).join(' ')}]`, `cert_file ${certFile}`);
  }

  const keyBlocks = pemBlocks(keyText);
  const keyBlock = keyBlocks.find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
  if (keyBlock === undefined) {
    if (keyBlocks.length === 0) throw fail('tls: failed to find any PEM data in key input', `key_file ${keyFile}`);
    if (keyBlocks.length === 1 && keyBlocks[0].type === 'CERTIFICATE') throw fail('tls: found a certificate rather than a key in the PEM for the private key', `key_file ${keyFile}`);
    throw fail(`tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${keyBlocks.map((b) => b.type).join(' ')}]`, `key_file ${keyFile}`);
  }

  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0].text);
  } catch {
    throw fail('x509: malformed certificate', `cert_file ${certFile}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyBlock.text);
  } catch {
    throw fail('tls: failed to parse private key', `key_file ${keyFile}`);
  }
  if (leaf.publicKey.asymmetricKeyType !== key.asymmetricKeyType) {
    throw fail('tls: private key type does not match public key type', `key_file ${keyFile} for cert_file ${certFile}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw fail('tls: private key does not match public key', `key_file ${keyFile} for cert_file ${certFile}`);
  }
  return { chain: certs.map((b) => b.text).join('\n'), key: keyBlock.text, leaf };
}

/** The CA certificates that parse; nats-server only refuses a file where none does. */
function loadCa(caFile: string): string[] {
  const usable = pemBlocks(readText(caFile)).filter((b) => {
    if (b.type !== 'CERTIFICATE') return false;
    try {
      new X509Certificate(b.text);
      return true;
    } catch {
      return false;
    }
  });
  if (usable.length === 0) throw new TlsConfigError('failed to parse root ca certificate');
  return usable.map((b) => b.text);
}

/** Reads and checks the files a parsed block names; throws TlsConfigError. */
export function loadTlsMaterial(config: TlsConfig): TlsMaterial {
  const options: tls.SecureContextOptions = {
    ciphers: opensslCiphers(config),
    ecdhCurve: opensslCurves(config),
    minVersion: config.minVersion,
    // Go's PreferServerCipherSuites.
    honorCipherOrder: true,
  };
  let certificate: X509Certificate | null = null;
  if (config.certFile !== null && config.keyFile !== null) {
    const pair = loadPair(config.certFile, config.keyFile);
    options.cert = pair.chain;
    options.key = pair.key;
    certificate = pair.leaf;
  }
  if (config.caFile !== null) options.ca = loadCa(config.caFile);
  try {
    // Building a context once here is the check that OpenSSL takes all of it
    // (e.g. a cipher list it no longer supports) before any listener uses it.
    tls.createSecureContext(options);
  } catch (e) {
    // OpenSSL's "error:0A0000B9:SSL routines::no cipher match" reads better as its reason alone.
    const reason = (e as Error).message.replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '');
    throw new TlsConfigError(`error creating TLS context: ${reason}`);
  }
  return { config, certificate, contextOptions: options };
}

/** Parses a `tls` block and loads its files; throws TlsConfigError with nats-server's text. */
export function loadTls(raw: unknown, context: TlsBlockContext = 'client'): TlsMaterial {
  return loadTlsMaterial(parseTlsBlock(raw, context));
}
