/**
 * How the `natter` tool fails: one line on stderr and an exit code, never a
 * stack trace. Errors from the NATS clients are turned into the sentence a
 * shell user needs (which server, which subject, which operation).
 */
import { errors as coreErrors } from '@nats-io/transport-node';

/** What @nats-io/jetstream's JetStreamApiError (and its subclasses) carry; matched by shape so errors.ts need not load the JetStream client. */
interface JetStreamApiErrorShape {
  apiError(): { code: number; err_code: number; description: string };
}

function isJetStreamApiError(e: unknown): e is Error & JetStreamApiErrorShape {
  return e instanceof Error && typeof (e as Partial<JetStreamApiErrorShape>).apiError === 'function';
}

/** A failure the tool itself detected (bad flag, bad file, not found). */
export class ToolError extends Error {}

/** The one line printed for `e`, without the `natter:` prefix. */
export function describeError(e: unknown, server?: string): string {
  if (e instanceof ToolError) return e.message;
  if (e instanceof coreErrors.PermissionViolationError) {
    const op = e.operation === 'publish' ? 'publish to' : 'subscribe to';
    const queue = e.queue ? ` (queue ${JSON.stringify(e.queue)})` : '';
    return `permissions violation: not allowed to ${op} ${JSON.stringify(e.subject)}${queue}`;
  }
  if (e instanceof coreErrors.AuthorizationError) return `authorization violation${server ? ` connecting to ${server}` : ''}: wrong or missing credentials`;
  if (e instanceof coreErrors.UserAuthenticationExpiredError) return `user authentication expired${server ? ` on ${server}` : ''}`;
  if (e instanceof coreErrors.NoRespondersError) return `no responders on subject ${JSON.stringify(e.subject)}`;
  if (e instanceof coreErrors.TimeoutError) return 'timeout waiting for a response';
  if (e instanceof coreErrors.RequestError) return describeError(e.cause ?? new Error(e.message), server);
  if (isJetStreamApiError(e)) {
    const api = e.apiError();
    return `${api.description} (JetStream error ${api.err_code}, status ${api.code})`;
  }
  if (e instanceof coreErrors.ConnectionError) {
    return `cannot connect${server ? ` to ${server}` : ''}: ${e.message}`;
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') return `cannot connect${server ? ` to ${server}` : ''}: ${e.message}`;
    return e.message;
  }
  return String(e);
}
