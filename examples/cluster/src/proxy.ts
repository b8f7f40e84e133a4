/**
 * A tiny round-robin TCP proxy (`node:net`), standing in for any non-sticky load balancer: each
 * new TCP connection — so each WebSocket, HTTP upgrade included — goes to the next backend in
 * turn. A backend that refuses the connection is skipped, so clients of a dead process land on
 * the living ones when they reconnect. Nothing about a client is remembered (no stickiness).
 *
 * Run alone: `tsx src/proxy.ts 8080 127.0.0.1:3001 127.0.0.1:3002 127.0.0.1:3003`.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';

export interface Backend {
  host: string;
  port: number;
}

export interface RoundRobinProxy {
  /** The port the proxy listens on. */
  port: number;
  /** How many connections went to each backend (`host:port`), for tests and logs. */
  readonly counts: ReadonlyMap<string, number>;
  /** Stops listening and destroys every proxied connection. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  backends: readonly Backend[];
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

const label = (b: Backend): string => `${b.host}:${b.port}`;

export async function startRoundRobinProxy(options: ProxyOptions): Promise<RoundRobinProxy> {
  const { backends } = options;
  if (backends.length === 0) throw new Error('startRoundRobinProxy: no backends');
  let next = 0;
  const counts = new Map<string, number>();
  const open = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    open.add(s);
    s.on('close', () => open.delete(s));
  };

  /** Connects to the next backend that accepts, trying each at most once. */
  const connectUpstream = (client: net.Socket, attempt: number): void => {
    if (attempt >= backends.length || client.destroyed) {
      client.destroy();
      return;
    }
    const backend = backends[next % backends.length]!;
    next++;
    const upstream = net.connect(backend.port, backend.host);
    track(upstream);
    const onFail = (): void => {
      upstream.destroy();
      connectUpstream(client, attempt + 1);
    };
    upstream.once('error', onFail);
    upstream.once('connect', () => {
      upstream.off('error', onFail);
      counts.set(label(backend), (counts.get(label(backend)) ?? 0) + 1);
      // Either side ending or failing ends both: a killed backend looks like a dropped link.
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.on('error', () => client.destroy());
    connectUpstream(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// CLI: tsx src/proxy.ts <port> <host:port>...
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [port, ...targets] = process.argv.slice(2);
  const backends = targets.map((t) => {
    const [host, p] = t.split(':');
    return { host: host ?? '127.0.0.1', port: Number(p) };
  });
  const proxy = await startRoundRobinProxy({ port: Number(port ?? 8080), backends });
  console.log(`round-robin proxy on 127.0.0.1:${proxy.port} -> ${targets.join(', ')}`);
}
