/**
 * The shared transport's limits: an answer is read up to MAX_RESPONSE_BYTES and no further (the
 * socket is dropped, the error is retryable), and the deadline and the caller's abort each end a
 * call with their own code.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from './errors';
import { closeIdleConnections, MAX_RESPONSE_BYTES, send } from './http';

const TOTAL = 5 * 1024 * 1024;
const CHUNK = 64 * 1024;

let server: http.Server;
let base: string;
/** What the streaming handler managed to write before the client went away, per request. */
const streamed: Array<Promise<{ written: number; finished: boolean }>> = [];
let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  closeIdleConnections();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Streams TOTAL bytes in CHUNKs, a timer tick apart, stopping when the connection closes. */
function streamHuge(res: http.ServerResponse, declareLength: boolean) {
  streamed.push(
    new Promise((done) => {
      res.writeHead(200, declareLength ? { 'content-length': String(TOTAL) } : {});
      let written = 0;
      let closed = false;
      res.on('close', () => {
        closed = true;
        done({ written, finished: res.writableFinished });
      });
      const next = () => {
        if (closed) return;
        if (written >= TOTAL) return void res.end();
        written += CHUNK;
        res.write(Buffer.alloc(CHUNK, 0x61));
        setTimeout(next, 1);
      };
      next();
    }),
  );
}

describe('the response cap', () => {
  it.each([
    ['streamed without a length', false],
    ['with a declared Content-Length', true],
  ])(
    'a 5 MiB answer %s is refused as ResponseTooLarge (retryable) and the socket dropped',
    async (_n, declare) => {
      handler = (_req, res) => streamHuge(res, declare);
      const e = await send({ method: 'GET', url: `${base}/huge`, headers: {} }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ProviderError);
      expect(e).toMatchObject({ code: 'ResponseTooLarge', kind: 'server', retryable: true, httpStatus: 200 });
      const { written, finished } = await streamed.at(-1)!;
      // The client hung up mid-answer: the server never got to finish, nor to write it all.
      expect(finished).toBe(false);
      expect(written).toBeLessThan(TOTAL);
    },
  );

  it('an answer of exactly the cap is read whole', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(MAX_RESPONSE_BYTES, 0x62));
    };
    const r = await send({ method: 'GET', url: `${base}/cap`, headers: {} });
    expect(r.body.length).toBe(MAX_RESPONSE_BYTES);
  });
});

describe('deadlines', () => {
  it('no answer within the deadline is a Timeout', async () => {
    handler = () => {}; // never answers; afterAll closes the connection
    await expect(
      send({ method: 'GET', url: `${base}/slow`, headers: {} }, { timeoutMs: 100 }),
    ).rejects.toMatchObject({
      code: 'Timeout',
      kind: 'timeout',
    });
  });

  it("the caller's abort is Aborted, also when it came before the call", async () => {
    handler = () => {};
    const ac = new AbortController();
    const p = send(
      { method: 'GET', url: `${base}/held`, headers: {} },
      { signal: ac.signal, timeoutMs: 60_000 },
    );
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'Aborted' });
    await expect(
      send({ method: 'GET', url: `${base}/held`, headers: {} }, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'Aborted' });
  });
});
