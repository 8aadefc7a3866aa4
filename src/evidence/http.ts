/**
 * HTTP for the evidence sources: per-request timeout, retries with exponential backoff on
 * 429 (honouring Retry-After), 5xx, timeouts and connection errors, and JSON that is
 * checked before anyone looks at it.
 */
import promiseRetry from 'promise-retry';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff delay in ms (times a random 1–2 for jitter); doubles on each retry. */
  minDelay: number;
  /** Upper bound for a backoff delay and for the Retry-After honoured. */
  maxDelay: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, minDelay: 500, maxDelay: 30_000 };

export interface RequestOptions {
  timeout: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Told of every failed attempt, retried or not (the circuit breaker counts them). */
  onAttemptError?: (error: unknown) => void;
}

/** A response status that is neither success nor 404. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status} from ${url}`);
    this.name = 'HttpStatusError';
  }
}

/** A body that is not the JSON (or JSON shape) the source promises. */
export class MalformedResponseError extends Error {
  constructor(readonly url: string, detail: string) {
    super(`malformed response from ${url}: ${detail}`);
    this.name = 'MalformedResponseError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(readonly url: string, timeout: number) {
    super(`no response from ${url} within ${timeout} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Parses a Retry-After header (delta-seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A source that was given up on: its queued and in-flight lookups end with this. */
export class SourceDownError extends Error {
  constructor(readonly source: string) {
    super(`${source} is down for the rest of this run`);
    this.name = 'SourceDownError';
  }
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? undefined : errorCode(cause);
}

const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

/** A host name that does not resolve: retrying within a run does not make it resolve. */
export function isDnsFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && DNS_FAILURES.has(code);
}

/** The host an error names (DNS and connection errors carry it, often on their `cause`). */
function errorHost(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { hostname, address, port, cause } = error as { hostname?: unknown; address?: unknown; port?: unknown; cause?: unknown };
  if (typeof hostname === 'string') return hostname;
  if (typeof address === 'string') return typeof port === 'number' ? `${address}:${port}` : address;
  return cause === undefined ? undefined : errorHost(cause);
}

/** Whether a failed attempt is worth another try. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SourceDownError || isDnsFailure(error)) return false;
  if (error instanceof HttpStatusError) return error.status === 429 || error.status >= 500;
  if (error instanceof RequestTimeoutError) return true;
  if (error instanceof MalformedResponseError) return false;
  // minipass-fetch (pacote) reports timeouts as FetchError type request-timeout / body-timeout.
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'request-timeout' || type === 'body-timeout') return true;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') return status === 429 || status >= 500;
  const code = errorCode(error);
  if (code && /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|UND_ERR_|ERR_SOCKET)/.test(code)) return true;
  if (error instanceof TypeError && /fetch failed/.test(error.message)) return true;
  return false;
}

function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof HttpStatusError) return error.retryAfterMs;
  // npm-registry-fetch errors carry the response headers, as `raw()` ({name: [values]}) or a Headers.
  const headers = (error as { headers?: unknown } | null)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') return parseRetryAfter((getter as (name: string) => string | null).call(headers, 'retry-after'));
  const raw = (headers as Record<string, unknown>)['retry-after'];
  return parseRetryAfter(Array.isArray(raw) ? String(raw[0]) : typeof raw === 'string' ? raw : undefined);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The wait before retry `n` (1-based) beyond promise-retry's own backoff (at least
 * minDelay * 2^(n-1)): what a Retry-After asks for past that, both capped at maxDelay.
 */
function retryAfterExtra(error: unknown, n: number, policy: RetryPolicy): number {
  const asked = retryAfterOf(error);
  if (asked === undefined) return 0;
  const backoff = Math.min(policy.minDelay * 2 ** (n - 1), policy.maxDelay);
  return Math.max(0, Math.min(asked, policy.maxDelay) - backoff);
}

/** `promise`, or the signal's reason as soon as it aborts (promise-retry's backoff timers cannot be cancelled). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the retries are spent (promise-retry:
 * exponential backoff from minDelay with jitter, Retry-After honoured). An abort ends it at once,
 * waits included, and no attempt starts after it.
 */
export function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, signal?: AbortSignal, onAttemptError?: (error: unknown) => void): Promise<T> {
  const options = { retries: policy.retries, factor: 2, minTimeout: Math.min(policy.minDelay, policy.maxDelay), maxTimeout: policy.maxDelay, randomize: true, unref: true };
  const retrying = promiseRetry<T>(async (retry, n) => {
    if (signal?.aborted) throw signal.reason;
    try {
      return await attempt();
    } catch (error) {
      if (!signal?.aborted) onAttemptError?.(error);
      if (n > policy.retries || !isRetryable(error) || signal?.aborted) throw error;
      await sleep(retryAfterExtra(error, n, policy), signal);
      return retry(error);
    }
  }, options);
  return untilAborted(retrying, signal);
}

async function fetchOnce(url: string, options: RequestOptions): Promise<Response | undefined> {
  const timeout = AbortSignal.timeout(options.timeout);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'user-agent': 'provenance-guard', ...options.headers }, signal, redirect: 'follow' });
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted) throw new RequestTimeoutError(url, options.timeout);
    throw error;
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpStatusError(response.status, url, parseRetryAfter(response.headers.get('retry-after')));
  }
  return response;
}

async function readBody(response: Response, url: string, options: RequestOptions): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    // The body stalled past the timeout (the signal covers the body too).
    throw new RequestTimeoutError(url, options.timeout);
  }
}

/** GET a text body; `undefined` on 404/410. */
export function getText(url: string, options: RequestOptions): Promise<string | undefined> {
  return withRetry(
    async () => {
      const response = await fetchOnce(url, options);
      return response === undefined ? undefined : readBody(response, url, options);
    },
    options.retry,
    options.signal,
    options.onAttemptError,
  );
}

/** GET a JSON body; `undefined` on 404/410; MalformedResponseError when it is not JSON. */
export async function getJson(url: string, options: RequestOptions): Promise<unknown> {
  const text = await getText(url, { ...options, headers: { accept: 'application/json', ...options.headers } });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedResponseError(url, 'not JSON');
  }
}

/** Type guards for untrusted JSON. */
export { isObject as isRecord } from '../json';

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A short description of a failure for a warning line, naming the cause (`ENOTFOUND host`). */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  if (!code || message.includes(code)) return message;
  const host = errorHost(error);
  return `${message} (${code}${host ? ` ${host}` : ''})`;
}
