/**
 * The sandbox's own keys. Fixed and printable on purpose: `jobctl sandbox` prints the same ones
 * every run so they can be exported once. They open nothing but the sandbox.
 */
export interface SandboxCredentials {
  cos: { secretId: string; secretKey: string };
  oss: { accessKeyId: string; accessKeySecret: string };
  s3: { accessKeyId: string; secretAccessKey: string };
}

export const DEFAULT_CREDENTIALS: SandboxCredentials = {
  cos: { secretId: 'AKIDSANDBOX0000000000000000000000000', secretKey: 'sandboxCosSecretKey00000000000000' },
  oss: { accessKeyId: 'LTAI5tSandbox0000000000', accessKeySecret: 'sandboxOssAccessKeySecret00000' },
  s3: { accessKeyId: 'AKIASANDBOX000000000', secretAccessKey: 'sandbox/S3/SecretAccessKey/0000000000000' },
};

export function resolveCredentials(partial: Partial<SandboxCredentials> = {}): SandboxCredentials {
  return {
    cos: { ...DEFAULT_CREDENTIALS.cos, ...partial.cos },
    oss: { ...DEFAULT_CREDENTIALS.oss, ...partial.oss },
    s3: { ...DEFAULT_CREDENTIALS.s3, ...partial.s3 },
  };
}
