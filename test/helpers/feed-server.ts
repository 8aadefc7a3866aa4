/**
 * A feed server on 127.0.0.1 that misbehaves on demand: serves a body (with ETag and
 * Last-Modified validators), an error status, a redirect, a body cut mid-way, a body that stalls
 * half-way, or nothing at all; it records every request. Plain http,
 * or https with a self-signed certificate made by openssl (trusted through undici's global
 * dispatcher, which Node's fetch uses).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './feed-fixtures';

export type Behaviour =
  | { kind: 'serve'; body: Buffer; etag?: string; lastModified?: string }
  | { kind: 'status'; status: number }
  | { kind: 'redirect'; location: string }
  /** Announces the whole length, sends half, then drops the connection. */
  | { kind: 'cut'; body: Buffer }
  /** Sends half and then nothing, connection kept open. */
  | { kind: 'stall'; body: Buffer }
  /** Accepts the request and never answers. */
  | { kind: 'hang' };

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The status answered; undefined when the server never answered (hang). */
  status?: number;
}

export interface FeedServer {
  /** Base URL, no trailing slash. */
  url: string;
  /** The feed's URL. */
  feedUrl: string;
  /** What the server does from now on (tests switch it between requests). */
  behaviour: Behaviour;
  requests: number;
  /** Every request, in order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Answers as `behaviour` says; returns the status sent. */
function answer(behaviour: Exclude<Behaviour, { kind: 'hang' }>, req: IncomingMessage, res: ServerResponse): number {
  switch (behaviour.kind) {
    case 'serve': {
      if (behaviour.etag && req.headers['if-none-match'] === behaviour.etag) {
        res.writeHead(304).end();
        return 304;
      }
      const validators = { ...(behaviour.etag ? { etag: behaviour.etag } : {}), ...(behaviour.lastModified ? { 'last-modified': behaviour.lastModified } : {}) };
      res.writeHead(200, { 'content-length': behaviour.body.length, ...validators });
      res.end(behaviour.body);
      return 200;
    }
    case 'status':
      res.writeHead(behaviour.status).end('nope');
      return behaviour.status;
    case 'redirect':
      res.writeHead(302, { location: behaviour.location }).end();
      return 302;
    case 'cut':
      res.writeHead(200, { 'content-length': behaviour.body.length });
      res.write(behaviour.body.subarray(0, behaviour.body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 50));
      return 200;
    case 'stall':
      res.writeHead(200, { 'content-length': behaviour.body.length });
      res.write(behaviour.body.subarray(0, behaviour.body.length >> 1));
      return 200;
  }
}

let certificate: { key: Buffer; cert: Buffer } | undefined;

/** A self-signed certificate for 127.0.0.1, trusted by this process's fetch from now on. */
async function trustedCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  if (certificate) return certificate;
  const dir = tempDir('pg-cert-');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
      '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    certificate = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { Agent, setGlobalDispatcher } = await import('undici');
  setGlobalDispatcher(new Agent({ connect: { ca: certificate.cert } }));
  return certificate;
}

/** The feed is served at `options.path` (default /provenance.feed); any other path is a 404. */
export async function startFeedServer(behaviour: Behaviour, options: { https?: boolean; path?: string } = {}): Promise<FeedServer> {
  const path = options.path ?? '/provenance.feed';
  const state: FeedServer = { url: '', feedUrl: '', behaviour, requests: 0, seen: [], close: async () => {} };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const seen: SeenRequest = { path: req.url ?? '', headers: req.headers };
    state.seen.push(seen);
    if (state.behaviour.kind === 'hang') return;
    if (req.url !== path) {
      res.writeHead(404).end();
      seen.status = 404;
      return;
    }
    seen.status = answer(state.behaviour, req, res);
  };
  const server: Server = options.https ? createHttpsServer(await trustedCertificate(), handler) : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `${options.https ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.feedUrl = `${state.url}${path}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/**
 * A static file server for `#range` feed sources, answering as CDNs do: 206 with Content-Range
 * for `bytes=a-b`, ETag, If-Range, If-None-Match (304); switchable to ignore ranges, redirect,
 * or rewrite the bytes of a range (a lying cache in the middle).
 */
export interface RangeServer {
  url: string;
  body: Buffer;
  etag: string;
  ranges: boolean;
  /** Answers every request with a redirect to this URL. */
  redirect?: string;
  /** Bytes served for a range instead of the file's (a server or cache in the middle lying). */
  rewrite?: (start: number, data: Buffer) => Buffer;
  requests: number;
  bytesSent: number;
  close(): Promise<void>;
}

export async function startRangeServer(body: Buffer, etag: string): Promise<RangeServer> {
  const state = { body, etag, ranges: true, requests: 0, bytesSent: 0 } as RangeServer;
  const server: Server = createHttpServer((req, res) => {
    state.requests++;
    const send = (status: number, data: Buffer, headers: Record<string, string> = {}) => {
      state.bytesSent += data.length;
      res.writeHead(status, { etag: state.etag, 'content-length': String(data.length), ...headers });
      res.end(data);
    };
    if (state.redirect) return send(302, Buffer.alloc(0), { location: state.redirect });
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (req.headers['if-none-match'] === state.etag) return send(304, Buffer.alloc(0));
    const ifRange = req.headers['if-range'];
    if (!state.ranges || !range || (ifRange !== undefined && ifRange !== state.etag)) return send(200, state.body);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), state.body.length - 1);
    const data = state.body.subarray(start, end + 1);
    return send(206, state.rewrite ? state.rewrite(start, data) : data, { 'content-range': `bytes ${start}-${end}/${state.body.length}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}
