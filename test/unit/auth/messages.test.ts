/** Messages people read: roles with the right article, password advice that says what it found. */
import { describe, expect, it } from 'vitest';
import { passwordProblems } from '../../../src/auth/passwords.ts';
import { roleWithArticle } from '../../../src/auth/permissions.ts';

describe('messages', () => {
  it('names roles with their article', () => {
    expect(roleWithArticle('admin', true)).toBe('An admin');
    expect(roleWithArticle('owner')).toBe('an owner');
    expect(roleWithArticle('member', true)).toBe('A member');
  });

  it('says which part of the email address the password contains', () => {
    expect(passwordProblems('kumquat-Harbour-29!', { email: 'kumquat@example.org' })).toEqual(['must not contain "kumquat" from your email address']);
    expect(passwordProblems('lantern-Harbour-29!', { email: 'kumquat@example.org' })).toEqual([]);
  });
});
