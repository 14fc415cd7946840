// node --import ./test-support/register-ts.mjs: lets Node load .ts sources (see ts-hooks.mjs).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
