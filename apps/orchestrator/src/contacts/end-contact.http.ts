/** How an EndContact answer reads over REST and as a Studio action (docs/design.md, HTTP). One mapping, two shapes. */
import { DISCONNECT_REASON, type Branch } from '#contacts';
import type { EndContactResult } from './end-contact.command.js';

export type ActionError = { code: string; message: string };

export function httpStatusOf(result: EndContactResult): number {
  switch (result.branch) {
    case 'OnSuccess':
      return 200;
    case 'OnInvalidSecurityUser':
      return 401;
    case 'OnUnauthorized':
      return 403;
    case 'OnInvalidContactID':
      return result.cause === 'Malformed' ? 400 : result.cause === 'NotFound' ? 404 : 409;
    case 'Default':
      return 503;
  }
}

export function errorOf(result: EndContactResult): ActionError | undefined {
  switch (result.branch) {
    case 'OnSuccess':
      return undefined;
    case 'OnInvalidSecurityUser':
      return { code: 'InvalidSecurityUser', message: result.detail };
    case 'OnUnauthorized':
      return { code: 'Unauthorized', message: result.detail };
    case 'OnInvalidContactID':
      return { code: 'InvalidContactID', message: result.detail };
    case 'Default':
      return { code: 'StoreUnavailable', message: result.detail };
  }
}

export function outputsOf(result: EndContactResult): Record<string, string> {
  return result.branch === 'OnSuccess' ? { __DISCONNECTREASON: DISCONNECT_REASON } : {};
}

/** The REST body: `{contactId, branch, outputs?, endedAt?, position?, error?}`. */
export function restBodyOf(result: EndContactResult): Record<string, unknown> {
  const error = errorOf(result);
  return {
    contactId: result.contactId,
    branch: result.branch,
    ...(result.branch === 'OnSuccess'
      ? { outputs: outputsOf(result), endedAt: result.endedAt, position: result.position }
      : {}),
    ...(error ? { error } : {}),
  };
}

/** The Studio action body: always 200 `{branch, condition, outputs, error?}`; branch falls back to Default. */
export function studioBodyOf(result: EndContactResult, branch: Branch): Record<string, unknown> {
  const error = errorOf(result);
  return { branch, condition: result.branch, outputs: outputsOf(result), ...(error ? { error } : {}) };
}
