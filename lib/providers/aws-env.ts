/**
 * AWS keys from an environment object rather than process.env: the S3 Control client, the SQS
 * clients and the DynamoDB client all sign with them, and a runtime built from its own env
 * (jobctl run, tests) must sign with that env's keys, not the process's.
 */

/** Absent keys → undefined, so the SDK falls back to its default chain (Lambda's role). */
export function envCredentials(env: NodeJS.ProcessEnv) {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}
