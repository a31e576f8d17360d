/**
 * Node reports system errors as `ENOENT: no such file or directory, open 'x'`;
 * nats-server (Go) reports the same failure as `open x: no such file or
 * directory`. Operators and scripts compare the two servers' output, so the
 * command line and the file logger describe system errors the Go way.
 */

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
  ESRCH: 'no such process',
  EINVAL: 'invalid argument',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

interface SystemErrorLike {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  message?: unknown;
}

/** The Go strerror text for an errno code, or undefined when unknown. */
export function strerror(code: string): string | undefined {
  return STRERROR[code];
}

/** `open /x: no such file or directory` for fs errors; the message otherwise. */
export function describeSystemError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as SystemErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const text = code !== undefined ? STRERROR[code] : undefined;
  if (text === undefined) return typeof e.message === 'string' ? e.message : String(err);
  // Go names the operation `open` for every way of opening a file.
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  const path = typeof e.path === 'string' ? e.path : undefined;
  if (syscall !== undefined && path !== undefined) return `${syscall} ${path}: ${text}`;
  return text;
}
