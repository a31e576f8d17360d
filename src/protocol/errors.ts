/** nats-server's client-facing error strings, sent as `-ERR '<text>'`. */
export const ERR = {
  unknownOp: 'Unknown Protocol Operation',
  maxPayload: 'Maximum Payload Violation',
  // nats-server 2.9.10 sends this one in lower case.
  maxControlLine: 'maximum control line exceeded',
  invalidSubject: 'Invalid Subject',
  invalidPublishSubject: 'Invalid Publish Subject',
  authViolation: 'Authorization Violation',
  authTimeout: 'Authentication Timeout',
  staleConnection: 'Stale Connection',
  maxConnections: 'maximum connections exceeded',
  maxSubscriptions: 'maximum subscriptions exceeded',
  noRespondersNeedsHeaders: 'no responders requires headers support',
  tlsRequired: 'Secure Connection - TLS Required',
} as const;

/** Builds the wire form of an error. */
export function errLine(text: string): string {
  return `-ERR '${text}'\r\n`;
}
