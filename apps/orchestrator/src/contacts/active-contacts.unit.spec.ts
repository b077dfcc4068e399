import { describe, expect, it } from 'vitest';
import { ActiveContacts, type ActiveContact } from './active-contacts.js';

const contact = (contactId: string, extra: Partial<ActiveContact> = {}): ActiveContact => ({
  status: 'Active',
  contactId,
  businessUnitId: 'bu-1',
  mediaType: 'Chat',
  startedAt: '2026-11-27T10:00:00.000Z',
  ...extra,
});

describe('ActiveContacts', () => {
  it('gives back the contact as it was started, with its revision, skill or not', () => {
    const active = new ActiveContacts();
    active.remember(contact('1'), 0n);
    active.remember(contact('2', { skill: 'billing', mediaType: 'Phone' }), 3n);
    expect(active.recall('1')).toEqual({ state: contact('1'), revision: 0n });
    expect(active.recall('2')).toEqual({ state: contact('2', { skill: 'billing', mediaType: 'Phone' }), revision: 3n });
    expect(active.recall('3')).toBeUndefined();
    expect(active.lookups).toEqual({ hits: 2, misses: 1 });
  });

  it('forgets an ended contact', () => {
    const active = new ActiveContacts();
    active.remember(contact('1'), 0n);
    active.forget('1');
    expect(active.recall('1')).toBeUndefined();
    expect(active.size).toBe(0);
  });

  it('holds at most its capacity, forgetting the contact started longest ago', () => {
    const active = new ActiveContacts(2);
    active.remember(contact('1'), 0n);
    active.remember(contact('2'), 0n);
    active.remember(contact('3'), 0n);
    expect(active.size).toBe(2);
    expect(active.recall('1')).toBeUndefined();
    expect(active.recall('2')?.state.contactId).toBe('2');
    expect(active.recall('3')?.state.contactId).toBe('3');
  });

  it('forgets the contact least recently started or recalled first', () => {
    const active = new ActiveContacts(2);
    active.remember(contact('1'), 0n);
    active.remember(contact('2'), 0n);
    active.recall('1');
    active.remember(contact('3'), 0n);
    expect(active.recall('2')).toBeUndefined();
    expect(active.recall('1')?.state.contactId).toBe('1');
    expect(active.recall('3')?.state.contactId).toBe('3');
  });

  it('holds at most its bytes, forgetting the contact started longest ago', () => {
    const one = 'x'.repeat(100);
    const active = new ActiveContacts(1_000, 1_100);
    for (let i = 1; i <= 5; i++) active.remember(contact(String(i), { skill: one, businessUnitId: one }), 0n);
    expect(active.bytes).toBeLessThanOrEqual(1_100);
    expect(active.size).toBe(3);
    expect(active.recall('2')).toBeUndefined();
    expect(active.recall('5')?.state.skill).toBe(one);
    active.forget('5');
    active.forget('4');
    active.forget('3');
    expect(active.bytes).toBe(0);
  });

  it('keeps nothing at capacity 0, nor a contact whose fields hold its separator', () => {
    const none = new ActiveContacts(0);
    none.remember(contact('1'), 0n);
    expect(none.recall('1')).toBeUndefined();
    const active = new ActiveContacts();
    active.remember(contact('1', { skill: 'a\u0000b' }), 0n);
    expect(active.recall('1')).toBeUndefined();
  });
});
