#!/usr/bin/env node
// Bundles the compiled daemon and CLI (dist/src) into dist/bundle with
// esbuild: one file to load instead of ~300 ES modules, which takes about
// half of Node's start-up off every `stacklet up`. The helpers started as
// separate threads or processes (hash worker, metadata socket helper) are
// entry points of their own, next to main.js where import.meta.url finds
// them. better-sqlite3 stays external: it loads its native addon by path.
//   node scripts/bundle.mjs
import { build } from 'esbuild';

await build({
  entryPoints: {
    main: 'dist/src/cli/main.js',
    'hash-worker': 'dist/src/store/image/hash-worker.js',
    'metadata-listen': 'dist/src/host/network/linux/metadata-listen.js',
  },
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  // Some dependencies are CommonJS and call require() for Node's built-ins.
  banner: { js: "import { createRequire as __stackletRequire } from 'node:module'; const require = __stackletRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
