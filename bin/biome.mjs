#!/usr/bin/env node
// Runs biome's native binary for this machine. The project depends on the per-platform binary
// packages directly (optionalDependencies, skipped elsewhere) instead of @biomejs/biome, whose
// lockfile entries for every platform `npm ci` insists on but the registry here does not hold.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = `@biomejs/cli-${process.platform}-${process.arch}`;
let binary;
try {
  binary = require.resolve(`${pkg}/biome`);
} catch {
  console.error(`biome: no binary for ${process.platform}-${process.arch} (${pkg} is not installed)`);
  process.exit(1);
}
const r = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 1);
