/**
 * The module worker processes import to build their registry (registries cannot cross
 * processes): every built-in plugin, exactly as the parent has them.
 */
export { createDefaultRegistry as createRegistry } from './default-registry.js';
