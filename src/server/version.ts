/**
 * The nats-server feature level Natter implements. Clients switch features on
 * INFO `version` (e.g. headers, JetStream API level), so this must only move
 * when the features behind it are real.
 */
export const SERVER_VERSION = '2.10.0';
/** Natter's own release, reported alongside. */
export const NATTER_VERSION = '0.1.0';
/** Protocol level advertised in INFO. */
export const PROTO_VERSION = 1;
