// An HTTP front for the moto emulator that counts Secrets Manager calls by
// action and answers chosen calls with the exact error AWS sends (moto does
// not enforce IAM and never throttles). Bodies follow the AWS JSON 1.1
// protocol: status, `x-amzn-ErrorType` header and `{"__type", "message"}`.

import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface AwsErrorReply {
  status: number;
  type: string;
  message: string;
  /** extra response headers, e.g. the Retry-After a 429 may carry */
  headers?: Record<string, string>;
}

interface Rule {
  action: string;
  secretId: string;
  reply: AwsErrorReply;
}

export interface AwsErrorProxy {
  url: string;
  /** calls seen per action (GetSecretValue, DescribeSecret, ...) including injected failures */
  calls: Map<string, number>;
  count(action: string): number;
  /** calls of `action` naming this SecretId (injected failures included) */
  countFor(action: string, secretId: string): number;
  resetCounts(): void;
  /** answer every `action` call for `secretId` with this error until cleared */
  fail(action: string, secretId: string, reply: AwsErrorReply): void;
  clearFailures(): void;
  /** GetSecretValue of `secretId` answers with this CreatedDate (moto stamps its own clock, which cannot be set back) */
  setCreatedDate(secretId: string, at: Date): void;
  close(): Promise<void>;
}

export const ACCESS_DENIED = (action: string, secretId: string): AwsErrorReply => ({
  status: 400,
  type: 'AccessDeniedException',
  message: `User: arn:aws:sts::123456789012:assumed-role/erlmcp-agent/botocore-session is not authorized to perform: secretsmanager:${action} on resource: ${secretId} because no identity-based policy allows the secretsmanager:${action} action`,
});
export const THROTTLED: AwsErrorReply = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
/** a 429 as a front door (API Gateway, a VPC endpoint proxy) answers, with the wait it asks for */
export const TOO_MANY_REQUESTS = (retryAfter: string): AwsErrorReply => ({ status: 429, type: 'TooManyRequestsException', message: 'Too Many Requests', headers: { 'retry-after': retryAfter } });
/** a throttle with AWS's own hint in milliseconds (x-amz-retry-after), and optionally a Retry-After beside it */
export const THROTTLED_WITH_HINT = (amzRetryAfterMs: string, retryAfter?: string): AwsErrorReply => ({
  status: 400,
  type: 'ThrottlingException',
  message: 'Rate exceeded',
  headers: { 'x-amz-retry-after': amzRetryAfterMs, ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) },
});
export const INTERNAL_ERROR: AwsErrorReply = { status: 500, type: 'InternalServiceError', message: 'An error occurred (InternalServiceError) when calling the operation.' };

export async function startAwsErrorProxy(upstream: string): Promise<AwsErrorProxy> {
  const calls = new Map<string, number>();
  const bySecret = new Map<string, number>();
  let rules: Rule[] = [];
  const createdDates = new Map<string, Date>();
  const target = new URL(upstream);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      calls.set(action, (calls.get(action) ?? 0) + 1);
      let secretId = '';
      try {
        secretId = String((JSON.parse(body.toString()) as { SecretId?: unknown }).SecretId ?? '');
      } catch {
        // not JSON: forward as is
      }
      const key = `${action} ${secretId}`;
      bySecret.set(key, (bySecret.get(key) ?? 0) + 1);
      const rule = rules.find((r) => r.action === action && r.secretId === secretId);
      if (rule) {
        const payload = JSON.stringify({ __type: rule.reply.type, message: rule.reply.message });
        res.writeHead(rule.reply.status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': `${rule.reply.type}:http://internal.amazon.com/coral/com.amazonaws.secretsmanager/`,
          'x-amzn-requestid': '7a62c49f-347e-4fc4-9331-6e8eEXAMPLE',
          ...rule.reply.headers,
          'content-length': Buffer.byteLength(payload),
        });
        res.end(payload);
        return;
      }
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (upRes) => {
          const created = action === 'GetSecretValue' && upRes.statusCode === 200 ? createdDates.get(secretId) : undefined;
          if (!created) {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
            return;
          }
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            const answer = JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown>;
            // the AWS JSON protocol sends a timestamp as epoch seconds
            const text = JSON.stringify({ ...answer, CreatedDate: created.getTime() / 1000 });
            res.writeHead(200, { ...upRes.headers, 'content-length': Buffer.byteLength(text) });
            res.end(text);
          });
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    count: (action) => calls.get(action) ?? 0,
    countFor: (action, secretId) => bySecret.get(`${action} ${secretId}`) ?? 0,
    resetCounts: () => {
      calls.clear();
      bySecret.clear();
    },
    fail: (action, secretId, reply) => void rules.push({ action, secretId, reply }),
    clearFailures: () => void (rules = []),
    setCreatedDate: (secretId, at) => void createdDates.set(secretId, at),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
