/**
 * COS credentials: plain keys from the environment, or assumed-role keys from STS that are cached,
 * refreshed before expiry and fetched once however many callers ask at the same time. The STS
 * client is a stub here; the SDK must not even be loaded unless COS_ROLE_ARN is set.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../errors';
import {
  type CosCredentialsOptions,
  cosCredentialsFromEnv,
  type StsClient,
  type StsFactory,
} from './credentials';

// Stands in for the SDK's STS client file: records that it was loaded, and answers AssumeRole.
const sdk = vi.hoisted(() => ({ loaded: 0, constructed: [] as unknown[] }));
vi.mock('tencentcloud-sdk-nodejs/tencentcloud/services/sts/v20180813/sts_client.js', () => {
  sdk.loaded++;
  return {
    Client: class {
      constructor(config: unknown) {
        sdk.constructed.push(config);
      }
      async AssumeRole() {
        return {
          Credentials: { TmpSecretId: 'AKIDsdk', TmpSecretKey: 'sdk-key', Token: 'sdk-token' },
          ExpiredTime: 2_000_000_000,
          RequestId: 'r-sdk',
        };
      }
    },
  };
});

const BASE = { TENCENTCLOUD_SECRETID: 'AKIDbase', TENCENTCLOUD_SECRETKEY: 'base-secret-key' };
const ROLE = { ...BASE, COS_ROLE_ARN: 'qcs::cam::uin/100000000001:roleName/jobctl' };
const T0 = 1_800_000_000_000;

/** A fake STS whose n-th AssumeRole answers keys n, valid for an hour from the fake clock. */
function fakeSts(clock: { now: number }) {
  const calls: Array<Parameters<StsClient['AssumeRole']>[0]> = [];
  const factoryArgs: Array<Parameters<StsFactory>> = [];
  let fail: unknown;
  let gate: Promise<void> | undefined;
  const factory: StsFactory = async (...args) => {
    factoryArgs.push(args);
    return {
      async AssumeRole(req) {
        calls.push(req);
        const n = calls.length;
        await gate;
        if (fail !== undefined) throw fail;
        return {
          Credentials: { TmpSecretId: `AKIDtmp${n}`, TmpSecretKey: `tmp-key-${n}`, Token: `token-${n}` },
          ExpiredTime: Math.floor(clock.now / 1000) + 3600,
          RequestId: `r${n}`,
        };
      },
    };
  };
  return {
    factory,
    calls,
    factoryArgs,
    failWith(e: unknown) {
      fail = e;
    },
    hold() {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function roleSource(clock: { now: number }, env: NodeJS.ProcessEnv = ROLE, more: CosCredentialsOptions = {}) {
  const sts = fakeSts(clock);
  const source = cosCredentialsFromEnv(env, { sts: sts.factory, now: () => clock.now, ...more });
  return { sts, source };
}

beforeEach(() => {
  sdk.loaded = 0;
  sdk.constructed = [];
});

describe('plain keys', () => {
  it('reads TENCENTCLOUD_SECRETID / SECRETKEY', async () => {
    expect(await cosCredentialsFromEnv(BASE)()).toEqual({
      accessKeyId: 'AKIDbase',
      secretAccessKey: 'base-secret-key',
      sessionToken: undefined,
    });
  });

  it('passes TENCENTCLOUD_SESSIONTOKEN on as the session token', async () => {
    const c = await cosCredentialsFromEnv({ ...BASE, TENCENTCLOUD_SESSIONTOKEN: 'tok' })();
    expect(c.sessionToken).toBe('tok');
  });

  it.each<[string, NodeJS.ProcessEnv, string[], string[]]>([
    ['both missing', {}, ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY'], []],
    [
      'the key missing',
      { TENCENTCLOUD_SECRETID: 'AKIDvisible' },
      ['TENCENTCLOUD_SECRETKEY'],
      ['AKIDvisible'],
    ],
    [
      'the id missing',
      { TENCENTCLOUD_SECRETKEY: 'never-print-me', TENCENTCLOUD_SESSIONTOKEN: 'nor-me' },
      ['TENCENTCLOUD_SECRETID'],
      ['never-print-me', 'nor-me'],
    ],
    ['both empty', { TENCENTCLOUD_SECRETID: '', TENCENTCLOUD_SECRETKEY: '' }, ['TENCENTCLOUD_SECRETID'], []],
  ])('%s: every call fails naming the variables, never their values', async (_name, env, named, hidden) => {
    const source = cosCredentialsFromEnv(env);
    const e = await source().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ kind: 'config', code: 'MissingCredentials' });
    for (const n of named) expect((e as Error).message).toContain(n);
    for (const h of hidden) expect((e as Error).message).not.toContain(h);
  });

  it('does not load tencentcloud-sdk-nodejs', async () => {
    await cosCredentialsFromEnv(BASE)();
    await cosCredentialsFromEnv({})().catch(() => undefined);
    expect(sdk.loaded).toBe(0);
  });
});

describe('COS_ROLE_ARN: assumed-role keys from STS', () => {
  it('assumes the role with the base keys and returns the temporary keys with their expiry', async () => {
    const clock = { now: T0 };
    const { sts, source } = roleSource(clock, { ...ROLE, TENCENTCLOUD_REGION: 'ap-shanghai' });
    expect(await source()).toEqual({
      accessKeyId: 'AKIDtmp1',
      secretAccessKey: 'tmp-key-1',
      sessionToken: 'token-1',
      expiration: T0 + 3600_000,
    });
    expect(sts.calls).toEqual([
      { RoleArn: ROLE.COS_ROLE_ARN, RoleSessionName: 'jobctl', DurationSeconds: 3600 },
    ]);
    expect(sts.factoryArgs).toEqual([
      [{ secretId: 'AKIDbase', secretKey: 'base-secret-key', token: undefined }, 'ap-shanghai'],
    ]);
  });

  it('caches the keys until a few minutes before they expire, then refreshes', async () => {
    const clock = { now: T0 };
    const { sts, source } = roleSource(clock);
    await source();
    clock.now = T0 + 3600_000 - 5 * 60_000 - 1; // just outside the refresh window
    expect((await source()).accessKeyId).toBe('AKIDtmp1');
    expect(sts.calls).toHaveLength(1);
    clock.now = T0 + 3600_000 - 5 * 60_000; // refresh window reached
    expect((await source()).accessKeyId).toBe('AKIDtmp2');
    expect(sts.calls).toHaveLength(2);
    expect(sts.factoryArgs).toHaveLength(1); // one STS client for the life of the source
  });

  it('honours refreshBeforeMs', async () => {
    const clock = { now: T0 };
    const { sts, source } = roleSource(clock, ROLE, { refreshBeforeMs: 60_000 });
    await source();
    clock.now = T0 + 3600_000 - 5 * 60_000;
    await source();
    expect(sts.calls).toHaveLength(1);
    clock.now = T0 + 3600_000 - 60_000;
    await source();
    expect(sts.calls).toHaveLength(2);
  });

  it('shares one in-flight AssumeRole among concurrent callers', async () => {
    const clock = { now: T0 };
    const { sts, source } = roleSource(clock);
    const release = sts.hold();
    const pending = Array.from({ length: 8 }, () => source());
    await vi.waitFor(() => expect(sts.calls).toHaveLength(1));
    release();
    const all = await Promise.all(pending);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['AKIDtmp1']));
    expect(sts.calls).toHaveLength(1);
  });

  it('keeps signing with valid keys when a refresh fails, and fails once they are about to expire', async () => {
    const clock = { now: T0 };
    const { sts, source } = roleSource(clock);
    await source();
    sts.failWith(
      Object.assign(new Error('request limit'), { code: 'RequestLimitExceeded', requestId: 'r-x' }),
    );
    clock.now = T0 + 3600_000 - 4 * 60_000;
    expect((await source()).accessKeyId).toBe('AKIDtmp1');
    clock.now = T0 + 3600_000 - 30_000;
    await expect(source()).rejects.toMatchObject({
      kind: 'throttled',
      code: 'RequestLimitExceeded',
      requestId: 'r-x',
    });
  });

  it.each<[string, unknown, string, string, boolean]>([
    [
      'wrong base keys',
      Object.assign(new Error('The SecretId AKIDbase is not found'), {
        code: 'AuthFailure.SecretIdNotFound',
      }),
      'auth',
      'AuthFailure.SecretIdNotFound',
      false,
    ],
    [
      'no permission on the role',
      Object.assign(new Error('not authorized'), { code: 'UnauthorizedOperation' }),
      'auth',
      'UnauthorizedOperation',
      false,
    ],
    [
      'an STS outage',
      Object.assign(new Error('oops'), { code: 'InternalError' }),
      'server',
      'InternalError',
      true,
    ],
    ['no answer at all', new Error('connect ECONNREFUSED'), 'network', 'StsUnavailable', true],
  ])(
    'maps %s to a ProviderError, without secrets in the message',
    async (_name, thrown, kind, code, retryable) => {
      const clock = { now: T0 };
      const { sts, source } = roleSource(clock);
      sts.failWith(thrown);
      const e = await source().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ProviderError);
      expect(e).toMatchObject({ kind, code, retryable });
      expect((e as Error).message).not.toContain('AKIDbase');
      expect((e as Error).message).not.toContain('base-secret-key');
    },
  );

  it('answers without keys are a MalformedResponse, not undefined credentials', async () => {
    const source = cosCredentialsFromEnv(ROLE, {
      sts: async () => ({ AssumeRole: async () => ({ RequestId: 'r-empty' }) }),
    });
    await expect(source()).rejects.toMatchObject({ code: 'StsMalformedResponse', requestId: 'r-empty' });
  });

  it('needs the base keys to assume the role', async () => {
    const e = await cosCredentialsFromEnv({ COS_ROLE_ARN: ROLE.COS_ROLE_ARN })().catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'config', code: 'MissingCredentials' });
    expect((e as Error).message).toMatch(/TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY.*COS_ROLE_ARN/);
  });

  it('loads the SDK STS client by its deep path, on first use only', async () => {
    const source = cosCredentialsFromEnv(ROLE, { now: () => T0 });
    expect(sdk.loaded).toBe(0);
    expect(await source()).toMatchObject({
      accessKeyId: 'AKIDsdk',
      sessionToken: 'sdk-token',
      expiration: 2_000_000_000_000,
    });
    expect(sdk.loaded).toBe(1);
    expect(sdk.constructed).toEqual([
      {
        credential: { secretId: 'AKIDbase', secretKey: 'base-secret-key', token: undefined },
        region: 'ap-guangzhou',
        profile: { httpProfile: { reqTimeout: 10 } },
      },
    ]);
  });
});

describe('in plain Node (no test runner module graph)', () => {
  // The real loader, outside vitest: nothing from tencentcloud-sdk-nodejs is in the module cache
  // after using plain keys, and the deep import path resolves under Node's own ESM rules.
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('tencentcloud-sdk-nodejs'));
    const { cosCredentialsFromEnv, loadSts } = await import('./lib/providers/cos/credentials.ts');
    await cosCredentialsFromEnv({ TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key' })();
    const before = loaded();
    const client = await loadSts({ secretId: 'id', secretKey: 'key' }, 'ap-guangzhou');
    console.log(JSON.stringify({ before, after: loaded(), assumeRole: typeof client.AssumeRole }));
  `;

  it('does not load tencentcloud-sdk-nodejs when COS_ROLE_ARN is unset', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: process.cwd(), env: { PATH: process.env.PATH ?? '' } },
    );
    expect(JSON.parse(stdout)).toEqual({ before: false, after: true, assumeRole: 'function' });
  });
});
