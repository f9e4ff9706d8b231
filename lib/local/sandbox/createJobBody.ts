/**
 * The CreateJob request body, which all three providers send as `<CreateJobRequest>` with the
 * same element names (S3's model, copied by COS and OSS). Only what the sandbox keeps is read:
 * the sandbox runs no manifest, so Manifest, Report and RoleArn are accepted and ignored.
 */
import { parseXml } from './xml';

export interface CreateJobBody {
  priority: string | undefined;
  description: string | undefined;
  confirmationRequired: string | undefined;
  clientRequestToken: string | undefined;
  /** The operation's element name (`S3PutObjectTagging`, `COSPutObjectCopy`, …). */
  operation: string | undefined;
}

export type CreateJobParse = { ok: true; body: CreateJobBody } | { ok: false; reason: 'empty' | 'malformed' };

export function readCreateJobBody(text: string): CreateJobParse {
  if (text.trim() === '') return { ok: false, reason: 'empty' };
  const doc = parseXml(text);
  const root = doc?.CreateJobRequest;
  if (typeof root !== 'object' || root === null) return { ok: false, reason: 'malformed' };
  const r = root as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const op = r.Operation;
  const operation =
    typeof op === 'object' && op !== null ? Object.keys(op as Record<string, unknown>)[0] : undefined;
  return {
    ok: true,
    body: {
      priority: str(r.Priority),
      description: str(r.Description),
      confirmationRequired: str(r.ConfirmationRequired),
      clientRequestToken: str(r.ClientRequestToken),
      operation,
    },
  };
}
