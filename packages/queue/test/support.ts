/** Redis for the queue's tests: skipped where redis-server is absent, required in CI. */
import { describe } from 'vitest';
import {
  redisAvailable,
  redisRequired,
  startRedis,
  type TestRedis,
} from '../../../tests/scripts/redis-server.mjs';

export { startRedis, type TestRedis };

const available = redisAvailable();
if (!available && redisRequired())
  throw new Error(
    'redis-server is not installed, and CI requires the queue tests: apt-get install -y redis-server',
  );

/** describe() when redis-server can run here, describe.skip() otherwise (never in CI). */
export const describeWithRedis: typeof describe = (
  available ? describe : describe.skip
) as typeof describe;
