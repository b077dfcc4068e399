/**
 * Start-up checks of the secrets the operator gives (issue 14, L5 and M3): long enough, not guessable by their
 * character mix (an estimate: length × the Shannon entropy of the characters used), and not one of the example
 * values written in this repository (compose file, README), which anyone can read.
 */

/** Values the repository shows as examples: a service started with one of them is a forgeable service. */
export const EXAMPLE_SECRETS: readonly string[] = [
  'local-dev-platform-token-change-me',
  'local-dev-signing-key-change-me-0123456789abcdef',
  'change-me-please-now',
];

export const PLATFORM_TOKEN_MIN = { characters: 24, bits: 72 };
export const SIGNING_KEY_MIN = { bytes: 32, bits: 128 };

/** Estimated bits: a random 24-character base64url token scores 80-105, 32 random bytes as base64url about 190-215. */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  const characters = [...value];
  for (const c of characters) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perCharacter = 0;
  for (const n of counts.values()) {
    const p = n / characters.length;
    perCharacter -= p * Math.log2(p);
  }
  return perCharacter * characters.length;
}

const looksLikeExample = (value: string): boolean => EXAMPLE_SECRETS.includes(value) || /change-?me/i.test(value);

/** Why the platform token is refused, or undefined when it is acceptable. */
export function platformTokenProblem(value: string): string | undefined {
  if (looksLikeExample(value)) return 'is an example value from this repository: generate one (openssl rand -base64 32)';
  if ([...value].length < PLATFORM_TOKEN_MIN.characters) return `must be at least ${PLATFORM_TOKEN_MIN.characters} characters`;
  if (estimatedEntropyBits(value) < PLATFORM_TOKEN_MIN.bits) return `is too predictable (under ${PLATFORM_TOKEN_MIN.bits} bits estimated): generate one (openssl rand -base64 32)`;
  return undefined;
}

/** Why a signing key is refused, or undefined when it is acceptable. */
export function signingKeyProblem(value: string): string | undefined {
  if (looksLikeExample(value)) return 'is an example value from this repository: generate one (openssl rand -base64 32)';
  if (Buffer.byteLength(value) < SIGNING_KEY_MIN.bytes) return `must be at least ${SIGNING_KEY_MIN.bytes} bytes (HS256)`;
  if (estimatedEntropyBits(value) < SIGNING_KEY_MIN.bits) return `is too predictable (under ${SIGNING_KEY_MIN.bits} bits estimated): generate one (openssl rand -base64 32)`;
  return undefined;
}
