/** The End a Contact branches in words a supervisor understands (docs/design.md, End a Contact). */
export type Branch = 'OnSuccess' | 'OnInvalidSecurityUser' | 'OnUnauthorized' | 'OnInvalidContactID' | 'Default';
export const BRANCHES: readonly Branch[] = [
  'OnSuccess',
  'OnInvalidSecurityUser',
  'OnUnauthorized',
  'OnInvalidContactID',
  'Default',
];

const WORDS: Record<Branch, string> = {
  OnSuccess: 'Ended: the contact was disconnected and the end is on record.',
  OnInvalidSecurityUser:
    'Refused because your sign-in is not valid: the token is missing, mistyped, expired or forged, it is the platform token (which may look but not end contacts), or your agent is no longer active. Sign in again with a fresh SecurityUser.',
  OnUnauthorized:
    'Refused because your security profile does not allow ending contacts (it lacks the Contacts.End permission). Ask an administrator to grant it.',
  OnInvalidContactID:
    'Refused because this contact cannot be ended: it is not in your business unit or does not exist, or it has already ended.',
  Default:
    'Not done: the service could not record the end (its store is unavailable). Nothing was changed; try again in a moment.',
};

export const explain = (branch: Branch): string => WORDS[branch];

export const isBranch = (value: unknown): value is Branch =>
  typeof value === 'string' && (BRANCHES as readonly string[]).includes(value);

/** The branch a refused sign-in or read stands for: 401 is an invalid credential, 403 a missing permission. */
export function signInRefusal(status: number): { branch: Branch; words: string } | undefined {
  if (status === 401)
    return {
      branch: 'OnInvalidSecurityUser',
      words:
        'Refused because this token is not valid: it is missing, mistyped, expired or forged, or its agent is no longer active. Ask for a fresh SecurityUser and sign in again.',
    };
  if (status === 403)
    return {
      branch: 'OnUnauthorized',
      words:
        'Refused because your security profile does not allow viewing contacts (it lacks the Contacts.View permission). Ask an administrator to grant it.',
    };
  return undefined;
}
