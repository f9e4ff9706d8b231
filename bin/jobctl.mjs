#!/usr/bin/env node
// The `jobctl` command: loads the TypeScript CLI through tsx so that no build step stands between
// `npm ci` and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
