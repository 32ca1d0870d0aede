// A throwaway redis-server for tests: on a free port of 127.0.0.1, in a folder of its own,
// stopped (and its folder removed) by stop(). Debian's `redis-server`; where it is absent the
// tests that need it are skipped, except in CI (CI=true), where its absence fails them.
//
//   const redis = await startRedis({ persist: true, password: 's3cret' });
//   redis.url  ->  redis://:s3cret@127.0.0.1:<port>
//   await redis.restart();  await redis.stop();
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when redis-server can be started here. */
export function redisAvailable() {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Whether tests that need Redis must run (CI) rather than be skipped. */
export const redisRequired = () => process.env.CI === 'true' || process.env.CI === '1';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers PING (with the password, if any). */
function answers(port, password, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  const once = () =>
    new Promise((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      let data = '';
      socket.once('error', () => resolve(false));
      socket.on('data', (chunk) => {
        data += chunk;
        if (data.includes('PONG')) {
          socket.destroy();
          resolve(true);
        } else if (data.startsWith('-')) {
          socket.destroy();
          resolve(false);
        }
      });
      socket.once('connect', () =>
        socket.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n'),
      );
    });
  return (async () => {
    while (Date.now() < deadline) {
      if (await once()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${port} did not answer within ${deadlineMs} ms`);
  })();
}

/**
 * Starts redis-server. `persist`: an append-only file fsynced on every write, so that a
 * restart keeps every key (as a production Redis would be set up); otherwise nothing is saved.
 */
export async function startRedis({ persist = false, password } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tdx-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(password ? ['--requirepass', password] : []),
  ];
  let child;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await answers(port, password, 10_000);
  };
  const halt = async (signal = 'SIGTERM') => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    port,
    dir,
    url: `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`,
    /** Stops the server (SIGTERM: it writes its append-only file) and starts it again. */
    async restart({ downMs = 0, signal = 'SIGTERM' } = {}) {
      await halt(signal);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
