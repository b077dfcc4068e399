/**
 * Waiting for a follower of the log (a projection, the forwarder) to reach a position: `current` is where it is,
 * `onReached` subscribes to each position it reaches next and returns the unsubscribe.
 */
export function waitForPosition(
  current: bigint | undefined,
  position: bigint,
  onReached: (listener: (reached: bigint) => void) => () => void,
  timeoutMs: number,
): Promise<boolean> {
  if (current !== undefined && current >= position) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      off();
      resolve(ok);
    };
    const off = onReached((reached) => {
      if (reached >= position) done(true);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
  });
}
