/**
 * The HTTP client of a `#range` feed source: node:http(s) with keep-alive and only the headers a
 * range request needs (a page of ~600 bytes is worth a lean request: fetch() adds ~170 bytes of
 * headers to each). Redirects are followed by hand and never from https (or loopback http) to
 * plain http; a body larger than the range asked for is cut off, not buffered.
 */
import type http from 'node:http';
import { FeedError } from '../errors';

const MAX_REDIRECTS = 5;
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

interface Transport {
  module: Pick<typeof http, 'request'>;
  agent: http.Agent;
}

// Loaded on first use: every `check` imports this module, few read a `#range` feed, and
// node:http(s) cost a noticeable part of a repeat check's start.
let transports: { 'http:': Transport; 'https:': Transport } | undefined;
function transportFor(url: URL): Transport {
  if (!transports) {
    const plain = require('node:http') as typeof http;
    const secured = require('node:https') as typeof import('node:https');
    transports = {
      'http:': { module: plain, agent: new plain.Agent({ keepAlive: true, maxSockets: 8 }) },
      'https:': { module: secured, agent: new secured.Agent({ keepAlive: true, maxSockets: 8 }) },
    };
  }
  return transports[url.protocol === 'https:' ? 'https:' : 'http:'];
}

export interface RangeAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function secure(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.includes(url.hostname));
}

function once(url: URL, headers: Record<string, string>, timeoutMs: number, maxBody: number): Promise<RangeAnswer> {
  const transport = transportFor(url);
  return new Promise((resolve, reject) => {
    const request = transport.module.request(url, { headers, agent: transport.agent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) {
          response.destroy();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    // The socket timeout is an idle timeout: a server sending a byte now and then would hold the
    // install forever. The whole answer must arrive within the same time.
    const deadline = setTimeout(() => request.destroy(new Error(`no complete answer within ${timeoutMs / 1000} s`)), timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('error', reject);
    request.end();
  });
}

/** GET with the given headers; at most maxBody bytes of body are kept. */
export async function rangeGet(url: URL, headers: Record<string, string>, timeoutMs: number, maxBody: number): Promise<RangeAnswer> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let answer: RangeAnswer;
    try {
      answer = await once(current, headers, timeoutMs, maxBody);
    } catch (error) {
      throw new FeedError(`cannot read the feed from ${current.href}: ${(error as Error).message}`, { cause: error, code: 'ERR_PG_FEED_DOWNLOAD' });
    }
    if (![301, 302, 303, 307, 308].includes(answer.status)) return answer;
    const location = answer.headers.location;
    if (!location) throw new FeedError(`GET ${current.href} answered ${answer.status} without a Location`, { code: 'ERR_PG_FEED_DOWNLOAD' });
    const next = new URL(location, current);
    if ((current.protocol === 'https:' && next.protocol !== 'https:') || !secure(next)) {
      throw new FeedError(`GET ${current.href} redirected to ${next.href}: refused, a feed is only fetched over https`, { code: 'ERR_PG_FEED_INSECURE' });
    }
    current = next;
  }
  throw new FeedError(`GET ${url.href}: more than ${MAX_REDIRECTS} redirects`, { code: 'ERR_PG_FEED_DOWNLOAD' });
}
