// vitest globalSetup: tests run the TypeScript sources, which load the WebAssembly kernels from
// dist/ (pipeline/detect/tree-kernel.ts); build them first when missing or older than their source.
import { buildWasm } from '../scripts/build-wasm.mjs';

export default function setup() {
  buildWasm({ ifStale: true });
}
