/**
 * What the commands share about the environment: required variables and help text. Everything
 * comes from `io.env`, never from `process.env` directly, so a test (or
 * a wrapper) can run a command against its own environment.
 */

/** A variable the command cannot do without; the message says where it usually comes from. */
export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v)
    throw new Error(
      `${name} is not set (start \`jobctl run\` and export the KEY=value lines it prints, or point it at your queue)`,
    );
  return v;
}

/** The part of the help text every provider-calling command shares. */
export const PROVIDER_ENV_HELP = `environment (providers):
  COS_ENDPOINT, TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN,
    COS_ROLE_ARN                          Tencent COS
  OSS_ENDPOINT, ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    ALIBABA_CLOUD_SECURITY_TOKEN          Alibaba OSS
  AWS_ENDPOINT_URL_S3_CONTROL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                                          AWS S3 (else the AWS default credential chain)
  JOBCTL_MAX_ATTEMPTS, JOBCTL_CALL_TIMEOUT_MS, JOBCTL_RETRY_BUDGET_MS   retry policy`;

/** Lines for an "environment:" section: the SQS client's own variables. */
export const QUEUE_ENV_HELP = `  AWS_REGION, AWS_ENDPOINT_URL_SQS
                           the SQS region and endpoint (jobctl run prints both)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                           SQS credentials (else the AWS default chain)`;
