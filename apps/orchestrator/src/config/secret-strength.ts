/**
 * Start-up checks of the secrets the operator gives: long enough, not guessable by their character mix or their
 * sequence (an estimate: see estimatedEntropyBits), and not one of the example values written in this repository
 * (compose file, README), which anyone can read.
 */

/** Values the repository shows as examples: a service started with one of them is a forgeable service. */
export const EXAMPLE_SECRETS: readonly string[] = [
  'local-dev-platform-token-change-me',
  'local-dev-signing-key-change-me-0123456789abcdef',
  'change-me-please-now',
];

export const PLATFORM_TOKEN_MIN = { characters: 24, bits: 72 };
export const SIGNING_KEY_MIN = { bytes: 32, bits: 128 };

/** Shannon entropy of a list of symbols, times their count: bits if each were drawn independently. */
function entropyOf<T>(symbols: readonly T[]): number {
  const counts = new Map<T, number>();
  for (const symbol of symbols) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  let perSymbol = 0;
  for (const n of counts.values()) {
    const p = n / symbols.length;
    perSymbol -= p * Math.log2(p);
  }
  return perSymbol * symbols.length;
}

/**
 * Estimated bits, the lower of two estimates: the characters used (catches `aaaa…`, few distinct characters) and
 * the steps between consecutive characters (catches sequences such as `abcdef…`, `0123…`, `zyx…` and repeated
 * blocks such as `abcabc…`, whose characters are all distinct but whose steps are few). A random 24-character
 * base64url token scores 80-105, 32 random bytes as base64url about 190-215.
 */
export function estimatedEntropyBits(value: string): number {
  const codePoints = [...value].map((c) => c.codePointAt(0)!);
  const steps = codePoints.slice(1).map((c, i) => c - codePoints[i]!);
  return Math.min(entropyOf(codePoints), entropyOf(steps));
}

const looksLikeExample = (value: string): boolean => EXAMPLE_SECRETS.includes(value) || /change-?me/i.test(value);

/** Why the platform token is refused, or undefined when it is acceptable. */
export function platformTokenProblem(value: string): string | undefined {
  if (looksLikeExample(value))
    return 'is an example value from this repository: generate one (openssl rand -base64 32)';
  if ([...value].length < PLATFORM_TOKEN_MIN.characters)
    return `must be at least ${PLATFORM_TOKEN_MIN.characters} characters`;
  if (estimatedEntropyBits(value) < PLATFORM_TOKEN_MIN.bits)
    return `is too predictable (under ${PLATFORM_TOKEN_MIN.bits} bits estimated): generate one (openssl rand -base64 32)`;
  return undefined;
}

/** Why a signing key is refused, or undefined when it is acceptable. */
export function signingKeyProblem(value: string): string | undefined {
  if (looksLikeExample(value))
    return 'is an example value from this repository: generate one (openssl rand -base64 32)';
  if (Buffer.byteLength(value) < SIGNING_KEY_MIN.bytes)
    return `must be at least ${SIGNING_KEY_MIN.bytes} bytes (HS256)`;
  if (estimatedEntropyBits(value) < SIGNING_KEY_MIN.bits)
    return `is too predictable (under ${SIGNING_KEY_MIN.bits} bits estimated): generate one (openssl rand -base64 32)`;
  return undefined;
}
