/**
 * Fault injection: seeded, so a run repeats request for request; each kind of fault as a client
 * meets it (503 SlowDown, 500, 429, a reset connection, an answer slower than the client waits).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE, errorOf, ossCall, rawRequest } from '../../../test/support/sandbox';
import { FaultInjector, type FaultOptions, mulberry32 } from './faults';
import { type Sandbox, startSandbox } from './server';

describe('mulberry32', () => {
  it('repeats for a seed and differs between seeds', () => {
    const take = (seed: number) => {
      const r = mulberry32(seed);
      return Array.from({ length: 5 }, r);
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(42).every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('FaultInjector', () => {
  const draw = (opts: FaultOptions, n: number) => {
    const f = new FaultInjector(opts);
    return Array.from({ length: n }, () => f.decide().fault);
  };

  it('gives the same sequence of faults for the same seed and rates', () => {
    const opts = { seed: 7, slowDownRate: 0.1, serverErrorRate: 0.1, throttleRate: 0.1, resetRate: 0.05 };
    expect(draw(opts, 200)).toEqual(draw(opts, 200));
    expect(draw(opts, 200)).not.toEqual(draw({ ...opts, seed: 8 }, 200));
  });

  it('injects each kind at about its rate', () => {
    const f = new FaultInjector({
      seed: 1,
      slowDownRate: 0.2,
      serverErrorRate: 0.1,
      throttleRate: 0.05,
      hangRate: 0.05,
    });
    for (let i = 0; i < 10_000; i++) f.decide();
    const n = f.injected();
    // Deterministic for seed 1; the bounds only say the rates are honoured, not the exact draw.
    expect(n.slowDown).toBeGreaterThan(1800);
    expect(n.slowDown).toBeLessThan(2200);
    expect(n.serverError).toBeGreaterThan(850);
    expect(n.serverError).toBeLessThan(1150);
    expect(n.throttle).toBeGreaterThan(400);
    expect(n.throttle).toBeLessThan(600);
    expect(n.hang).toBeGreaterThan(400);
    expect(n.hang).toBeLessThan(600);
    expect(n.reset).toBe(0);
    expect(f.total()).toBe(n.slowDown + n.serverError + n.throttle + n.hang);
  });

  it('injects nothing without rates, whatever the latency', () => {
    expect(draw({ seed: 3, latencyMs: 5 }, 100).every((k) => k === null)).toBe(true);
  });

  it.each([
    [{ slowDownRate: 1.5 }, /slowDownRate must be 0–1/],
    [{ resetRate: -0.1 }, /resetRate must be 0–1/],
    [{ slowDownRate: 0.6, serverErrorRate: 0.6 }, /add up to more than 1/],
  ] as [FaultOptions, RegExp][])('refuses %j', (opts, message) => {
    expect(() => new FaultInjector(opts)).toThrow(message);
  });
});

describe('faults over HTTP', () => {
  let sandboxes: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(sandboxes.map((s) => s.close()));
    sandboxes = [];
  });
  const start = async (faults: FaultOptions) => {
    const sb = await startSandbox({ faults, pace: false });
    sandboxes.push(sb);
    return sb;
  };
  const list = (sb: Sandbox) => ossCall(sb, { method: 'GET', query: { batchJob: null } });

  it('repeats the same answers for the same seed, and counts what it injected', async () => {
    const faults = { seed: 99, slowDownRate: 0.15, serverErrorRate: 0.15, throttleRate: 0.15 };
    const run = async () => {
      const sb = await start(faults);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await list(sb)).status);
      return { statuses, stats: sb.stats() };
    };
    const a = await run();
    const b = await run();
    expect(a.statuses).toEqual(b.statuses);
    expect(new Set(a.statuses)).toEqual(new Set([200, 503, 500, 429]));
    expect(a.stats.faults).toBe(a.statuses.filter((s) => s !== 200).length);
    expect(a.stats).toMatchObject({ requests: 40, byProvider: { oss: 40, cos: 0, s3: 0 } });
    expect(a.stats.byOperation).toEqual({ 'oss:ListJobs': 40 });
  });

  it.each([
    ['slowDownRate', 503, 'SlowDown'],
    ['serverErrorRate', 500, 'InternalError'],
    ['throttleRate', 429, 'TooManyRequests'],
  ] as [keyof FaultOptions, number, string][])(
    '%s answers %i %s in the provider’s error shape',
    async (rate, status, code) => {
      const sb = await start({ [rate]: 1 });
      const r = await list(sb);
      expect({ status: r.status, code: errorOf(r).Code }).toEqual({ status, code });
      expect(r.headers['x-oss-request-id']).toBeTruthy();
    },
  );

  it('speaks S3’s codes to S3 requests', async () => {
    const sb = await start({ throttleRate: 1 });
    const r = await rawRequest(`${sb.url}/v20180820/jobs`, {
      method: 'GET',
      headers: { 'x-amz-account-id': EXAMPLE.s3.account },
    });
    expect(r.status).toBe(429);
    expect(errorOf(r).Code).toBe('TooManyRequestsException');
  });

  it('resets the connection without an answer', async () => {
    const sb = await start({ resetRate: 1 });
    await expect(list(sb)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sb.stats().faults).toBe(1);
  });

  it('holds an answer longer than the client waits; close() ends the hang', async () => {
    const sb = await start({ hangRate: 1, hangMs: 60_000 });
    await expect(rawRequest(`${sb.url}/?batchJob`, { method: 'GET', timeoutMs: 200 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const pending = rawRequest(`${sb.url}/?batchJob`, { method: 'GET' }).catch(
      (e: { code?: string }) => e.code,
    );
    // Close only once the server holds the request, so the client sees its connection cut.
    while (sb.stats().requests < 2) await new Promise((r) => setTimeout(r, 5));
    await sb.close();
    expect(await pending).toBe('ECONNRESET');
  });

  it('applies new settings from setFaults, counting on from before', async () => {
    const sb = await start({ slowDownRate: 1 });
    expect((await list(sb)).status).toBe(503);
    sb.setFaults({ latencyMs: 20 });
    expect((await list(sb)).status).toBe(200);
    expect(sb.stats()).toMatchObject({ requests: 2, faults: 1 });
  });
});
