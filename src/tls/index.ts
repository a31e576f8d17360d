/**
 * TLS for every listener: the `tls` block (config.ts), its files
 * (material.ts), the server side of the handshake with certificate checks
 * (acceptor.ts), the certificate identities verify_and_map looks users up
 * by (identities.ts), and the material the client port shares with HTTPS
 * monitoring (shared.ts).
 */
export {
  DEFAULT_TLS_TIMEOUT_MS, parseTlsBlock, TlsConfigError,
  type TlsBlockContext, type TlsConfig,
} from './config.js';
export { loadTls, loadTlsMaterial, type TlsMaterial } from './material.js';
export { describeTlsError, peerCertificateOf, pinnedCertId, TlsAcceptor, type UpgradeRequest } from './acceptor.js';
export {
  certIdentities, dnEqual, dnSameRdns, parseDistinguishedName, tlsMapUsername,
  type CertIdentities, type DistinguishedName,
} from './identities.js';
export { sharedTlsOf, type SharedTls } from './shared.js';
