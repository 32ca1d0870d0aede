#!/usr/bin/env node
// Screenshot of a report.html in headless Chromium: node tests/screenshot-report.mjs <report.html> <out.png>
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.mjs';

const [report, out] = process.argv.slice(2);
if (!report || !out) {
  console.error('usage: node tests/screenshot-report.mjs <report.html> <out.png>');
  process.exit(2);
}
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto(pathToFileURL(resolve(report)).href);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
console.log(out);
