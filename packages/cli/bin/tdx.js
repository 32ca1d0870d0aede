#!/usr/bin/env node
// The `tdx` command. A committed shim, so npm links it even before the first build.
import('../dist/main.js').then(
  (cli) => cli.main(process.argv).then((code) => process.exit(code)),
  (error) => {
    if (
      error &&
      error.code === 'ERR_MODULE_NOT_FOUND' &&
      String(error.message).includes('dist/main.js')
    ) {
      console.error('tdx is not built yet: run `npm run build` at the root of the tdx repository.');
      process.exit(2);
    }
    throw error;
  },
);
