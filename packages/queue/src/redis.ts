/** Connections to Redis: made from a parsed URL, errors reported without credentials. */
import { Redis } from 'ioredis';
import { TdxError } from '@tdx/core';
import { connectionOptions, type RedisTarget } from './url.js';

/**
 * A connection that reconnects forever; its errors go to `onError` (messages from ioredis name
 * host and port, never the password), at most one every few seconds while they repeat.
 */
export function connect(target: RedisTarget, onError: (message: string) => void): Redis {
  const redis = new Redis(connectionOptions(target));
  let last = '';
  let lastAt = 0;
  redis.on('error', (error: Error) => {
    const message = error.message;
    if (message === last && Date.now() - lastAt < 10_000) return;
    last = message;
    lastAt = Date.now();
    onError(message);
  });
  return redis;
}

/** Waits until Redis answers; INVALID_ARGUMENT naming the URL (masked) when it does not in time. */
export async function ensureReachable(
  redis: Redis,
  target: RedisTarget,
  flag: string,
  timeoutMs = 10_000,
): Promise<void> {
  let lastError = '';
  const onError = (error: Error) => {
    lastError = error.message;
  };
  redis.on('error', onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
  } catch {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${flag} ${target.shown}: Redis does not answer within ${timeoutMs / 1000} s${lastError ? ` (${lastError})` : ''}`,
      {
        hint:
          'start Redis there (Debian: apt-get install -y redis-server), check the host, port, ' +
          'user and password, and that this machine may reach it',
      },
    );
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}
