import { describe, expect, it } from 'vitest';
import { redactUrl, urlDatabase } from './redact-url.js';

describe('redactUrl', () => {
  it('hides the password however the URL is written, and nothing else', () => {
    expect(redactUrl('postgres://tuban:s3cret@db.example:5432/tuban')).toBe('postgres://tuban:***@db.example:5432/tuban');
    // A password holding @ or : (pg reads up to the last @): no part of it shows.
    expect(redactUrl('postgres://u:p@ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgres://u:pa:ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgresql://u:p%40ss@h/db')).toBe('postgresql://u:***@h/db');
    // A socket, which new URL() refuses.
    expect(redactUrl('postgres://tuban:pw@/tuban?host=/run/postgresql')).toBe('postgres://tuban:***@/tuban?host=/run/postgresql');
    // In the query string.
    expect(redactUrl('postgres://tuban@h/db?password=s3cret&sslmode=require')).toBe('postgres://tuban@h/db?password=***&sslmode=require');
    expect(redactUrl('postgres://h/db?sslmode=verify-full&sslpassword=k3y')).toBe('postgres://h/db?sslmode=verify-full&sslpassword=***');
    expect(redactUrl('redis://h:6379?password=s3cret')).toBe('redis://h:6379?password=***');
    expect(redactUrl('redis://:s3cret@h:6379/0')).toBe('redis://:***@h:6379/0');
    expect(redactUrl('rediss://default:s3cret@h:6380')).toBe('rediss://default:***@h:6380');
    // No password: as it is.
    expect(redactUrl('postgres://tuban@h/db')).toBe('postgres://tuban@h/db');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('reads the database a URL names, in the forms pg takes', () => {
    expect(urlDatabase('postgres://u:p@ss@h:5432/tuban_db')).toBe('tuban_db');
    expect(urlDatabase('postgres://tuban:pw@/tuban?host=/run/postgresql')).toBe('tuban');
    expect(urlDatabase('postgres://h')).toBe('');
  });
});
