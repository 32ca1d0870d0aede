/** A registry holding every built-in plugin of the tdx packages. */
import { register as registerAnalyses } from '@tdx/analysis';
import { createRegistry, type Registry } from '@tdx/core';
import { register as registerDatasets } from '@tdx/datasets';
import { register as registerModels } from '@tdx/models';
import { register as registerOptimizers } from '@tdx/optimizers';
import { register as registerReporters } from '@tdx/report';
import { register as registerTensor } from '@tdx/tensor';

export function createDefaultRegistry(): Registry {
  const registry = createRegistry();
  for (const register of [
    registerTensor,
    registerDatasets,
    registerModels,
    registerOptimizers,
    registerAnalyses,
    registerReporters,
  ]) {
    register(registry);
  }
  return registry;
}
