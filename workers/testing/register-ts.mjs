/**
 * `node --import ./workers/testing/register-ts.mjs some.ts`: run TypeScript sources in a child
 * process without a build step, for tests that must SIGKILL a real worker process
 * (vitest transforms TS only inside its own workers). Type-strips with the project's own
 * `typescript`; no type checking.
 */
import { register } from 'node:module';

register('./ts-loader-hooks.mjs', import.meta.url);
