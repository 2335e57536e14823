// The App Service flavour of the Azure managed identity endpoint (api-version
// 2019-08-01): what ManagedIdentityCredential calls when IDENTITY_ENDPOINT and
// IDENTITY_HEADER are set. Plain HTTP on 127.0.0.1, as on App Service, so a
// test can run the real credential end to end without Entra ID or IMDS.

import { createServer, type Server } from 'node:http';

export interface TokenRequest {
  resource: string | null;
  clientId: string | null;
  apiVersion: string | null;
  identityHeader: string | undefined;
}

export interface ManagedIdentityFake {
  /** the IDENTITY_ENDPOINT value */
  endpoint: string;
  /** the IDENTITY_HEADER value the endpoint insists on */
  identityHeader: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

export async function startManagedIdentityFake(token: string, identityHeader = 'erlmcp-identity-header'): Promise<ManagedIdentityFake> {
  const requests: TokenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = req.headers['x-identity-header'];
    const r: TokenRequest = { resource: url.searchParams.get('resource'), clientId: url.searchParams.get('client_id'), apiVersion: url.searchParams.get('api-version'), identityHeader: Array.isArray(header) ? header[0] : header };
    requests.push(r);
    res.setHeader('content-type', 'application/json');
    if (r.identityHeader !== identityHeader) {
      res.writeHead(401).end(JSON.stringify({ statusCode: 401, message: 'Unauthorized. Missing or invalid X-IDENTITY-HEADER.' }));
      return;
    }
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    res.writeHead(200).end(JSON.stringify({ access_token: token, expires_on: String(expiresOn), resource: r.resource, token_type: 'Bearer', client_id: r.clientId ?? '00000000-0000-0000-0000-000000000000' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/msi/token`,
    identityHeader,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
