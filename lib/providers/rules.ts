/**
 * What each provider requires of a target and a job id, as data, so that the transition model
 * validates every provider the same way and holds no provider-specific branch of its own.
 */
import type { JobStatus, ProviderName } from './types';

/** The documented limits every provider shares, checked before any request is sent. */
export const MAX_PRIORITY = 2147483647;
export const MAX_REASON_BYTES = 256;
/** ListJobs page size: COS `maxResults` and OSS `max-keys` take 1–1000. */
export const MAX_LIST_RESULTS = 1000;
/**
 * The reason sent with an OSS Cancelled that has none. OSS's UpdateJobStatus reference says the
 * reason may be left out only for Ready (1–256 characters otherwise), while its Go SDK's live test
 * cancels without one: sending this satisfies both readings.
 */
export const OSS_DEFAULT_CANCEL_REASON = 'cancelled by jobctl';

export interface ProviderRules {
  /** Is `account` required, and what must it look like. */
  account: { required: boolean; pattern: RegExp; rule: string };
  appId: { required: boolean };
  jobId: { pattern: RegExp; rule: string };
  /** The host the provider answers on, to show what a region and account become. */
  defaultEndpoint: string;
  /**
   * The statuses a confirm (→ Ready) is accepted from. OSS also takes it while the job is still
   * Preparing; COS and S3 refuse it until the job is Suspended, so the planner holds those.
   */
  confirmsFrom: readonly JobStatus[];
}

// Visible ASCII only: ids go into paths and query strings (percent-encoded) and never carry
// whitespace or control characters in practice, so refusing them closes header/URL injection.
// `.` and `..` are refused too: percent-encoding leaves dots alone, and as a path segment they
// would be resolved away (`/jobs/../status` is `/status`).
const OPAQUE_ID = /^(?!\.\.?$)[\x21-\x7e]{1,64}$/;

export const RULES: Record<ProviderName, ProviderRules> = {
  cos: {
    account: { required: true, pattern: /^[0-9]{1,64}$/, rule: 'the UIN: 1–64 digits' },
    appId: { required: true },
    jobId: { pattern: OPAQUE_ID, rule: '1–64 bytes of visible ASCII, not . or ..' },
    defaultEndpoint: 'https://{account}.cos-control.{region}.myqcloud.com',
    confirmsFrom: ['Suspended'],
  },
  oss: {
    account: { required: false, pattern: /^[0-9]{1,64}$/, rule: '1–64 digits' },
    appId: { required: false },
    jobId: { pattern: OPAQUE_ID, rule: '1–64 bytes of visible ASCII, not . or ..' },
    defaultEndpoint: 'https://oss-{region}.aliyuncs.com',
    confirmsFrom: ['Suspended', 'Preparing'],
  },
  s3: {
    account: { required: true, pattern: /^[0-9]{12}$/, rule: 'the 12-digit AWS account id' },
    appId: { required: false },
    jobId: { pattern: /^[A-Za-z0-9_-]{5,36}$/, rule: '5–36 characters of [A-Za-z0-9_-]' },
    defaultEndpoint: 'https://{account}.s3-control.{region}.amazonaws.com',
    confirmsFrom: ['Suspended'],
  },
};

/**
 * Region: it becomes part of a hostname, so it must be one DNS label — the contract's
 * `^[a-z0-9-]{1,64}$` without a leading or trailing `-` and at most 63 characters (the AWS SDK, for
 * one, refuses anything else before sending).
 */
export const REGION_PATTERN = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export const REGION_RULE = 'must match ^[a-z0-9-]{1,63}$, not starting or ending with -';
/** COS APPID: numeric, sent as a header. */
export const APPID_PATTERN = /^[0-9]{1,64}$/;

/**
 * Fill an endpoint template (`{account}`, `{region}`) with values that have already been validated;
 * refuses anything else so a template can never receive a host-shaping value.
 */
export function fillEndpoint(template: string, region: string, account: string | undefined): string {
  if (!REGION_PATTERN.test(region)) throw new Error(`region ${JSON.stringify(region)} is not a valid region`);
  if (account !== undefined && !/^[0-9]{1,64}$/.test(account)) throw new Error('account must be digits');
  if (template.includes('{account}') && account === undefined)
    throw new Error(`the endpoint ${template} needs an account`);
  return template
    .replaceAll('{region}', region)
    .replaceAll('{account}', account ?? '')
    .replace(/\/+$/, '');
}
