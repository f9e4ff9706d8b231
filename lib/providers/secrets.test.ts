import { describe, expect, it } from 'vitest';
import { parameterCredentials } from './secrets';

const store: Record<string, unknown> = {
  '/jobctl/cos': { secretId: 'AKIDparam', secretKey: 'param-secret' },
  '/jobctl/oss': { accessKeyId: 'LTAIparam', accessKeySecret: 'oss-secret', securityToken: 'tok' },
  '/jobctl/broken': { secretId: 'only-an-id' },
};
const fetch = async (name: string) => store[name];

describe('parameterCredentials', () => {
  it('reads each provider’s keys from its parameter', async () => {
    const c = parameterCredentials(
      {
        TENCENTCLOUD_CREDENTIALS_PARAMETER: '/jobctl/cos',
        ALIBABA_CLOUD_CREDENTIALS_PARAMETER: '/jobctl/oss',
      },
      fetch,
    );
    expect(await c.cos?.()).toEqual({ accessKeyId: 'AKIDparam', secretAccessKey: 'param-secret' });
    expect(await c.oss?.()).toEqual({
      accessKeyId: 'LTAIparam',
      secretAccessKey: 'oss-secret',
      sessionToken: 'tok',
    });
  });

  it('keys already in the environment win; a blank parameter name is none', () => {
    const c = parameterCredentials(
      {
        TENCENTCLOUD_CREDENTIALS_PARAMETER: '/jobctl/cos',
        TENCENTCLOUD_SECRETID: 'AKIDenv',
        ALIBABA_CLOUD_CREDENTIALS_PARAMETER: ' ',
      },
      fetch,
    );
    expect(c).toEqual({});
  });

  it('a parameter without both keys is refused, naming the parameter and not its value', async () => {
    const c = parameterCredentials({ TENCENTCLOUD_CREDENTIALS_PARAMETER: '/jobctl/broken' }, fetch);
    await expect(c.cos?.()).rejects.toThrow(/\/jobctl\/broken must be a JSON object/);
    await expect(c.cos?.()).rejects.not.toThrow(/only-an-id/);
  });
});
