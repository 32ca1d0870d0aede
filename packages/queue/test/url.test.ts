import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactUrl } from '../src/index.js';

describe('Redis URLs', () => {
  it('reads host, port, database, user and password, and TLS from rediss://', () => {
    expect(parseRedisUrl('redis://alice:p%40ss@db.lab:6380/3')).toEqual({
      host: 'db.lab',
      port: 6380,
      db: 3,
      username: 'alice',
      password: 'p@ss',
      tls: false,
      shown: 'redis://alice:***@db.lab:6380/3',
    });
    expect(parseRedisUrl('rediss://:secret@10.0.0.2')).toMatchObject({
      host: '10.0.0.2',
      port: 6379,
      db: 0,
      password: 'secret',
      tls: true,
      shown: 'rediss://:***@10.0.0.2',
    });
  });

  it('refuses what is not a Redis URL, showing it without its password', () => {
    const refused = (url: string) => {
      try {
        parseRedisUrl(url);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused('http://u:hunter2@host:1')).toMatch(/scheme must be redis/);
    expect(refused('http://u:hunter2@host:1')).not.toContain('hunter2');
    expect(refused('redis://u:hunter2@host:1/x')).toMatch(/database number/);
    expect(refused('redis://u:hunter2@host:1/x')).not.toContain('hunter2');
    expect(refused('nonsense')).toMatch(/not a URL/);
  });

  it('masks passwords wherever a URL is shown', () => {
    expect(redactUrl('redis://bob:x:y@h:1')).toBe('redis://bob:***@h:1');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactUrl('redis://bob@h:1')).toBe('redis://bob@h:1');
  });
});
