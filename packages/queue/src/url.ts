/**
 * Where the queue is: a Redis URL, `redis://[user:password@]host:port[/db]` (or `rediss://` for
 * TLS). The password is only ever handed to the Redis client: every message, log line, event
 * and file shows the URL with it masked (`redactUrl`).
 */
import type { RedisOptions as BullRedisOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { TdxError } from '@tdx/core';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL as it may be shown: the password replaced by `***`. */
  shown: string;
}

/** The URL with its password masked, for messages (never throws: bad input is shown masked too). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_all, scheme: string, auth) => {
    const user = String(auth).split(':')[0] ?? '';
    return `${scheme}${user}${String(auth).includes(':') ? ':***' : ''}@`;
  });
}

/** Parses a Redis URL; INVALID_ARGUMENT (naming `flag`) when it is not one. */
export function parseRedisUrl(url: string, flag = '--queue'): RedisTarget {
  const shown = redactUrl(url);
  const bad = (why: string): never => {
    throw new TdxError('INVALID_ARGUMENT', `${flag} ${shown}: ${why}`, {
      hint: 'give a Redis URL: redis://host:6379, redis://user:password@host:6379/0, or rediss://... for TLS',
    });
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return bad('not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    bad(`the scheme must be redis:// or rediss://, not ${parsed.protocol}//`);
  if (!parsed.hostname) bad('no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) bad(`the path must be a database number, not "${path}"`);
  if (parsed.search || parsed.hash) bad('options after ? or # are not supported');
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db: path === '' ? 0 : Number(path),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    tls: parsed.protocol === 'rediss:',
    shown,
  };
}

/**
 * ioredis options for a target. `maxRetriesPerRequest: null` (BullMQ needs it) makes a command
 * wait while the connection is re-established instead of failing: a Redis restart pauses work.
 */
export function connectionOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: { servername: target.host } } : {}),
    maxRetriesPerRequest: null,
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
}

/** The same options, typed for BullMQ's Queue and Worker (which create their own connections). */
export function bullmqConnection(target: RedisTarget): BullRedisOptions {
  const { retryStrategy, ...rest } = connectionOptions(target);
  return { ...(rest as BullRedisOptions), ...(retryStrategy ? { retryStrategy } : {}) };
}
