/** Running the reporters of an experiment over its data on disk. */
import type { ExperimentData } from './experiment-data.js';
import type { Registry } from './registry.js';
import type { ResolvedPluginRef } from './registry.js';
import { flattenRef } from './spec/schema.js';

export interface ReportOutcome {
  files: string[];
  /** One message per reporter that failed; the others still wrote their files. */
  errors: string[];
}

export async function runReporters(
  data: ExperimentData,
  reporters: readonly ResolvedPluginRef[],
  registry: Registry,
): Promise<ReportOutcome> {
  const files: string[] = [];
  const errors: string[] = [];
  for (const [i, ref] of reporters.entries()) {
    try {
      const reporter = registry.create('reporter', flattenRef(ref), {
        path: `reporters[${i}]`,
      });
      const problems: string[] = [];
      files.push(...(await reporter.report(data, { registry, problem: (m) => problems.push(m) })));
      for (const message of problems) errors.push(`reporter "${ref.label}": ${message}`);
    } catch (error) {
      errors.push(
        `reporter "${ref.label}" failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return { files, errors };
}
