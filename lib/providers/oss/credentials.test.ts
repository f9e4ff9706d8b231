import { describe, expect, it } from 'vitest';
import { ossCredentialsFromEnv } from './credentials';

const ID = 'LTAI5tEnvKeyId';
const SECRET = 'env-secret-value-0123456789';
const TOKEN = 'CAIS-env-token==';

describe('ossCredentialsFromEnv', () => {
  it('reads long-lived keys', async () => {
    const source = ossCredentialsFromEnv({
      ALIBABA_CLOUD_ACCESS_KEY_ID: ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
    });
    expect(await source()).toEqual({ accessKeyId: ID, secretAccessKey: SECRET, sessionToken: undefined });
  });

  it('reads temporary keys with their security token', async () => {
    const source = ossCredentialsFromEnv({
      ALIBABA_CLOUD_ACCESS_KEY_ID: ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
      ALIBABA_CLOUD_SECURITY_TOKEN: TOKEN,
    });
    expect((await source()).sessionToken).toBe(TOKEN);
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['nothing set', {}, ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET']],
    ['only the secret', { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET }, ['ALIBABA_CLOUD_ACCESS_KEY_ID']],
    [
      'only the id (and a token)',
      { ALIBABA_CLOUD_ACCESS_KEY_ID: ID, ALIBABA_CLOUD_SECURITY_TOKEN: TOKEN },
      ['ALIBABA_CLOUD_ACCESS_KEY_SECRET'],
    ],
    [
      'blank values',
      { ALIBABA_CLOUD_ACCESS_KEY_ID: '  ', ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET },
      ['ALIBABA_CLOUD_ACCESS_KEY_ID'],
    ],
  ])('missing keys (%s) reject at use, naming the variables and no value', async (_name, env, missing) => {
    const source = ossCredentialsFromEnv(env); // constructing never throws: OSS may be unused
    const error = await source().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'config', code: 'MissingCredentials' });
    const message = (error as Error).message;
    for (const name of missing) expect(message).toContain(name);
    for (const value of [ID, SECRET, TOKEN]) expect(message).not.toContain(value);
  });
});
