/** A user error in a `natter auth` command: printed as one line, exit status 1, no stack trace. */
export class AuthCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthCliError';
  }
}
