#!/usr/bin/env node
// The `jobctl` command: loads the TypeScript CLI through tsx so that no build step stands between
// `npm ci` and a working command.
import { register } from 'tsx/esm/api';

// Node 20 runs this CLI locally; the deployed functions run on Node 22 or newer.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
