import { request as httpRequest } from 'node:http';

/** One Server-Sent Events message as a client received it. */
export interface Received<T> {
  at: number;
  data: T;
}

/**
 * A client of a Server-Sent Events route: every `data:` message, parsed, with when it arrived. `ended` settles
 * when the server ends the stream (or `close()` does); `status` is the answer's.
 */
export class EventStream<T = Record<string, unknown>> {
  readonly messages: Received<T>[] = [];
  status?: number;
  readonly ended: Promise<void>;
  private close_?: () => void;

  constructor(url: string, token: string) {
    this.ended = new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
        this.status = res.statusCode;
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const data = buffer.slice(0, end).split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
            buffer = buffer.slice(end + 2);
            if (data) this.messages.push({ at: Date.now(), data: JSON.parse(data) as T });
          }
        });
        res.on('end', resolve);
        res.on('close', resolve);
      });
      req.on('error', reject);
      req.end();
      this.close_ = () => req.destroy();
    });
  }

  get last(): T | undefined {
    return this.messages.at(-1)?.data;
  }

  close(): void {
    this.close_?.();
  }
}
