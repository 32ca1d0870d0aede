/**
 * The report as a reader sees it: report.html opened in headless Chromium (Debian's package;
 * .ci/run installs it). Every figure is there and drawn, and the page logs no errors.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, launchChromium } from '../chromium.mjs';
import { describe, expect, it } from 'vitest';
import { quickstartVariant, tdx, tempDir } from './support.js';

// In CI a missing browser is a failure (the test must run there); elsewhere it is skipped.

const skip = !existsSync(CHROMIUM) && !process.env.CI;

describe.skipIf(skip)('report.html in headless Chromium', () => {
  it('shows every figure, with nothing missing and no errors', async () => {
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium`).toBe(
      true,
    );
    const out = tempDir();
    const spec = quickstartVariant((s) => {
      s.train = { steps: 20, logEvery: 5 };
      s.seeds = [0, 1];
      s.analyses = [{ name: 'top-hessian-eigenvalue', every: 10, maxIterations: 10 }];
      (s.dataset as Record<string, unknown>).batchSize = 100;
      (s.dataset as Record<string, unknown>).evalBatchSize = 100;
    });
    expect(tdx(['run', spec, '--out', out, '--workers', '2']).code).toBe(0);
    const dir = join(out, 'quickstart');
    const figureFiles = readdirSync(join(dir, 'figures')).sort();
    expect(figureFiles).toEqual([
      'analysis-top-hessian-eigenvalue.svg',
      'eval-loss.svg',
      'loss.svg',
    ]);

    const browser = await launchChromium();

    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request: ${r.url()}`));
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(join(dir, 'report.html')).href);

      const figures = page.locator('figure');
      expect(await figures.count()).toBe(figureFiles.length);
      for (let i = 0; i < figureFiles.length; i++) {
        const box = await figures.nth(i).locator('svg').boundingBox();
        expect(box!.width).toBeGreaterThan(300);
        expect(box!.height).toBeGreaterThan(150);
      }
      // Both optimizers are in the loss figure's legend.
      const legend = await page.locator('#figure-loss .role-legend-label').allTextContents();
      expect(legend).toEqual(['sgd', 'adam']);
      // Four runs; two groups (sgd, adam) over their two seeds.
      const tables = page.locator('table');
      expect(await tables.nth(0).locator('tbody tr').count()).toBe(4);
      expect(await tables.nth(1).locator('tbody tr').count()).toBe(2);

      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]); // self-contained
    } finally {
      await browser.close();
    }
  });
});
