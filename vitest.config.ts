import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['layers.test.ts', '{schemas,geo,pipeline,workers,cli,fixtures,scripts}/**/*.test.ts'],
    exclude: ['node_modules', 'dist'],
    pool: 'forks',
    // PGlite + PostGIS takes ~15 s to start; raster tests decode real files.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
