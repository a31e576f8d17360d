/**
 * Account names with a fixed meaning. Kept apart from the Account class so
 * that configuration, authentication and monitoring can name accounts
 * without importing the runtime.
 */

/** The global account nats-server uses when no accounts are configured. */
export const GLOBAL_ACCOUNT = '$G';
