import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['layers.test.ts', '{schemas,geo,pipeline,workers,server,web,cli,fixtures,scripts,evaluation}/**/*.test.ts'],
    exclude: ['node_modules', 'dist'],
    pool: 'forks',
    // Worker threads started by modules under test (the score pool) load their .ts source with
    // this loader; the build runs the compiled .js and needs nothing.
    execArgv: ['--import', './test-support/register-ts.mjs'],
    // The WebAssembly kernels the sources load (built into dist/ by npm run build; here when stale).
    globalSetup: ['./scripts/build-wasm.mjs'],
    // PGlite + PostGIS takes ~15 s to start; raster tests decode real files.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
