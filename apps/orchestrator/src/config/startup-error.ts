/** A dependency named in the configuration cannot be used at start: said in one line, without a stack trace. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
