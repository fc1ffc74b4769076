import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandExists, runOrThrow } from '../../src/stack/process-control.ts';
import { skip } from './spec.ts';

/** Debian's chromium, installed with apt when missing (as the stack installs its servers); skipped where that cannot be. */
export function ensureChromium(): void {
  if (commandExists('chromium')) return;
  if (process.getuid?.() !== 0 || !commandExists('apt-get')) skip('chromium', 'chromium is not installed and this user cannot apt-get it');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  runOrThrow('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/**
 * A headless chromium driven over the Chrome DevTools Protocol with Node's own WebSocket: navigate, evaluate
 * in the page, take screenshots. No browser-automation package needed.
 */
export class HeadlessPage {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private readonly browser: ChildProcess;
  private readonly socket: WebSocket;
  private readonly profile: string;

  private constructor(browser: ChildProcess, socket: WebSocket, profile: string) {
    this.browser = browser;
    this.socket = socket;
    this.profile = profile;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id!);
      if (message.error) waiting.reject(new Error(message.error.message));
      else waiting.resolve(message.result);
    });
  }

  static async open(): Promise<HeadlessPage> {
    ensureChromium();
    const profile = mkdtempSync(join(tmpdir(), 'coupon-chromium-'));
    const browser = spawn('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--remote-debugging-port=0',
      `--user-data-dir=${profile}`, '--window-size=1280,1000', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 30_000);
      browser.stderr!.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const match = /DevTools listening on ws:\/\/([^/]+)\//.exec(err);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const targets = (await (await fetch(`http://${endpoint}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets.find((t) => t.type === 'page')!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    const page = new HeadlessPage(browser, socket, profile);
    await page.send('Page.enable');
    return page;
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async goto(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
    const deadline = Date.now() + 15_000;
    while ((await this.evaluate<string>('document.readyState')) !== 'complete') {
      if (Date.now() > deadline) throw new Error(`${url} did not finish loading`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs an expression in the page and returns its value (awaited if it is a promise). */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate',
      { expression, returnByValue: true, awaitPromise: true });
    if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.text} (${expression})`);
    return result.value;
  }

  async screenshot(): Promise<Buffer> {
    const { data } = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(data, 'base64');
  }

  async close(): Promise<void> {
    this.socket.close();
    this.browser.kill('SIGKILL');
    await new Promise((r) => this.browser.once('exit', r));
    rmSync(this.profile, { recursive: true, force: true });
  }
}
