import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { freePort } from '../support/free-port.ts';

/** How the provider's key set endpoint answers: its keys, or one of the ways a fetch fails. */
export type KeySetAnswer = 'keys' | 'not-json' | 'not-a-key-set' | 'status-500' | 'no-answer';

/**
 * A stand-in for the shared identity provider: a real HTTP server on loopback serving a JWKS of keys made
 * with jose, and signing tokens with them (RS256 and ES256), as the provider would for this or any other
 * application. It can be stopped and started again on the same port.
 */
export class IdentityProvider {
  answer: KeySetAnswer = 'keys';
  fetches = 0;
  private server?: Server;

  readonly port: number;
  private readonly keys: { kid: string; alg: 'RS256' | 'ES256'; privateKey: CryptoKey; jwk: Record<string, unknown> }[];

  private constructor(port: number, keys: { kid: string; alg: 'RS256' | 'ES256'; privateKey: CryptoKey; jwk: Record<string, unknown> }[]) {
    this.port = port;
    this.keys = keys;
  }

  static async create(): Promise<IdentityProvider> {
    const keys = await Promise.all((['RS256', 'ES256'] as const).map(async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const kid = `${alg.toLowerCase()}-1`;
      return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    }));
    return new IdentityProvider(await freePort(), keys);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.fetches++;
      if (this.answer === 'no-answer') return;
      if (this.answer === 'status-500') return void res.writeHead(500).end('down');
      res.writeHead(200, { 'content-type': 'application/json' });
      if (this.answer === 'not-json') return void res.end('{"keys": [');
      res.end(JSON.stringify(this.answer === 'not-a-key-set' ? { keys: 'rotating' } : { keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** A token as the provider signs them; `kid` may name a key it does not have. */
  sign(claims: JWTPayload, options: { alg?: 'RS256' | 'ES256'; kid?: string; ttl?: string } = {}): Promise<string> {
    const key = this.keys.find((k) => k.alg === (options.alg ?? 'RS256'))!;
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid }).setExpirationTime(options.ttl ?? '10m').sign(key.privateKey);
  }
}
