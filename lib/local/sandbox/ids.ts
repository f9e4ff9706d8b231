/**
 * Job ids in each provider's own shape, so that ids from the sandbox pass the same validation as
 * real ones: COS and S3 a UUID (S3: 5–36 of [A-Za-z0-9_-]), OSS 44 characters of base64 ending in
 * `=` (the base64 of 32 hex digits, which never yields `+` or `/`).
 */
import { randomBytes } from 'node:crypto';
import type { ProviderName } from '../../providers/types';

export function jobIdFromBytes(provider: ProviderName, bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.subarray(0, 16)).toString('hex').padEnd(32, '0');
  if (provider === 'oss') return Buffer.from(hex, 'ascii').toString('base64');
  // A version-4, variant-1 UUID, as crypto.randomUUID would make.
  const v = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17)}`;
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}

export function newJobId(provider: ProviderName): string {
  return jobIdFromBytes(provider, randomBytes(16));
}

/** Deterministic ids from a PRNG: the same seed file or benchmark set gets the same ids every run. */
export function jobIdFromRandom(provider: ProviderName, random: () => number): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return jobIdFromBytes(provider, bytes);
}

export const JOB_ID_PATTERNS: Record<ProviderName, RegExp> = {
  cos: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  s3: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  oss: /^[A-Za-z0-9]{43}=$/,
};
