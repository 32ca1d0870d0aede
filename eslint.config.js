// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One config per package: its files may import only the @tdx packages listed. */
function importBoundaries(allowed) {
  return Object.entries(allowed).map(([name, deps]) => ({
    files: [`packages/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tdx/*', ...deps.map((d) => `!@tdx/${d}`)],
              message: `@tdx/${name} may import ${deps.length ? deps.map((d) => `@tdx/${d}`).join(' and ') : 'no other @tdx package'} (imports run one way: see DESIGN.md)`,
            },
            {
              group: ['**/packages/*/src/**', '**/packages/*/dist/**'],
              message: 'import another package by its name, never by a path into its files',
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'runs/**', '.nx/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        performance: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // Imports run one way (DESIGN.md): core <- tensor <- {datasets, models, optimizers, analysis}
  // <- cli; report and queue stand on core alone. The four middle packages never import each
  // other: they meet through the contracts of core and tensor.
  ...importBoundaries({
    core: [],
    tensor: ['core'],
    datasets: ['core', 'tensor'],
    models: ['core', 'tensor'],
    optimizers: ['core', 'tensor'],
    analysis: ['core', 'tensor'],
    report: ['core'],
    queue: ['core'],
  }),
  {
    // Tests may assert on any shape.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
