/**
 * Node module hooks that run TypeScript sources as they are (type syntax stripped by the
 * TypeScript compiler's transpileModule, no type check), registered by register-ts.mjs. Only the
 * test runner uses them (vitest.config.ts execArgv): vitest runs tests from source, and a worker
 * thread a module starts (the detector's score workers) is loaded by Node itself, which cannot
 * read .ts. The build never needs them: dist/ holds the compiled .js side by side.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let ts;

/** `./x.js` imported from a .ts source means the source `./x.ts` (NodeNext convention). */
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.endsWith('.js') || !context.parentURL?.endsWith('.ts')) throw e;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  // Loaded on the first .ts module only: most test processes never start a worker.
  ts ??= (await import('typescript')).default;
  const fileName = fileURLToPath(url);
  const out = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, inlineSourceMap: true },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
