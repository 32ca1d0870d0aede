export { main } from './main.js';
export { createDefaultRegistry } from './default-registry.js';
export { progressPrinter } from './progress.js';
export { applyOverrides } from './overrides.js';

export type { CliIo } from './io.js';
