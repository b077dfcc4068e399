import { describe, expect, it } from 'vitest';
import { BRANCHES, type Branch } from './contact.js';
import { DEFAULT_SECURITY_USER_VARIABLE, resolveInput, selectBranch } from './studio-action.js';

describe('resolveInput', () => {
  const variables = { SecurityUser: 'eyJ.token.sig', ContactID: '4000123456789', 'global.ContactId': '77' };

  it('returns a literal as is', () => {
    expect(resolveInput('4000123456789', variables)).toStrictEqual({ ok: true, value: '4000123456789' });
  });

  it('returns a literal with surrounding whitespace untouched (the contact ID rule then judges it)', () => {
    expect(resolveInput(' 123', variables)).toStrictEqual({ ok: true, value: ' 123' });
  });

  it('resolves the default {SecurityUser} reference', () => {
    expect(DEFAULT_SECURITY_USER_VARIABLE).toBe('SecurityUser');
    expect(resolveInput(`{${DEFAULT_SECURITY_USER_VARIABLE}}`, variables)).toStrictEqual({
      ok: true,
      value: 'eyJ.token.sig',
    });
  });

  it('resolves a {ContactID} reference', () => {
    expect(resolveInput('{ContactID}', variables)).toStrictEqual({ ok: true, value: '4000123456789' });
  });

  it('resolves a dotted variable name', () => {
    expect(resolveInput('{global.ContactId}', variables)).toStrictEqual({ ok: true, value: '77' });
  });

  it('is case-sensitive on variable names', () => {
    expect(resolveInput('{contactid}', variables)).toStrictEqual({
      ok: false,
      detail: 'variable {contactid} is not defined',
    });
  });

  it('an undefined variable is an error naming it', () => {
    expect(resolveInput('{MissingVar}', variables)).toStrictEqual({
      ok: false,
      detail: 'variable {MissingVar} is not defined',
    });
  });

  it.each(['toString', 'constructor', 'hasOwnProperty'])(
    '{%s} is undefined too: only the script variables count',
    (name) => {
      expect(resolveInput(`{${name}}`, variables)).toStrictEqual({
        ok: false,
        detail: `variable {${name}} is not defined`,
      });
    },
  );

  it('resolves an empty-string variable to the empty string (the rules then refuse it)', () => {
    expect(resolveInput('{ContactID}', { ContactID: '' })).toStrictEqual({ ok: true, value: '' });
  });

  it.each([' {ContactID}', '{ContactID} ', '  {ContactID}\t', '\n{ContactID}\n'])(
    'tolerates whitespace around the braces: %j',
    (input) => {
      expect(resolveInput(input, variables)).toStrictEqual({ ok: true, value: '4000123456789' });
    },
  );

  it.each(['{ContactID', 'ContactID}', '{}', '{1abc}', 'x{ContactID}', '{ContactID}{SecurityUser}'])(
    'treats %j as a literal, not a reference',
    (input) => {
      expect(resolveInput(input, variables)).toStrictEqual({ ok: true, value: input });
    },
  );
});

describe('selectBranch', () => {
  const conditions = BRANCHES.filter((branch): branch is Exclude<Branch, 'Default'> => branch !== 'Default');

  it('knows the four seed branches plus Default', () => {
    expect([...BRANCHES].sort()).toStrictEqual([
      'Default',
      'OnInvalidContactID',
      'OnInvalidSecurityUser',
      'OnSuccess',
      'OnUnauthorized',
    ]);
  });

  it.each(conditions)('%s: without a list of defined branches the condition is taken', (condition) => {
    expect(selectBranch(condition)).toBe(condition);
  });

  it.each(conditions)('%s: taken when the script defines it', (condition) => {
    expect(selectBranch(condition, [condition, 'Default'])).toBe(condition);
  });

  it.each(conditions)('%s: Default when the script does not define it', (condition) => {
    const others = conditions.filter((other) => other !== condition);
    expect(selectBranch(condition, others)).toBe('Default');
  });

  it('an empty list of defined branches sends everything to Default', () => {
    expect(selectBranch('OnSuccess', [])).toBe('Default');
  });

  it('Default stays Default whatever the list', () => {
    expect(selectBranch('Default')).toBe('Default');
    expect(selectBranch('Default', ['OnSuccess'])).toBe('Default');
  });

  it('matches branch names exactly (case-sensitive)', () => {
    expect(selectBranch('OnSuccess', ['onsuccess'])).toBe('Default');
  });
});
