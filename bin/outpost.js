#!/usr/bin/env node
// The CLI entry point: the TypeScript build lives in dist/ (made by `npm install`).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('outpost: the build is missing; run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
});
