import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every temporary folder a test run makes (its own, and those of the CLIs and workers it
// spawns: all read TMPDIR through os.tmpdir()) lands in one folder that is removed when the run
// ends, so repeated test runs do not fill /tmp. Set before the test processes are forked.
export default function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'tdx-test-run-'));
  process.env.TMPDIR = folder;
  return () => rmSync(folder, { recursive: true, force: true });
}
